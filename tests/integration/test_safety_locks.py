"""Safety locks (R10): a run that would change too much is held, then approved on purpose."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest

from schoolsync.domain.settings import Settings
from schoolsync.engine.run import approve
from schoolsync.errors import ConflictError
from schoolsync.store.db import Store
from tests.builder import Bundle
from tests.conftest import EXAMPLE_BUNDLE, TODAY, Directory, run_cli


def big_school(students: int = 40) -> tuple[Bundle, str, list[str]]:
    """One unit, a class with many students (TF numbers: no realistic number is invented)."""
    b = Bundle()
    unit = b.unit("Storskolan", "99990500")
    ids = [b.student("Elev", f"Nummer{n}", f"20120{(n % 9) + 1}01TF{n:02d}", unit)
           for n in range(students)]  # fmt: skip
    b.group("7A", unit, "Klass", ids)
    return b, unit, ids


def codes(result: object) -> set[str]:
    return {i.code for i in result.issues}  # type: ignore[attr-defined]


def test_r10_the_first_sync_into_an_empty_directory_is_never_held(
    directory: Directory, tmp_path: Path
) -> None:
    b, _, _ = big_school()
    assert directory.sync(b.write(tmp_path / "a")).status == "applied"


def test_r10_many_users_ending_holds_the_run_and_applies_nothing(
    directory: Directory, tmp_path: Path
) -> None:
    b, _, ids = big_school()
    directory.sync(b.write(tmp_path / "a"))
    before = (directory.counts(), directory.export())
    b.persons = [p for p in b.persons if p["id"] not in ids[:25]]  # 25 of 40 leave
    result = directory.sync(b.write(tmp_path / "b"))
    assert result.status == "held" and result.run_id is not None
    lock = next(i for i in result.issues if i.code == "lock-mass-change")
    assert "At Storskolan, 25 of its 40 active users would end" in lock.message
    assert "7A (25 of its members)" in lock.message and "runs approve" in lock.message
    assert result.changes["users"]["ended"] == 25  # what would have happened
    counts, export = directory.counts(), directory.export()
    assert export == before[1]
    assert {t for t in counts if counts[t] != before[0][t]} == {"runs", "run_issues"}


def test_r10_a_change_under_the_limits_is_applied(directory: Directory, tmp_path: Path) -> None:
    b, _, ids = big_school()
    directory.sync(b.write(tmp_path / "a"))
    b.persons = [p for p in b.persons if p["id"] not in ids[:3]]
    assert directory.sync(b.write(tmp_path / "b")).status == "applied"


def test_r10_per_school_limits_override_the_defaults(directory: Directory, tmp_path: Path) -> None:
    b, _, ids = big_school()
    directory.sync(b.write(tmp_path / "a"))
    b.persons = [p for p in b.persons if p["id"] not in ids[:25]]
    settings = Settings.model_validate(
        {"locks": {"schools": {"Storskolan": {"max_ended_users_percent": 80,
                                              "max_ended_memberships_percent": 80}}}}
    )  # fmt: skip
    assert directory.sync(b.write(tmp_path / "b"), settings=settings).status == "applied"


def test_r10_a_missing_persons_file_holds_the_run(directory: Directory, tmp_path: Path) -> None:
    directory.sync(EXAMPLE_BUNDLE)
    bundle = shutil.copytree(EXAMPLE_BUNDLE, tmp_path / "b")
    shutil.rmtree(bundle / "persons")
    result = directory.sync(bundle)
    assert result.status == "held"
    lock = next(i for i in result.issues if i.code == "lock-missing-data")
    assert "has no persons" in lock.message and "Do not unlock" in lock.message


def test_r10_an_empty_groups_file_holds_the_run(directory: Directory, tmp_path: Path) -> None:
    directory.sync(EXAMPLE_BUNDLE)
    bundle = shutil.copytree(EXAMPLE_BUNDLE, tmp_path / "b")
    (bundle / "groups.json").write_text('{"data": [], "pageToken": null}', encoding="utf-8")
    result = directory.sync(bundle)
    assert result.status == "held" and "lock-missing-data" in codes(result)


def test_r10_a_bundle_without_calendar_events_holds_when_lessons_came_from_it(
    directory: Directory, tmp_path: Path
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


def test_r10_allow_mass_changes_applies_and_records_it(
    directory: Directory, tmp_path: Path
) -> None:
    b, _, ids = big_school()
    directory.sync(b.write(tmp_path / "a"))
    b.persons = [p for p in b.persons if p["id"] not in ids[:25]]
    result = directory.sync(b.write(tmp_path / "b"), allow_mass_changes=True)
    assert result.status == "applied" and result.changes["users"]["ended"] == 25
    lock = next(i for i in result.issues if i.code == "lock-mass-change")
    assert "Applied anyway: --allow-mass-changes" in lock.message
    runs = json.loads(run_cli("--db", directory.url, "runs", "--json").out)
    assert runs[0]["options"] == {"allow_mass_changes": True,
                                  "overridden_locks": ["lock-mass-change"]}  # fmt: skip


def test_r10_approve_applies_a_held_run_and_records_who(
    directory: Directory, tmp_path: Path
) -> None:
    b, _, ids = big_school()
    directory.sync(b.write(tmp_path / "a"))
    b.persons = [p for p in b.persons if p["id"] not in ids[:25]]
    held = directory.sync(b.write(tmp_path / "b"))
    cli = run_cli("--db", directory.url, "--today", TODAY.isoformat(), "runs", "approve",
                  str(held.run_id), "--json")  # fmt: skip
    assert cli.code == 0, cli.err
    report = json.loads(cli.out)
    assert report["status"] == "applied" and report["changes"]["users"]["ended"] == 25
    assert sum(u["status"] == "ended" for u in directory.export()["users"]) == 25
    shown = json.loads(run_cli("--db", directory.url, "runs", "show", str(held.run_id),
                               "--json").out)  # fmt: skip
    assert shown["status"] == "held"
    assert shown["options"]["approved_by_run"] == int(report["run_id"])
    assert "@" in shown["options"]["approved_by"] and shown["options"]["approved_at"]
    again = run_cli("--db", directory.url, "runs", "approve", str(held.run_id))
    assert again.code == 1 and "approved already" in again.err


def test_r10_approve_refuses_when_the_export_changed(directory: Directory, tmp_path: Path) -> None:
    b, _, ids = big_school()
    directory.sync(b.write(tmp_path / "a"))
    b.persons = [p for p in b.persons if p["id"] not in ids[:25]]
    folder = b.write(tmp_path / "b")
    held = directory.sync(folder)
    (folder / "duties.json").write_text("[]", encoding="utf-8")
    store = Store(directory.url)
    try:
        with pytest.raises(ConflictError, match="changed or is gone"):
            approve(store, held.run_id or 0, Settings(), TODAY)
    finally:
        store.dispose()


def test_r10_a_dry_run_says_it_would_be_held(directory: Directory, tmp_path: Path) -> None:
    b, _, ids = big_school()
    directory.sync(b.write(tmp_path / "a"))
    b.persons = [p for p in b.persons if p["id"] not in ids[:25]]
    result = run_cli("--db", directory.url, "--today", TODAY.isoformat(), "sync", "--dry-run",
                     "--json", str(b.write(tmp_path / "b")))  # fmt: skip
    assert result.code == 3
    report = json.loads(result.out)
    assert report["status"] == "held" and report["run_id"] is None


def test_r10_held_run_through_the_cli_exits_3_and_says_how_to_approve(
    directory: Directory, tmp_path: Path
) -> None:
    b, _, ids = big_school()
    db = ["--db", directory.url, "--today", TODAY.isoformat()]
    assert run_cli(*db, "sync", str(b.write(tmp_path / "a"))).code == 0
    b.persons = [p for p in b.persons if p["id"] not in ids[:25]]
    held = run_cli(*db, "sync", str(b.write(tmp_path / "b")))
    assert held.code == 3
    assert "held by a safety lock" in held.out and "schoolsync runs approve 2" in held.out


def test_two_syncs_at_once_the_second_stops_with_a_clear_message(
    directory: Directory, tmp_path: Path
) -> None:
    b, _, _ = big_school()
    folder = b.write(tmp_path / "a")
    store = Store(directory.url)
    try:
        with store.run_lock():
            busy = run_cli("--db", directory.url, "sync", str(folder))
        assert busy.code == 1 and "Another schoolsync run is changing the directory" in busy.err
        assert "Traceback" not in busy.err
        assert directory.export()["users"] == []
        free = run_cli("--db", directory.url, "sync", str(folder))
        assert free.code == 0
    finally:
        store.dispose()


def test_a_second_sync_can_wait_for_the_first(directory: Directory, tmp_path: Path) -> None:
    import threading

    b, _, _ = big_school()
    folder = b.write(tmp_path / "a")
    store = Store(directory.url)
    release = threading.Event()

    def hold() -> None:
        with store.run_lock():
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        timer = threading.Timer(1.5, release.set)
        timer.start()
        waited = run_cli("--db", directory.url, "sync", "--wait", "20", str(folder))
        assert waited.code == 0, waited.err
    finally:
        release.set()
        holder.join()
        store.dispose()
