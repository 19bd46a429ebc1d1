"""The run history: writing a run's row, and reading the runs, one run's issues and change log."""

from __future__ import annotations

import getpass
import socket
from collections.abc import Collection
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from schoolsync.domain.personnummer import mask_civic_no, mask_details
from schoolsync.errors import NotFoundError
from schoolsync.store import schema as t


def list_runs(
    conn: Connection, limit: int = 20, *, where: Collection[Any] = (), offset: int = 0
) -> list[dict[str, Any]]:
    """The newest runs first (those meeting ``where``, after ``offset``), with their issue
    counts by severity."""
    r = t.runs.c
    query = select(t.runs).where(*where).order_by(r.id.desc()).limit(limit).offset(offset)
    rows = conn.execute(query).mappings().all()
    ids = [row["id"] for row in rows]
    counts: dict[int, dict[str, int]] = {i: {} for i in ids}
    if ids:
        i = t.run_issues.c
        for run_id, severity, n in conn.execute(
            select(i.run_id, i.severity, func.count())
            .where(i.run_id.in_(ids))
            .group_by(i.run_id, i.severity)
        ):
            counts[run_id][severity] = n
    for row in rows:  # a run retention thinned keeps its counts in its options
        kept = (row["options"] or {}).get("retention", {}).get("severities")
        if kept and not counts[row["id"]]:
            counts[row["id"]] = dict(kept)
    return [{**dict(row), "issue_counts": counts[row["id"]]} for row in rows]


def get_run(conn: Connection, run_id: int) -> dict[str, Any]:
    """One run with its issues.

    Raises:
        NotFoundError: When there is no run with that id.
    """
    row = conn.execute(select(t.runs).where(t.runs.c.id == run_id)).mappings().first()
    if row is None:
        raise NotFoundError(f"There is no run {run_id}.", "List the runs with: schoolsync runs")
    i = t.run_issues.c
    issues = [
        {"code": x.code, "severity": x.severity, "message": x.message, "rule": x.rule,
         "subject": x.subject}
        for x in conn.execute(
            select(i.code, i.severity, i.message, i.rule, i.subject)
            .where(i.run_id == run_id)
            .order_by(i.id)
        )
    ]  # fmt: skip
    return {**dict(row), "issues": issues}


def run_changes(
    conn: Connection, run_id: int, today: date, limit: int | None = None
) -> list[dict[str, Any]]:
    """A run's change log, in the order it was written (personnummer masked, also in entries
    written before the change log stored them masked)."""
    c = t.changes.c
    stmt = (
        select(c.entity, c.entity_id, c.action, c.details).where(c.run_id == run_id).order_by(c.id)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    return [
        {**row, "details": mask_details(row["details"] or {}, today=today)}
        for row in (dict(r) for r in conn.execute(stmt).mappings())
    ]


def count_changes(conn: Connection, run_id: int) -> int:
    """How many change-log entries a run wrote."""
    c = t.changes.c
    return int(conn.execute(select(func.count()).where(c.run_id == run_id)).scalar_one())


def now() -> datetime:
    """The current time, in UTC."""
    return datetime.now(UTC)


def who() -> str:
    """Who runs this, for the run record: ``user@host``."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def insert_run(
    conn: Connection,
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


def finish_run(conn: Connection, run_id: int, summary: dict[str, Any]) -> None:
    """Stamp a run row with its summary and finish time."""
    conn.execute(
        t.runs.update().where(t.runs.c.id == run_id).values(summary=summary, finished_at=now())
    )


def update_run_options(conn: Connection, run_id: int, options: dict[str, Any]) -> None:
    """Replace a run's options (an approval is recorded on the held run it applies)."""
    conn.execute(t.runs.update().where(t.runs.c.id == run_id).values(options=options))


def log_names(
    conn: Connection, user_ids: Collection[str], school_ids: Collection[str], today: date
) -> tuple[dict[str, str], dict[str, str]]:
    """Whom a change log names: user id to name with masked personnummer, school id to name."""
    u, s = t.users.c, t.schools.c
    names = {
        row.id: f"{row.given_name} {row.family_name} ({mask_civic_no(row.civic_no, today=today)})"
        for row in conn.execute(
            select(u.id, u.given_name, u.family_name, u.civic_no).where(u.id.in_(list(user_ids)))
        )
    }
    schools = {
        row.id: row.name
        for row in conn.execute(select(s.id, s.name).where(s.id.in_(list(school_ids))))
    }
    return names, schools
