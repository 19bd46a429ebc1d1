"""Apply a plan: the only place that writes, in the one transaction it is given.

Rows are written set-wise through the driver: one prepared INSERT per table run with
``executemany`` (SQLite) or one ``COPY`` (PostgreSQL), and one prepared UPDATE per table and set
of changed columns. Values are converted for the driver a column at a time (JSON encoded once,
with a fast encoder; dates as SQLite stores them), never compiled per row. A bulk load into a
table that holds few rows drops the table's secondary indexes first and builds them again after
it. The change log, the issues and the run row go in the same transaction, so they commit
together or not at all.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from operator import attrgetter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from schoolsync.domain.issues import Issue
from schoolsync.domain.personnummer import mask_details
from schoolsync.engine.plan.changeset import ChangeSet, EntityChanges
from schoolsync.store import schema as t
from schoolsync.store.db import Memo, json_compact
from schoolsync.store.driver import driver_error, placeholders, quoted, table_name

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
# A load of at least this many rows may set aside indexes and foreign keys (see _bulk_load).
BULK_LOAD = 20_000

Progress = Callable[[int], None]
Converter = Callable[[Sequence[Any]], Sequence[Any]]


@dataclass(frozen=True, slots=True)
class Rows:
    """Rows for one table, column by column: the column names and each column's values.

    Values are as the entities hold them (dates, lists, dicts); :func:`insert_rows` converts
    them for the driver. A column may instead hold what its values are made from, with the
    function that makes them (``prepare``): they are then made a chunk at a time, as they are
    written, and never all held at once.
    """

    columns: tuple[str, ...]
    data: tuple[Sequence[Any], ...]
    prepare: Mapping[str, Converter] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.data[0]) if self.data else 0

    @classmethod
    def of(cls, columns: Sequence[str], records: Sequence[Any]) -> Rows:
        """The named attributes of objects, column by column."""
        return cls(tuple(columns), tuple(list(map(attrgetter(c), records)) for c in columns))

    @classmethod
    def of_dicts(cls, columns: Sequence[str], records: Sequence[dict[str, Any]]) -> Rows:
        """The named keys of dicts, column by column."""
        return cls(tuple(columns), tuple([r[c] for r in records] for c in columns))

    def stamped(self, column: str, value: Any) -> Rows:
        """The rows with one more column holding the same value in every row."""
        return Rows((*self.columns, column), (*self.data, [value] * len(self)), self.prepare)


def _pk(table: sa.Table) -> sa.Column[Any]:
    (column,) = table.primary_key.columns
    return column


def _sqlite_datetime(value: datetime) -> str:
    # SQLAlchemy's SQLite DATETIME storage format (microseconds always, no zone).
    return value.isoformat(" ", "microseconds")[:26]


def _converter(conn: Connection, column: sa.Column[Any]) -> Converter | None:
    """How a column's values become what the driver takes (None: as they are)."""
    kind = column.type
    if column.info.get("json_text"):
        return None  # JSON text already (schema.JSON_TEXT)
    if isinstance(kind, sa.JSON):  # None too becomes JSON (``null``), as SQLAlchemy does
        return lambda values: list(map(json_compact, values))
    if conn.dialect.name == "sqlite" and isinstance(kind, sa.DateTime | sa.Date):
        form = _sqlite_datetime if isinstance(kind, sa.DateTime) else date.isoformat
        texts = Memo(form)
        return lambda values: list(map(texts.__getitem__, values))
    return None


def _driver_chunks(
    conn: Connection, table: sa.Table, rows: Rows
) -> Iterator[list[tuple[Any, ...]]]:
    """The rows as tuples of driver values (JSON encoded, dates formatted for SQLite), a chunk
    at a time (so the converted values of a big load are never all held at once)."""
    converters = [_converter(conn, table.c[name]) for name in rows.columns]
    prepares = [rows.prepare.get(name) for name in rows.columns]
    for start in range(0, len(rows), _CHUNK):
        data = []
        for prepare, convert, values in zip(prepares, converters, rows.data, strict=True):
            part = values[start : start + _CHUNK]
            if prepare is not None:
                part = prepare(part)
            data.append(part if convert is None else convert(part))
        yield list(zip(*data, strict=True))


