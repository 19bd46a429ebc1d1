"""Load the directory's current state in a handful of queries (one per table).

Rows come through the driver in partitions and become the directory's row types column by column
(the values of a column converted with one call per partition, each row made positionally), so
no Python code runs per row. What repeats is held once: strings that many rows share (the ids of
schools, groups and users in other tables, sources, subjects, rooms), dates and times (SQLite
stores them as text; they are parsed once per distinct value) and lists of signatures or codes
(decoded once per distinct list; every row still gets a list of its own, but lessons, which are
never changed in place, share one). That keeps the picture of a big directory small.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from datetime import date, datetime
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from schoolsync.domain.directory import (
    Brief,
    Directory,
    GroupRow,
    GuardianshipRow,
    HeldLessons,
    LessonRow,
    LinkRow,
    MembershipRow,
    SchoolRow,
    UnitRow,
    UserRow,
)
from schoolsync.store import schema as t
from schoolsync.store.db import Memo
from schoolsync.store.driver import driver_error, placeholders, table_name

_PARTITION = 20_000
_decode = msgspec.json.decode  # the same values as json.loads, faster, dict keys held once

Column = tuple[Any, ...]
Convert = Callable[[Column], Column]


class _Values:
    """How one load turns the driver's values into the directory's, column by column.

    JSON columns are read as text on both databases (so a list that many rows share is
    decoded once). SQLite hands over dates, times and flags as text or numbers; PostgreSQL's
    driver hands over Python values, so there equal values are only made one object.
    """

    def __init__(self, conn: Connection) -> None:
        self.sqlite = sqlite = conn.dialect.name == "sqlite"
        held: dict[Any, Any] = {}
        share = held.setdefault
        self.shared: Convert = lambda col: tuple(map(share, col, col))
        texts = Memo(lambda text: tuple(share(v, v) for v in _decode(text)))
        self.strings_list: Convert = lambda col: tuple(map(list, map(texts.__getitem__, col)))
        # Lessons are the directory's most numerous rows and are never changed in place (an
        # update replaces a value), so their rows share one list per distinct list.
        lists = Memo(lambda text: list(texts[text]))
        self.shared_list: Convert = lambda col: tuple(map(lists.__getitem__, col))
        self.flag: Convert | None = (lambda col: tuple(map(bool, col))) if sqlite else None
        if sqlite:
            dates, times = Memo(date.fromisoformat), Memo(datetime.fromisoformat)
            self.date: Convert = lambda col: tuple(map(dates.__getitem__, col))
            self.datetime: Convert = lambda col: tuple(map(times.__getitem__, col))
        else:
            self.date = self.datetime = self.shared


def _columns(
    conn: Connection,
    values: _Values,
    table: sa.Table,
    columns: Sequence[tuple[str, Convert | None]],
    where: str = "",
    params: tuple[Any, ...] = (),
) -> Iterator[list[Column]]:
    """A table's rows, a partition at a time, as its columns' values (each column converted).

    The rows come straight from the driver's cursor (no result rows of SQLAlchemy's); on
    PostgreSQL from a server-side one (its driver would otherwise hold the whole result in
    memory first), with JSON as text.
    """
    quote = conn.dialect.identifier_preparer.quote
    names = [
        f"{quote(name)}::text"
        if not values.sqlite and isinstance(table.c[name].type, sa.JSON)
        else quote(name)
        for name, _ in columns
    ]
    sql = f"SELECT {', '.join(names)} FROM {table_name(conn, table)}{where}"
    converters = [(i, convert) for i, (_, convert) in enumerate(columns) if convert is not None]
    for part in _fetch(conn, sql, params):
        data = list(zip(*part, strict=True))
        for i, convert in converters:
            data[i] = convert(data[i])
        yield data


def _fetch(conn: Connection, sql: str, params: tuple[Any, ...]) -> Iterator[list[Any]]:
    """A query's rows as the driver's tuples, a partition at a time, in the connection's
    transaction; a driver error leaves as SQLAlchemy's (as a query through it would)."""
    dbapi = conn.dialect.loaded_dbapi
    driver: Any = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        cursor = driver.cursor(name="schoolsync_load")  # server-side: streams the rows
    else:
        cursor = driver.cursor()
    try:
        cursor.execute(sql, params)
        while part := cursor.fetchmany(_PARTITION):
            yield part
    except dbapi.Error as exc:
        raise driver_error(conn, sql, params, exc) from exc
    finally:
        cursor.close()


def _keyed(rows: Iterable[Any], *keys: Column) -> Iterator[tuple[Any, Any]]:
    """Rows paired with their keys (one column, or a tuple of several)."""
    return zip(keys[0] if len(keys) == 1 else zip(*keys, strict=True), rows, strict=True)


