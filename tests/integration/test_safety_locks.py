"""Safety locks (R10): a run that would change too much is held, then approved on purpose.

Which changes trip a lock is tested at the plan level (``tests/plan/test_safety_locks.py``);
these need the database: the held run's record, approving it, the CLI, the run lock.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from schoolsync.domain.settings import Settings
from schoolsync.engine.run import approve
from schoolsync.errors import ConflictError
from schoolsync.store.db import Store
from tests.builder import big_school
from tests.conftest import TODAY, Directory, invoke, run_cli


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
    runs = json.loads(invoke("--db", directory.url, "runs", "--json").out)
    assert runs[0]["options"] == {"allow_mass_changes": True,
                                  "overridden_locks": ["lock-mass-change"]}  # fmt: skip


def test_r10_approve_applies_a_held_run_and_records_who(
    directory: Directory, tmp_path: Path
) -> None:
    b, _, ids = big_school()
    directory.sync(b.write(tmp_path / "a"))
    b.persons = [p for p in b.persons if p["id"] not in ids[:25]]
    held = directory.sync(b.write(tmp_path / "b"))
    cli = invoke("--db", directory.url, "--today", TODAY.isoformat(), "runs", "approve",
                  str(held.run_id), "--json")  # fmt: skip
    assert cli.code == 0, cli.err
    report = json.loads(cli.out)
    assert report["status"] == "applied" and report["changes"]["users"]["ended"] == 25
    assert sum(u["status"] == "ended" for u in directory.export()["users"]) == 25
    shown = json.loads(invoke("--db", directory.url, "runs", "show", str(held.run_id),
                               "--json").out)  # fmt: skip
    assert shown["status"] == "held"
    assert shown["options"]["approved_by_run"] == int(report["run_id"])
    assert "@" in shown["options"]["approved_by"] and shown["options"]["approved_at"]
    again = invoke("--db", directory.url, "runs", "approve", str(held.run_id))
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
    result = invoke("--db", directory.url, "--today", TODAY.isoformat(), "sync", "--dry-run",
                     "--json", str(b.write(tmp_path / "b")))  # fmt: skip
    assert result.code == 3
    report = json.loads(result.out)
    assert report["status"] == "held" and report["run_id"] is None


def test_r10_held_run_through_the_cli_exits_3_and_says_how_to_approve(
    directory: Directory, tmp_path: Path
) -> None:
    b, _, ids = big_school()
    db = ["--db", directory.url, "--today", TODAY.isoformat()]
    assert invoke(*db, "sync", str(b.write(tmp_path / "a"))).code == 0
    b.persons = [p for p in b.persons if p["id"] not in ids[:25]]
    held = invoke(*db, "sync", str(b.write(tmp_path / "b")))
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
