"""The in-memory directory holds, applies and dry-runs as ``schoolsync.engine.run.sync`` does."""

from __future__ import annotations

from pathlib import Path

from tests.builder import school
from tests.plan.harness import PlanDirectory
from tests.plan.test_safety_locks import big_school


def test_a_dry_run_reports_the_changes_and_applies_nothing(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, _ = school()
    result = directory.sync(b.write(tmp_path / "a"), dry_run=True)
    assert result.status == "planned" and result.run_id is None
    assert result.changes["users"]["created"] == 5
    assert directory.export()["users"] == []
    assert directory.sync(b.write(tmp_path / "a")).changes == result.changes


def test_a_held_run_applies_nothing_and_lists_its_locks(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, _, ids = big_school()
    directory.sync(b.write(tmp_path / "a"))
    before = directory.export()
    b.persons = [p for p in b.persons if p["id"] not in ids[:25]]
    folder = b.write(tmp_path / "b")
    dry = directory.sync(folder, dry_run=True)
    held = directory.sync(folder)
    assert dry.status == held.status == "held" and held.changes["users"]["ended"] == 25
    assert "lock-mass-change" in {i.code for i in held.issues}
    assert directory.export() == before
    forced = directory.sync(folder, allow_mass_changes=True)
    lock = next(i for i in forced.issues if i.code == "lock-mass-change")
    assert forced.status == "applied" and "Applied anyway: --allow-mass-changes" in lock.message
    assert sum(u["status"] == "ended" for u in directory.export()["users"]) == 25
