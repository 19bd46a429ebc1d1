"""The schedule through the real ``schoolsync`` command: sync, export, troubleshoot, errors."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa

from tests.builder import school
from tests.conftest import invoke
from tests.schedule_builder import Lesson, Schedule

TODAY = "2025-10-15"


def _setup(tmp_path: Path, db_url: str) -> tuple[list[str], Path, Path]:
    b, _ = school()
    bundle = b.write(tmp_path / "bundle")
    schedule = Schedule(
        lessons=[
            Lesson("Ma 7A"),
            Lesson("ma 7A"),
            Lesson("Ma 7A", teachers="ZZQ"),
            Lesson("Ma 7A", day="7", start="0:00", length="2210"),
        ]
    ).write(tmp_path / "schema.txt")
    return ["--db", db_url, "--today", TODAY], bundle, schedule


def test_sync_with_a_schedule_reports_and_exports_lessons(db_url: str, tmp_path: Path) -> None:
    db, bundle, schedule = _setup(tmp_path, db_url)
    result = invoke(*db, "sync", "--json", str(bundle), str(schedule))
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert report["changes"]["lessons"]["created"] == 72
    assert report["sources"][1] == {
        "format": "novaschem",
        "path": str(schedule),
        "encoding": "cp1252",
        "source": "novaschem:99990101",
    }
    codes = {i["code"] for i in report["issues"]}
    assert {"schedule-unknown-group", "schedule-unknown-signature", "schedule-bad-row"} <= codes
    lessons = json.loads(invoke(*db, "export", "--json").out)["lessons"]
    assert len(lessons) == 48 and {x["group"] for x in lessons} == {"Ma 7A"}
    window = json.loads(
        invoke(*db, "export", "--json", "--from", "2025-09-01", "--to", "2025-09-07").out
    )["lessons"]
    assert [x["start"][:10] for x in window] == ["2025-09-01", "2025-09-01"]
    again = json.loads(invoke(*db, "sync", "--json", str(bundle), str(schedule)).out)
    assert not any(again["changes"]["lessons"].values())


def test_the_change_log_holds_one_entry_per_group_of_created_lessons(
    db_url: str, tmp_path: Path
) -> None:
    """R8: a schedule's first sync logs the lessons it creates per group, with how many."""
    db, bundle, schedule = _setup(tmp_path, db_url)
    invoke(*db, "sync", str(bundle), str(schedule))
    report = json.loads(invoke(*db, "runs", "show", "1", "--json", "--log").out)
    created = [e for e in report["change_log"] if e["entity"] == "lesson"]
    assert sorted((e["details"]["group"], e["details"]["lessons"]) for e in created) == [
        ("Ma 7A", 48), ("ma 7A", 24),
    ]  # fmt: skip
    assert sum(e["details"]["lessons"] for e in created) == report["changes"]["lessons"]["created"]
    by_group = {e["details"]["group"]: e["entity_id"] for e in created}
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        ids = conn.execute(sa.text("SELECT DISTINCT group_id FROM lessons")).scalars().all()
    engine.dispose()
    assert by_group["ma 7A"] == "" and set(ids) == {by_group["Ma 7A"], None}
    text = invoke(*db, "runs", "show", "1", "--log").out
    assert "group: Ma 7A; lessons: 48" in text


def test_troubleshoot_lists_tied_and_untied_lessons(db_url: str, tmp_path: Path) -> None:
    db, bundle, schedule = _setup(tmp_path, db_url)
    invoke(*db, "sync", str(bundle), str(schedule))
    group = invoke(*db, "troubleshoot", "group", "Ma 7A").out
    assert "Lessons tied to 'Ma 7A': 24 lesson(s)" in group
    assert "Not tied: 'ma 7A'" in group and "differs only in upper/lower case" in group
    signature = invoke(*db, "troubleshoot", "signature", "ZZQ").out
    assert "No teacher has the signature ZZQ" in signature
    view = json.loads(invoke(*db, "troubleshoot", "group", "Ma 7A", "--json").out)
    assert view["lessons"]["failed"][0]["problem"] == "schedule-unknown-group"


def test_a_schedule_alone_can_be_synced_after_the_register(tmp_path: Path) -> None:
    db, bundle, schedule = _setup(tmp_path, f"sqlite:///{tmp_path / 'd.db'}")
    assert invoke(*db, "sync", str(bundle)).code == 0
    alone = json.loads(invoke(*db, "sync", "--json", str(schedule)).out)
    assert alone["changes"]["lessons"]["created"] == 72
    assert alone["changes"]["users"]["ended"] == 0  # no register in the run: users untouched


def test_a_cut_off_schedule_fails_and_changes_nothing(tmp_path: Path) -> None:
    db, bundle, schedule = _setup(tmp_path, f"sqlite:///{tmp_path / 'd.db'}")
    invoke(*db, "sync", str(bundle), str(schedule))
    before = invoke(*db, "export", "--json").out
    data = schedule.read_bytes()
    schedule.write_bytes(data[: int(len(data) * 0.8)])
    result = invoke(*db, "sync", str(bundle), str(schedule))
    assert result.code == 1 and "schema.txt" in result.err and "cut off" in result.err
    assert "Traceback" not in result.err
    assert invoke(*db, "export", "--json").out == before


def test_an_unknown_file_is_refused_and_format_can_be_forced(tmp_path: Path) -> None:
    db = ["--db", f"sqlite:///{tmp_path / 'd.db'}", "--today", TODAY]
    other = tmp_path / "notes.txt"
    other.write_text("hello\n", encoding="utf-8")
    refused = invoke(*db, "sync", str(other))
    assert refused.code == 1 and "neither an SS 12000 bundle folder nor a Novaschem" in refused.err
    forced = invoke(*db, "sync", "--format", "novaschem", str(other))
    assert forced.code == 1 and "no [Tables] section" in forced.err
