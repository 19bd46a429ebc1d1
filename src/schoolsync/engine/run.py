"""One sync run from end to end: read the sources, load the directory, plan, apply, record.

Reading happens before the database is touched; planning is pure; applying is one transaction
that writes the data, the change log, the issues and the run row together.
"""

from __future__ import annotations

import gc
import getpass
import socket
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from schoolsync.domain.issues import Issue
from schoolsync.engine.apply import now, total_rows, write_changes
from schoolsync.engine.plan import Plan, plan_run
from schoolsync.errors import InputError, SchoolsyncError
from schoolsync.settings import Settings
from schoolsync.sources.detect import read_sources
from schoolsync.store import schema as t
from schoolsync.store.db import Store
from schoolsync.store.load import load_directory

StageCallback = Callable[[str, int], Callable[[int], None]]


def _no_progress(_stage: str, _total: int) -> Callable[[int], None]:
    return lambda _n: None


def who() -> str:
    """Who runs this, for the run record: ``user@host``."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


@dataclass
class RunResult:
    """The outcome of a run, in the run report's terms."""

    status: str
    changes: dict[str, dict[str, int]]
    issues: list[Issue]
    today: date
    sources: list[dict[str, str]] = field(default_factory=list)
    run_id: int | None = None
    message: str = ""

    @property
    def exit_code(self) -> int:
        """0 applied or planned, 1 failed, 3 held."""
        return {"applied": 0, "planned": 0, "held": 3}.get(self.status, 1)

    def as_report(self) -> dict[str, Any]:
        """The run report (INTERFACE.md)."""
        return {
            "run_id": None if self.run_id is None else str(self.run_id),
            "status": self.status,
            "today": self.today.isoformat(),
            "sources": self.sources,
            "changes": self.changes,
            "issues": [i.as_dict() for i in self.issues],
            **({"message": self.message} if self.message else {}),
        }


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector during a run.

    A run builds millions of small, acyclic objects; the collector's repeated passes over them
    cost about half the run time and free nothing. Reference counting still frees everything.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def sync(
    store: Store,
    sources: Sequence[Path],
    settings: Settings,
    today: date,
    *,
    dry_run: bool = False,
    stage: StageCallback = _no_progress,
    source_format: str | None = None,
) -> RunResult:
    """Run one sync.

    Args:
        store: The directory database.
        sources: Source paths (an SS 12000 bundle folder, ...).
        settings: The settings.
        today: The date the rules treat as today.
        dry_run: Plan and report only.
        stage: Called with a stage name and a total; returns a function to advance it.
        source_format: Read every source as this format instead of recognising it.

    Returns:
        The result; ``status`` is ``applied``, or ``planned`` for a dry run.

    Raises:
        SchoolsyncError: For bad input or a database failure; nothing was applied.
    """
    with gc_paused():
        return _sync(
            store, sources, settings, today, dry_run=dry_run, stage=stage, fmt=source_format
        )


def _sync(
    store: Store,
    sources: Sequence[Path],
    settings: Settings,
    today: date,
    *,
    dry_run: bool,
    stage: StageCallback,
    fmt: str | None,
) -> RunResult:
    started = now()
    try:
        advance = stage("Reading sources", len(sources))
        read = read_sources(sources, advance, fmt)
        advance = stage("Loading the directory", 1)
        with store.connect() as conn:
            directory = load_directory(conn, {s.source for s in read.schedules})
        advance(1)
        advance = stage("Planning", 1)
        plan = plan_run(read, directory, settings, today)
        advance(1)
    except InputError as exc:
        if not dry_run:
            record_failed(store, sources, today, started, exc)
        raise
    if dry_run:
        return _result(plan, "planned", None)
    advance = stage("Applying", total_rows(plan.changes))
    with store.transaction("applying the run") as conn:
        run_id = insert_run(conn, "sync", "applied", today, plan.sources, started, {})
        write_changes(conn, plan.changes, run_id, advance)
        finish_run(conn, run_id, plan.changes.counts())
    return _result(plan, "applied", run_id)


def _result(plan: Plan, status: str, run_id: int | None) -> RunResult:
    return RunResult(status, plan.changes.counts(), plan.issues, plan.today, plan.sources, run_id)


def insert_run(
    conn: sa.Connection,
    kind: str,
    status: str,
    today: date,
    sources: list[dict[str, str]],
    started: Any,
    options: dict[str, Any],
    message: str | None = None,
) -> int:
    """Insert a run row and return its id."""
    result = conn.execute(
        t.runs.insert().values(
            kind=kind,
            status=status,
            started_at=started,
            today=today,
            who=who(),
            sources=sources,
            options=options,
            summary={},
            message=message,
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def finish_run(conn: sa.Connection, run_id: int, summary: dict[str, Any]) -> None:
    """Stamp a run row with its summary and finish time."""
    conn.execute(
        t.runs.update().where(t.runs.c.id == run_id).values(summary=summary, finished_at=now())
    )


def record_failed(
    store: Store, sources: Sequence[Path], today: date, started: Any, exc: SchoolsyncError
) -> None:
    """Record a run that failed on its input (best effort: a database error is ignored)."""
    try:
        with store.transaction("recording a failed run") as conn:
            srcs = [{"format": "unknown", "path": str(p)} for p in sources]
            run_id = insert_run(conn, "sync", "failed", today, srcs, started, {}, str(exc))
            finish_run(conn, run_id, {})
    except SchoolsyncError:
        pass