def load_directory(
    conn: Connection, lesson_sources: Collection[str] = (), *, by_source: bool = False
) -> Directory:
    """Read schools, units, users, links, groups, memberships, and the lessons of some sources.

    Args:
        conn: An open connection.
        lesson_sources: The schedule sources whose lessons the run compares with.
        by_source: Leave the lessons in the database until the planner asks for a source's
            (:meth:`Directory.lessons_of`), through ``conn``, which must then stay open until
            the plan is made.

    Returns:
        The directory state, keyed for the planner.
    """
    d = Directory()
    v = _Values(conn)
    shared, day, flag = v.shared, v.date, v.flag
    for c in _columns(conn, v, t.schools, [("id", shared), ("key", None), ("name", None)]):
        d.schools.update(_keyed(map(SchoolRow, *c), c[1]))
    unit_cols = [("register_id", None), ("school_id", shared), ("code", None), ("name", None),
                 ("school_types", v.strings_list)]  # fmt: skip
    for c in _columns(conn, v, t.school_units, unit_cols):
        d.units.update(_keyed(map(UnitRow, *c), c[0]))
    user_cols = [
        ("id", shared), ("civic_no", None), ("register_id", None), ("given_name", None),
        ("middle_name", None), ("family_name", None), ("birth_date", day), ("sex", shared),
        ("email", None), ("mobile", None), ("addresses", None), ("identifiers", None),
        ("signature", None), ("status", shared), ("protected", flag), ("merged_into", shared),
    ]  # fmt: skip
    for c in _columns(conn, v, t.users, user_cols):
        d.users.update(_keyed(map(UserRow, *c), c[0]))
        for user_id, into in zip(c[0], c[15], strict=True):
            if into:
                d.merged_from.setdefault(into, []).append(user_id)
    link_cols = [("id", None), ("user_id", shared), ("school_id", shared), ("role", shared),
                 ("start_date", day), ("end_date", day), ("signature", None)]  # fmt: skip
    for c in _columns(conn, v, t.user_schools, link_cols):
        d.links.update(_keyed(map(LinkRow, *c), c[1], c[2], c[3]))
    guardian_cols = [("id", None), ("guardian_id", shared), ("student_id", shared),
                     ("relation", shared), ("end_date", day)]  # fmt: skip
    for c in _columns(conn, v, t.guardianships, guardian_cols):
        d.guardianships.update(_keyed(map(GuardianshipRow, *c), c[1], c[2]))
    group_cols = [
        ("id", shared), ("school_id", shared), ("kind", shared), ("name", shared),
        ("register_id", None), ("register_type", shared), ("subject", shared),
        ("course", shared), ("activities", v.strings_list), ("start_date", day),
        ("end_date", day), ("status", shared), ("register_name", None),
    ]  # fmt: skip
    for c in _columns(conn, v, t.groups, group_cols):
        d.groups.update(_keyed(map(GroupRow, *c), c[0]))
    member_cols = [("id", None), ("group_id", shared), ("user_id", shared), ("role", shared),
                   ("start_date", day), ("end_date", day)]  # fmt: skip
    for c in _columns(conn, v, t.memberships, member_cols):
        d.memberships.update(_keyed(map(MembershipRow, *c), c[1], c[2], c[3]))
    d.register_counts = last_register_counts(conn)
    ls = t.lessons.c
    for source, count in conn.execute(select(ls.source, func.count()).group_by(ls.source)):
        d.lesson_counts[source] = count
    if lesson_sources and by_source:
        wanted = frozenset(lesson_sources)
        d.lesson_loader = lambda source: (
            _held_lessons(conn, v, source) if source in wanted else HeldLessons.of({})
        )
    elif lesson_sources:
        chosen = tuple(sorted(lesson_sources))
        where = f" WHERE source IN ({placeholders(conn, len(chosen))})"
        d.lessons.update(((r.source, r.source_key), r) for r in _lessons(conn, v, where, chosen))
    return d


def _lessons(
    conn: Connection, v: _Values, where: str, params: tuple[Any, ...]
) -> Iterator[LessonRow]:
    """The lessons a condition chooses, in the order the table holds them."""
    shared, flag, when = v.shared, v.flag, v.datetime
    lesson_cols = [
        ("id", None), ("source", shared), ("source_key", None), ("school_id", shared),
        ("group_name", shared), ("group_id", shared), ("class_id", shared),
        ("subject", shared), ("teachers", v.shared_list), ("start", when), ("end", when),
        ("room", shared), ("cancelled", flag), ("removed", flag), ("problem", shared),
        ("digest", None),
    ]  # fmt: skip
    for c in _columns(conn, v, t.lessons, lesson_cols, where, params):
        yield from map(LessonRow, *c)


_KEYS_PER_QUERY = 500  # source keys named in one query for the rows of a few lessons


def _held_lessons(conn: Connection, v: _Values, source: str) -> HeldLessons:
    """One source's lessons: each key's digest, start and removed flag now; whole rows when
    the planner asks for them (through ``conn``)."""
    mark = placeholders(conn, 1)
    brief: dict[str, Brief] = {}
    cols = [("source_key", None), ("digest", None), ("start", v.datetime), ("removed", v.flag)]
    for c in _columns(conn, v, t.lessons, cols, f" WHERE source = {mark}", (source,)):
        brief.update(zip(c[0], zip(c[1], c[2], c[3], strict=True), strict=True))

    def rows(keys: Collection[str]) -> dict[str, LessonRow]:
        chosen = sorted(set(keys))
        if len(chosen) * 8 > len(brief):  # many of them: one pass over the source is cheaper
            everyone = _lessons(conn, v, f" WHERE source = {mark}", (source,))
            wanted = set(chosen)
            return {r.source_key: r for r in everyone if r.source_key in wanted}
        found: dict[str, LessonRow] = {}
        for at in range(0, len(chosen), _KEYS_PER_QUERY):
            part = tuple(chosen[at : at + _KEYS_PER_QUERY])
            where = f" WHERE source = {mark} AND source_key IN ({placeholders(conn, len(part))})"
            found.update((r.source_key, r) for r in _lessons(conn, v, where, (source, *part)))
        return found

    return HeldLessons(brief, rows)


def last_register_counts(conn: Connection) -> dict[str, int]:
    """Records per kind of the newest applied sync that read a register (empty if none did)."""
    r = t.runs.c
    query = (
        select(r.sources)
        .where(r.kind == "sync", r.status == "applied")
        .order_by(r.id.desc())
        .limit(100)
    )
    for (sources,) in conn.execute(query):
        for source in sources or ():
            if isinstance(source, dict) and source.get("format") == "ss12000":
                records = source.get("records")
                return dict(records) if isinstance(records, dict) else {}
    return {}