def _copy(conn: Connection, table: sa.Table, rows: Rows, advance: Progress) -> None:
    """Insert rows with PostgreSQL's COPY, in the connection's transaction."""
    statement = f"COPY {table_name(conn, table)} ({quoted(conn, rows.columns)}) FROM STDIN"
    dbapi = conn.dialect.loaded_dbapi
    cursor = conn.connection.cursor()
    try:
        with cursor.copy(statement) as copy:
            for chunk in _driver_chunks(conn, table, rows):
                for row in chunk:
                    copy.write_row(row)
                advance(len(chunk))
    except dbapi.Error as exc:
        raise driver_error(conn, statement, None, exc) from exc
    finally:
        cursor.close()


def _held(conn: Connection, table: sa.Table, most: int) -> int:
    """How many rows the table holds, counting no further than ``most + 1``."""
    some = sa.select(sa.literal(1)).select_from(table).limit(most + 1).subquery()
    return int(conn.execute(sa.select(sa.func.count()).select_from(some)).scalar_one())


def _secondary_indexes(conn: Connection, table: sa.Table) -> list[tuple[str, str]]:
    """The table's indexes that no key or unique constraint needs: (name, how to create it),
    as the database has them."""
    if conn.dialect.name == "sqlite":
        query = (
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
            "AND sql IS NOT NULL AND upper(sql) NOT LIKE 'CREATE UNIQUE%' ORDER BY name"
        )
        return [(r[0], r[1]) for r in conn.exec_driver_sql(query, (table.name,))]
    query = (
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "WHERE i.indrelid = to_regclass(%s) AND NOT i.indisprimary AND NOT i.indisunique "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) "
        "ORDER BY 1"
    )
    name = table_name(conn, table)
    return [(r[0], r[1]) for r in conn.exec_driver_sql(query, (name,))]


def _foreign_keys(conn: Connection, table: sa.Table) -> list[tuple[str, str]]:
    """PostgreSQL: the table's foreign keys, (name, definition), as the database has them."""
    query = (
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = to_regclass(%s) AND contype = 'f' ORDER BY conname"
    )
    name = table_name(conn, table)
    return [(r[0], r[1]) for r in conn.exec_driver_sql(query, (name,))]


def _in_transaction(conn: Connection) -> bool:
    """Whether the database has a transaction open on the connection. SQLite's driver begins
    one only at the first write, and a DDL statement before it would commit on its own."""
    if conn.dialect.name != "sqlite":
        return True
    return bool(conn.connection.driver_connection.in_transaction)  # type: ignore[union-attr]


