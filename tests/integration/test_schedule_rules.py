"""The schedule (R8): Novaschem exports and SS 12000 lessons tied to groups, on both databases.

The rules are tested at the plan level (``tests/plan/test_schedule_rules.py``); these follow a
lesson through the database (wall-clock times, time zones) and a resync's table counts.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from schoolsync.domain.settings import Settings
from schoolsync.engine.run import RunResult, sync
from schoolsync.store import load as load_module
from schoolsync.store import schema as t
from schoolsync.store.db import Store
from schoolsync.store.load import load_directory
from tests.conftest import TODAY, Directory
from tests.rules import tied
from tests.schedule_builder import Lesson, school_with_schedule

WEEKS = "34-43, 45-51, 2-8"  # 10 + 7 + 7 = 24 weeks


def run(directory: Directory, *sources: Path, today: date = TODAY) -> RunResult:
    store = Store(directory.url)
    try:
        return sync(store, list(sources), Settings(), today)
    finally:
        store.dispose()


def test_r8_1_a_lesson_is_tied_to_the_group_with_exactly_its_name(
    directory: Directory, tmp_path: Path
) -> None:
    _, _, bundle, schedule = school_with_schedule(tmp_path, [Lesson("Ma 7A", weeks=WEEKS)])
    result = run(directory, bundle, schedule)
    assert result.changes["lessons"]["created"] == 24
    lessons = tied(directory, group="Ma 7A")
    assert len(lessons) == 24
    first, last = lessons[0], lessons[-1]
    group = next(g for g in directory.export()["groups"] if g["name"] == "Ma 7A")
    assert first.pop("group_id") == group["id"]  # the group's stable id, not only its name
    assert len({x["id"] for x in lessons}) == 24 and len(first.pop("id")) == 36
    assert first == {"group": "Ma 7A", "class": None, "subject": "MA", "teachers": ["KAHO"],
                     "school": group["school"],
                     "start": "2025-08-18T08:10:00+02:00", "end": "2025-08-18T09:10:00+02:00",
                     "room": "B12", "cancelled": False}  # fmt: skip
    assert last["start"] == "2026-02-16T08:10:00+01:00"  # winter time, spring week 8
    assert not [i for i in result.issues if i.code.startswith("schedule")]


def test_a_resync_of_the_same_schedule_changes_nothing(
    directory: Directory, tmp_path: Path
) -> None:
    _, _, bundle, schedule = school_with_schedule(
        tmp_path, [Lesson("Ma 7A"), Lesson("7A", subject="MA")]
    )
    run(directory, bundle, schedule)
    before = directory.counts()
    again = run(directory, bundle, schedule)
    assert not any(again.changes["lessons"].values())
    after = directory.counts()
    assert {t for t in after if after[t] != before[t]} <= {"runs", "run_issues"}


def test_a_sources_lessons_are_held_by_digest_and_read_whole_only_when_asked_for(
    directory: Directory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, _, bundle, schedule = school_with_schedule(tmp_path, [Lesson("Ma 7A", weeks=WEEKS)])
    run(directory, bundle, schedule)
    store = Store(directory.url)
    try:
        with store.connect() as conn:
            (source,) = conn.execute(sa.select(t.lessons.c.source).distinct()).scalars()
            whole = load_directory(conn, [source]).lessons
            held = load_directory(conn, [source], by_source=True).lessons_of(source)
            assert held.brief == {k: (r.digest, r.start, r.removed) for (_, k), r in whole.items()}
            assert all(isinstance(d, int) for d, _, _ in held.brief.values())
            keys = sorted(held.brief)[:2]  # few of 24: named in queries (one to a query here)
            monkeypatch.setattr(load_module, "_KEYS_PER_QUERY", 1)
            assert held.rows(keys) == {k: whole[(source, k)] for k in keys}
            many = sorted(held.brief)[::2]  # many: one pass over the source's lessons
            assert held.rows(many) == {k: whole[(source, k)] for k in many}
    finally:
        store.dispose()
