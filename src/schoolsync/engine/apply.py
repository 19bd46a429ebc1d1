"""Apply a plan: the only place that writes, in the one transaction it is given.

Rows are written set-wise (one executemany per table and column set); the change log, the issues
and the run row go in the same transaction, so they commit together or not at all.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import fields
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from schoolsync.domain.issues import Issue
from schoolsync.domain.personnummer import mask_details
from schoolsync.engine.plan.changeset import ChangeSet, EntityChanges
from schoolsync.store import schema as t

# The table each entity of a change set lives in (the change set names entities, not tables).
ENTITY_TABLES = {
    "schools": t.schools,
    "units": t.school_units,
    "users": t.users,
    "school_links": t.user_schools,
    "guardianships": t.guardianships,
    "groups": t.groups,
    "memberships": t.memberships,
    "lessons": t.lessons,
}
# Unique columns that an update may move between rows in one run (a rekey chain or swap, a
# rename swap): updated rows get a temporary value first so they never collide.
SWAPPABLE = {"schools": "name", "users": "civic_no", "groups": "name"}
_CHUNK = 5000

Progress = Callable[[int], None]


def _pk(table: sa.Table) -> sa.Column[Any]:
    (column,) = table.primary_key.columns
    return column


def _chunks(rows: list[dict[str, Any]]) -> Iterable[list[dict[str, Any]]]:
    for start in range(0, len(rows), _CHUNK):
        yield rows[start : start + _CHUNK]


def insert_rows(
    conn: Connection, table: sa.Table, rows: list[dict[str, Any]], advance: Progress
) -> None:
    """Insert rows in bulk."""
    for chunk in _chunks(rows):
        conn.execute(table.insert(), chunk)
        advance(len(chunk))


def update_rows(
    conn: Connection, table: sa.Table, rows: list[dict[str, Any]], advance: Progress
) -> None:
    """Update rows by primary key in bulk, one statement per set of changed columns."""
    pk = _pk(table)
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_columns[tuple(sorted(k for k in row if k != pk.name))].append(row)
    for columns, group in by_columns.items():
        stmt = (
            table.update()
            .where(pk == sa.bindparam("p_key"))
            .values({c: sa.bindparam(f"p_{c}") for c in columns})
        )
        params = [{"p_key": r[pk.name], **{f"p_{c}": r[c] for c in columns}} for r in group]
        for chunk in _chunks(params):
            conn.execute(stmt, chunk)
            advance(len(chunk))


def _insert_rows(
    table: sa.Table, entities: EntityChanges[Any], run_id: int
) -> list[dict[str, Any]]:
    names = [f.name for f in fields(entities.row_type) if f.name in table.c]
    stamp = {"created_run_id": run_id} if "created_run_id" in table.c else {}
    return [{**{n: getattr(row, n) for n in names}, **stamp} for row in entities.created]


def _update_rows(
    table: sa.Table, entities: EntityChanges[Any], run_id: int
) -> list[dict[str, Any]]:
    key = _pk(table).name
    stamp = {"updated_run_id": run_id} if "updated_run_id" in table.c else {}
    return [{key: u.key, **u.values, **stamp} for u in entities.updated]


def write_changes(
    conn: Connection, changes: ChangeSet, run_id: int, today: date, advance: Progress
) -> None:
    """Write a change set's rows, change log and issues under one run id (``today``: the run's
    date, for masking personnummer in the change log)."""
    for entity, entities in changes.entities():
        table = ENTITY_TABLES[entity]
        updates = _update_rows(table, entities, run_id)
        if entity in SWAPPABLE:
            _free_unique_values(conn, table, SWAPPABLE[entity], updates)
        insert_rows(conn, table, _insert_rows(table, entities, run_id), advance)
        update_rows(conn, table, updates, advance)
    log = [
        {
            "run_id": run_id,
            "entity": c.entity,
            "entity_id": c.entity_id,
            "action": c.action,
            "details": mask_details(c.details, today=today),
        }
        for c in changes.log
    ]
    insert_rows(conn, t.changes, log, advance)
    write_issues(conn, changes.issues, run_id)
    scrub_history(conn, changes.scrub, run_id, changes.protected_persons)


REMOVED = "(removed: it concerned a person with protected identity)"


def _earlier_names(conn: Connection, user_id: str) -> set[str]:
    """Every name the change log says a user had, as ``given family``."""
    givens: set[str] = set()
    families: set[str] = set()
    for (details,) in conn.execute(
        sa.select(t.changes.c.details).where(
            t.changes.c.entity == "user", t.changes.c.entity_id == user_id
        )
    ):
        for name, into in (("given_name", givens), ("family_name", families)):
            value = details.get(name) if isinstance(details, dict) else None
            if isinstance(value, list):
                into.update(v for v in value if isinstance(v, str) and v)
    return {f"{g} {f}" for g in givens for f in families}


def scrub_history(
    conn: Connection,
    scrub: list[tuple[str, list[str]]],
    run_id: int,
    protected_persons: Iterable[str] = (),
) -> None:
    """R11: remove what earlier runs recorded about persons who are now protected.

    Issues are found by the register ids they concern (whatever name or number they used), and,
    for issues recorded before issues carried those ids, by the user's names (earlier ones too)
    and masked number.
    """
    i = t.run_issues.c
    ids = sorted(set(protected_persons))
    for start in range(0, len(ids), 500):
        concerned = sa.select(t.run_issue_persons.c.issue_id).where(
            t.run_issue_persons.c.register_id.in_(ids[start : start + 500])
        )
        conn.execute(
            t.run_issues.update()
            .where(i.id.in_(concerned), i.message != REMOVED)
            .values(message=REMOVED, subject="")
        )
    for user_id, texts in scrub:
        names = set(texts) | _earlier_names(conn, user_id)
        conn.execute(
            t.changes.update()
            .where(t.changes.c.entity == "user", t.changes.c.entity_id == user_id,
                   t.changes.c.run_id != run_id)
            .values(details={"scrubbed": "protected identity"})
        )  # fmt: skip
        for text in sorted(n for n in names if n.strip()):
            conn.execute(
                t.run_issues.update()
                .where(i.message.contains(text, autoescape=True) | (i.subject == text))
                .values(message=REMOVED, subject="")
            )


def write_issues(conn: Connection, issues: list[Issue], run_id: int) -> None:
    """Write a run's issues, and which register persons each one concerns."""
    if not issues:
        return
    rows = [{"run_id": run_id, **i.as_dict()} for i in issues]
    named = [n for n, i in enumerate(issues) if i.persons]
    if not named:
        insert_rows(conn, t.run_issues, rows, lambda n: None)
        return
    stmt = t.run_issues.insert().returning(t.run_issues.c.id, sort_by_parameter_order=True)
    new_ids = [row[0] for row in conn.execute(stmt, rows)]
    links = [
        {"issue_id": new_ids[n], "register_id": rid}
        for n in named
        for rid in sorted(set(issues[n].persons))
    ]
    insert_rows(conn, t.run_issue_persons, links, lambda n: None)


def _free_unique_values(
    conn: Connection, table: sa.Table, column: str, updates: list[dict[str, Any]]
) -> None:
    """Give rows whose unique value changes a temporary value first (a swap never collides)."""
    moving = [{"p_key": r["id"], "p_tmp": "~" + r["id"][:11]} for r in updates if column in r]
    if moving:
        stmt = (
            table.update()
            .where(table.c.id == sa.bindparam("p_key"))
            .values({column: sa.bindparam("p_tmp")})
        )
        conn.execute(stmt, moving)


def total_rows(changes: ChangeSet) -> int:
    """How many rows a change set writes (for progress bars)."""
    return sum(len(entities) for _, entities in changes.entities()) + len(changes.log)
