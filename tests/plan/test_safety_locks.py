"""Safety locks (R10) at the plan level: a run that would change too much is held.

``tests/integration/test_safety_locks.py`` keeps a held run's record, approving it, the CLI's
exit codes and the run lock on SQLite and PostgreSQL.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

from schoolsync.domain.settings import Settings
from tests.builder import big_school
from tests.conftest import EXAMPLE_BUNDLE
from tests.plan.harness import PlanDirectory


def codes(result: object) -> set[str]:
    return {i.code for i in result.issues}  # type: ignore[attr-defined]


def test_r10_the_first_sync_into_an_empty_directory_is_never_held(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, _, _ = big_school()
    assert directory.sync(b.write(tmp_path / "a")).status == "applied"


def test_r10_a_change_under_the_limits_is_applied(directory: PlanDirectory, tmp_path: Path) -> None:
    b, _, ids = big_school()
    directory.sync(b.write(tmp_path / "a"))
    b.persons = [p for p in b.persons if p["id"] not in ids[:3]]
    assert directory.sync(b.write(tmp_path / "b")).status == "applied"


def test_r10_per_school_limits_override_the_defaults(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, _, ids = big_school()
    directory.sync(b.write(tmp_path / "a"))
    b.persons = [p for p in b.persons if p["id"] not in ids[:25]]
    settings = Settings.model_validate(
        {"locks": {"schools": {"Storskolan": {"max_ended_users_percent": 80,
                                              "max_ended_memberships_percent": 80}}}}
    )  # fmt: skip
    assert directory.sync(b.write(tmp_path / "b"), settings=settings).status == "applied"


def test_r10_a_missing_persons_file_holds_the_run(directory: PlanDirectory, tmp_path: Path) -> None:
    directory.sync(EXAMPLE_BUNDLE)
    bundle = shutil.copytree(EXAMPLE_BUNDLE, tmp_path / "b")
    shutil.rmtree(bundle / "persons")
    result = directory.sync(bundle)
    assert result.status == "held"
    lock = next(i for i in result.issues if i.code == "lock-missing-data")
    assert "has no persons" in lock.message and "Do not unlock" in lock.message


def test_r10_an_empty_groups_file_holds_the_run(directory: PlanDirectory, tmp_path: Path) -> None:
    directory.sync(EXAMPLE_BUNDLE)
    bundle = shutil.copytree(EXAMPLE_BUNDLE, tmp_path / "b")
    (bundle / "groups.json").write_text('{"data": [], "pageToken": null}', encoding="utf-8")
    result = directory.sync(bundle)
    assert result.status == "held" and "lock-missing-data" in codes(result)


def test_r10_a_bundle_without_calendar_events_holds_when_lessons_came_from_it(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    directory.sync(EXAMPLE_BUNDLE, today=date(2025, 9, 1))
    bundle = shutil.copytree(EXAMPLE_BUNDLE, tmp_path / "b")
    (bundle / "calendarEvents.json").unlink()
    result = directory.sync(bundle, today=date(2025, 9, 1))
    assert result.status == "held"
    assert any(
        "calendarEvents" in i.message for i in result.issues if i.code == "lock-missing-data"
    )
    forced = directory.sync(bundle, today=date(2025, 9, 1), allow_mass_changes=True)
    assert forced.status == "applied" and forced.changes["lessons"]["removed"] == 6