@contextmanager
def _bulk_load(conn: Connection, table: sa.Table, adding: int) -> Iterator[None]:
    """Around a big load: set aside what costs most per row and is cheap to make again for all
    rows at once, and restore it afterwards, all in the load's transaction (a failure undoes
    the setting aside too, and the rows are checked against everything when it is restored).

    - Secondary indexes, when the table holds at most a quarter as many rows as the load adds:
      they are built again with one sort instead of one b-tree insert per row.
    - On PostgreSQL, foreign keys, when the table holds at most four times as many rows as the
      load adds: they are checked again with one join instead of a trigger and a lookup per row.
    """
    if adding < BULK_LOAD or not _in_transaction(conn):
        yield
        return
    postgres = conn.dialect.name == "postgresql"
    held = _held(conn, table, 4 * adding if postgres else adding // 4)
    indexes = _secondary_indexes(conn, table) if held <= adding // 4 else []
    keys = _foreign_keys(conn, table) if postgres and held <= 4 * adding else []
    name = table_name(conn, table)
    quote = conn.dialect.identifier_preparer.quote
    if keys:
        drops = ", ".join(f"DROP CONSTRAINT {quote(k)}" for k, _ in keys)
        conn.exec_driver_sql(f"ALTER TABLE {name} {drops}")
    for index, _ in indexes:
        conn.exec_driver_sql(f"DROP INDEX {index if postgres else quote(index)}")
    yield
    for _, create in indexes:
        conn.exec_driver_sql(create)
    if keys:
        adds = ", ".join(f"ADD CONSTRAINT {quote(k)} {definition}" for k, definition in keys)
        conn.exec_driver_sql(f"ALTER TABLE {name} {adds}")


def insert_rows(conn: Connection, table: sa.Table, rows: Rows, advance: Progress) -> None:
    """Insert rows in bulk (COPY on PostgreSQL, a prepared executemany on SQLite)."""
    if not len(rows):
        return
    with _bulk_load(conn, table, len(rows)):
        if conn.dialect.name == "postgresql":
            _copy(conn, table, rows, advance)
            return
        statement = (
            f"INSERT INTO {table_name(conn, table)} ({quoted(conn, rows.columns)}) "
            f"VALUES ({placeholders(conn, len(rows.columns))})"
        )
        for chunk in _driver_chunks(conn, table, rows):
            conn.exec_driver_sql(statement, chunk)
            advance(len(chunk))


def update_rows(
    conn: Connection, table: sa.Table, rows: list[dict[str, Any]], advance: Progress
) -> None:
    """Update rows by primary key in bulk, one prepared statement per set of changed columns."""
    pk = _pk(table).name
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_columns[tuple(sorted(k for k in row if k != pk))].append(row)
    quote = conn.dialect.identifier_preparer.quote
    mark = placeholders(conn, 1)
    for columns, group in by_columns.items():
        if not columns:  # nothing to set
            advance(len(group))
            continue
        statement = (
            f"UPDATE {table_name(conn, table)} SET "
            f"{', '.join(f'{quote(c)} = {mark}' for c in columns)} WHERE {quote(pk)} = {mark}"
        )
        for chunk in _driver_chunks(conn, table, Rows.of_dicts((*columns, pk), group)):
            conn.exec_driver_sql(statement, chunk)
            advance(len(chunk))


def _insert_rows(table: sa.Table, entities: EntityChanges[Any], run_id: int) -> Rows:
    names = [f.name for f in fields(entities.row_type) if f.name in table.c]
    rows = Rows.of(names, entities.created)
    return rows.stamped("created_run_id", run_id) if "created_run_id" in table.c else rows


def _update_rows(
    table: sa.Table, entities: EntityChanges[Any], run_id: int
) -> list[dict[str, Any]]:
    key = _pk(table).name
    stamp = {"updated_run_id": run_id} if "updated_run_id" in table.c else {}
    return [{key: u.key, **u.values, **stamp} for u in entities.updated]


_LOG_COLUMNS = ("run_id", "entity", "entity_id", "action", "details")


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
    log = changes.log
    rows = Rows(
        _LOG_COLUMNS,
        (
            [run_id] * len(log),
            log.entities,
            log.ids,
            log.actions,
            range(len(log)),  # the details, masked a chunk at a time as they are written
        ),
        {"details": lambda part: [mask_details(log.details(at), today=today) for at in part]},
    )
    insert_rows(conn, t.changes, rows, advance)
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


_ISSUE_COLUMNS = ("run_id", "code", "severity", "message", "rule", "subject")


def write_issues(conn: Connection, issues: list[Issue], run_id: int) -> None:
    """Write a run's issues, and which register persons each one concerns."""
    if not issues:
        return
    rows = [{"run_id": run_id, **i.as_dict()} for i in issues]
    named = [n for n, i in enumerate(issues) if i.persons]
    if not named:
        insert_rows(conn, t.run_issues, Rows.of_dicts(_ISSUE_COLUMNS, rows), lambda n: None)
        return
    stmt = t.run_issues.insert().returning(t.run_issues.c.id, sort_by_parameter_order=True)
    new_ids = [row[0] for row in conn.execute(stmt, rows)]
    links = [(new_ids[n], rid) for n in named for rid in sorted(set(issues[n].persons))]
    persons = Rows(("issue_id", "register_id"), ([i for i, _ in links], [r for _, r in links]))
    insert_rows(conn, t.run_issue_persons, persons, lambda n: None)


def _free_unique_values(
    conn: Connection, table: sa.Table, column: str, updates: list[dict[str, Any]]
) -> None:
    """Give rows whose unique value changes a temporary value first (a swap never collides).

    The temporary value is ``~`` and a number: unique within the run, never a real value, and
    short enough for every unique column (a personnummer has 12 characters).
    """
    moving = [(f"~{n:011d}", r["id"]) for n, r in enumerate(r for r in updates if column in r)]
    if moving:
        quote = conn.dialect.identifier_preparer.quote
        mark = placeholders(conn, 1)
        conn.exec_driver_sql(
            f"UPDATE {table_name(conn, table)} SET {quote(column)} = {mark} "
            f"WHERE {quote(_pk(table).name)} = {mark}",
            moving,
        )


def is_bulk(changes: ChangeSet) -> bool:
    """Whether writing the changes is a big load (the database may check keys at its end)."""
    return total_rows(changes) >= BULK_LOAD


def total_rows(changes: ChangeSet) -> int:
    """How many rows a change set writes (for progress bars)."""
    return sum(len(entities) for _, entities in changes.entities()) + len(changes.log)
