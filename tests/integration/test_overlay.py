"""The in-memory overlay is what the database holds: ``apply_changes`` of a plan equals
``load_directory`` after ``write_changes`` of the same plan, on SQLite and PostgreSQL.

The plan-level rule tests (``tests/plan``) stand on this.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import sqlalchemy as sa

from schoolsync.domain.directory import Directory
from schoolsync.domain.settings import Settings
from schoolsync.engine.apply import write_changes
from schoolsync.engine.plan import plan_run
from schoolsync.engine.plan.overlay import apply_changes
from schoolsync.engine.run import lesson_sources
from schoolsync.generate import generate_bundle
from schoolsync.sources.detect import read_sources
from schoolsync.store import schema as t
from schoolsync.store.db import Store
from schoolsync.store.load import load_directory
from schoolsync.store.runs import finish_run, insert_run, now
from tests.conftest import EXAMPLE_BUNDLE, TODAY


def _load_all(store: Store) -> Directory:
    with store.connect() as conn:
        sources = [s for (s,) in conn.execute(sa.select(t.lessons.c.source).distinct())]
        return load_directory(conn, sources)


def _step(store: Store, paths: list[Path], today: date) -> None:
    """Plan a run on what the database holds, write it, and compare with the overlay."""
    read = read_sources(paths, lambda _n: None)
    with store.connect() as conn:
        loaded = load_directory(conn, lesson_sources(read))
    plan = plan_run(read, loaded, Settings(), today)
    assert not plan.changes.is_empty
    expected = apply_changes(_load_all(store), plan.changes, plan.sources)
    with store.transaction() as conn:
        run_id = insert_run(conn, "sync", "applied", today, plan.sources, now(), {})
        write_changes(conn, plan.changes, run_id, today, lambda _n: None)
        finish_run(conn, run_id, plan.changes.counts())
    assert _load_all(store) == expected


def test_the_overlay_of_a_plan_is_what_the_database_loads_after_it(
    db_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "kommun"
    generate_bundle(out, "tiny", seed=3, today=TODAY)
    municipality = [out, *sorted((out / "schedule").glob("*.txt"))]
    bundle = shutil.copytree(EXAMPLE_BUNDLE, tmp_path / "example")
    store = Store(db_url)
    try:
        store.migrate(create=True)
        _step(store, municipality, TODAY)
        _step(store, municipality, date(2026, 6, 20))  # endings and archiving: updates
        _step(store, [bundle], date(2025, 9, 1))  # another register: much ends, much is new
        (bundle / "calendarEvents.json").unlink()
        _step(store, [bundle], date(2025, 9, 1))  # its lessons gone: lesson updates
    finally:
        store.dispose()
