"""Retention (``schoolsync vacuum``): the run history's detail is kept for a number of days, the
directory's data for ever.

A run older than ``[retention] change_log_days`` keeps its row (when, who, which sources, what
it changed, counted by kind) but loses its change-log entries and its issues; what it had is
summarised in its options (``retention``: the day, the number of entries, the issues by code).
Held runs keep everything until they are approved (they wait for a decision), and so do the last
two applied syncs (the overview compares them). Nothing of the directory itself is touched.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from schoolsync.store import schema as t
from schoolsync.store.db import Store
from schoolsync.store.driver import table_name


@dataclass
class Pruned:
    """What retention removed (or, in a dry run, would remove)."""

    cutoff: date
    runs: list[int] = field(default_factory=list)
    changes: int = 0
    issues: int = 0


def prune(store: Store, keep_days: int, today: date, *, dry_run: bool = False) -> Pruned:
    """Remove the change log and issues of the runs that began before ``today - keep_days``.

    Holds the run lock (it is a writer) and does everything in one transaction.
    """
    cutoff = today - timedelta(days=keep_days)
    out = Pruned(cutoff)
    r, c, i = t.runs.c, t.changes.c, t.run_issues.c
    with store.run_lock(), store.transaction("applying retention") as conn:
        kept = set(
            conn.execute(
                sa.select(r.id)
                .where(r.kind == "sync", r.status == "applied")
                .order_by(r.id.desc())
                .limit(2)
            ).scalars()
        )
        start = datetime.combine(cutoff, time.min, UTC)
        old = [
            (run_id, options or {})
            for run_id, status, options in conn.execute(
                sa.select(r.id, r.status, r.options).where(r.started_at < start)
            )
            if run_id not in kept
            and "retention" not in (options or {})
            and (status != "held" or (options or {}).get("approved_by_run"))  # decided
        ]
        for run_id, options in old:
            changes = conn.execute(
                sa.select(sa.func.count()).select_from(t.changes).where(c.run_id == run_id)
            ).scalar_one()
            codes: Counter[str] = Counter()
            severities: Counter[str] = Counter()
            for code, severity, n in conn.execute(
                sa.select(i.code, i.severity, sa.func.count())
                .where(i.run_id == run_id)
                .group_by(i.code, i.severity)
            ):
                codes[code] += n
                severities[severity] += n
            if not changes and not codes:
                continue
            out.runs.append(run_id)
            out.changes += changes
            out.issues += sum(codes.values())
            if dry_run:
                continue
            issue_ids = sa.select(i.id).where(i.run_id == run_id).scalar_subquery()
            conn.execute(
                sa.delete(t.run_issue_persons).where(t.run_issue_persons.c.issue_id.in_(issue_ids))
            )
            conn.execute(sa.delete(t.run_issues).where(i.run_id == run_id))
            conn.execute(sa.delete(t.changes).where(c.run_id == run_id))
            summary: dict[str, Any] = {
                "removed_on": datetime.now(UTC).date().isoformat(),
                "kept_days": keep_days,
                "changes": changes,
                "issues": dict(sorted(codes.items())),
                "severities": dict(sorted(severities.items())),
            }
            conn.execute(
                sa.update(t.runs)
                .where(r.id == run_id)
                .values(options={**options, "retention": summary})
            )
    return out


def compact(store: Store) -> None:
    """Give the space the removed rows took back to the system (SQLite ``VACUUM``, PostgreSQL
    ``VACUUM ANALYZE`` of the run history's tables), outside any transaction."""
    with store.run_lock(), store.engine.connect() as conn:
        auto = conn.execution_options(isolation_level="AUTOCOMMIT")
        if store.is_sqlite:
            auto.exec_driver_sql("VACUUM")
        else:
            for table in (t.changes, t.run_issue_persons, t.run_issues, t.runs):
                auto.exec_driver_sql(f"VACUUM ANALYZE {table_name(auto, table)}")
