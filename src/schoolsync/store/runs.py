"""Reading the run history: the runs, one run's issues and change log."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from schoolsync.domain.personnummer import mask_details
from schoolsync.errors import NotFoundError
from schoolsync.store import schema as t


def list_runs(conn: Connection, limit: int = 20) -> list[dict[str, Any]]:
    """The newest runs first, with their issue counts by severity."""
    r = t.runs.c
    rows = conn.execute(select(t.runs).order_by(r.id.desc()).limit(limit)).mappings().all()
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


def run_changes(conn: Connection, run_id: int, limit: int | None = None) -> list[dict[str, Any]]:
    """A run's change log, in the order it was written (personnummer masked, also in entries
    written before the change log stored them masked)."""
    c = t.changes.c
    stmt = (
        select(c.entity, c.entity_id, c.action, c.details).where(c.run_id == run_id).order_by(c.id)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    return [
        {**row, "details": mask_details(row["details"] or {})}
        for row in (dict(r) for r in conn.execute(stmt).mappings())
    ]


def count_changes(conn: Connection, run_id: int) -> int:
    """How many change-log entries a run wrote."""
    c = t.changes.c
    return int(conn.execute(select(func.count()).where(c.run_id == run_id)).scalar_one())
