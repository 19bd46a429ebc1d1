"""Bulk writes and loads (issue 9), on SQLite and PostgreSQL.

Applying writes through the driver (executemany / COPY) and a big load sets aside the table's
secondary indexes (and, on PostgreSQL, its foreign keys) in the run's transaction; loading reads
through the driver and converts values itself. These tests hold the fast paths to what SQLAlchemy
would have written and read, and to the schema staying exactly as it was.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import uuid
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from schoolsync.domain.directory import (
    GroupRow,
    GuardianshipRow,
    LessonRow,
    LinkRow,
    MembershipRow,
    SchoolRow,
    UnitRow,
    UserRow,
)
from schoolsync.domain.records import json_text
from schoolsync.domain.settings import Settings
from schoolsync.engine import apply as apply_module
from schoolsync.engine.plan.context import new_uuid
from schoolsync.engine.run import RunResult, sync
from schoolsync.errors import DatabaseError
from schoolsync.generate import generate_bundle
from schoolsync.store import schema as t
from schoolsync.store.db import Store
from schoolsync.store.load import load_directory
from tests.conftest import TODAY, Directory


def sources(folder: Path) -> list[Path]:
    """A tiny generated municipality: the register and its schedule exports."""
    summary = generate_bundle(folder, "tiny", seed=3, today=TODAY)
    return [folder, *summary.schedules]


def run(url: str, paths: list[Path]) -> RunResult:
    store = Store(url)
    try:
        return sync(store, paths, Settings(), TODAY, allow_mass_changes=True)
    finally:
        store.dispose()


def schema_drift(url: str) -> list[Any]:
    """What differs between the database's schema and the code's (nothing, after any run)."""
    store = Store(url, migrate=False)
    try:
        with store.connect() as conn:
            return list(compare_metadata(MigrationContext.configure(conn), t.metadata))
    finally:
        store.dispose()


def indexes_and_keys(url: str) -> dict[str, Any]:
    """Every table's indexes and foreign keys, by name, as the database reports them."""
    store = Store(url, migrate=False)
    try:
        with store.connect() as conn:
            inspector = sa.inspect(conn)
            return {
                name: (
                    sorted(
                        (i["name"], tuple(i["column_names"])) for i in inspector.get_indexes(name)
                    ),
                    sorted(
                        (k["name"], tuple(k["constrained_columns"]), k["referred_table"])
                        for k in inspector.get_foreign_keys(name)
                    ),
                )
                for name in inspector.get_table_names()
            }
    finally:
        store.dispose()


def without_user_ids(directory: Directory) -> Any:
    return directory.export_without_ids()


def empty_directory(db_url: str, tmp_path: Path) -> tuple[list[Path], Directory, Any]:
    """A generated municipality's sources, an empty directory (its tables made), its counts."""
    paths = sources(tmp_path / "g")
    directory = Directory(db_url)
    Store(db_url).dispose()
    return paths, directory, directory.counts()


@pytest.fixture
def bulk(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every load counts as a big one (the real threshold is far above test sizes)."""
    monkeypatch.setattr(apply_module, "BULK_LOAD", 1)


def test_a_bulk_load_writes_the_same_directory_and_restores_every_index_and_key(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = sources(tmp_path / "g")
    directory = Directory(db_url)
    first = run(db_url, paths)
    expected = (without_user_ids(directory), directory.counts(), first.changes)
    shape = indexes_and_keys(db_url)
    store = Store(db_url, migrate=False)
    with store.transaction() as conn:  # empty the directory: the next run is a first one again
        for table in reversed(t.metadata.sorted_tables):
            conn.execute(table.delete())
    store.dispose()
    monkeypatch.setattr(apply_module, "BULK_LOAD", 1)
    again = run(db_url, paths)
    assert (without_user_ids(directory), directory.counts(), again.changes) == expected
    assert indexes_and_keys(db_url) == shape
    assert schema_drift(db_url) == []
    nothing = run(db_url, paths).changes  # and the bulk-loaded directory re-syncs to a no-op
    assert not any(n for group in nothing.values() for n in group.values())


def test_a_failure_inside_a_bulk_load_undoes_the_rows_and_the_dropped_indexes(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bulk: None
) -> None:
    paths = sources(tmp_path / "g")
    directory = Directory(db_url)
    Store(db_url).dispose()  # the tables, empty
    before, shape = directory.counts(), indexes_and_keys(db_url)
    real = apply_module._driver_chunks

    def failing(conn: sa.Connection, table: sa.Table, rows: Any) -> Any:
        for n, chunk in enumerate(real(conn, table, rows)):
            if table.name == "changes" and n == 0:
                raise sa.exc.OperationalError("INSERT", {}, Exception("disk full"))
            yield chunk

    monkeypatch.setattr(apply_module, "_driver_chunks", failing)
    with pytest.raises(DatabaseError, match="disk full"):
        run(db_url, paths)
    assert directory.counts() == before
    assert indexes_and_keys(db_url) == shape
    monkeypatch.undo()
    assert run(db_url, paths).status == "applied"
    assert schema_drift(db_url) == []


def test_a_record_refused_during_a_bulk_load_is_a_fault_and_nothing_is_applied(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bulk: None
) -> None:
    paths, directory, before = empty_directory(db_url, tmp_path)
    real_insert = apply_module.insert_rows

    def twice(conn: sa.Connection, table: sa.Table, rows: Any, advance: Any) -> None:
        real_insert(conn, table, rows, advance)
        if table.name == "memberships":
            real_insert(conn, table, rows, advance)  # the same keys again

    monkeypatch.setattr(apply_module, "insert_rows", twice)
    with pytest.raises(DatabaseError, match="refused a record"):
        run(db_url, paths)
    assert directory.counts() == before
    assert schema_drift(db_url) == []


def test_a_row_naming_a_missing_row_fails_a_bulk_load_and_keys_are_enforced_after(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bulk: None
) -> None:
    # SQLite checks a bulk load's foreign keys once before the commit; PostgreSQL restores
    # the keys it set aside, which checks them. Either way the run fails whole.
    paths, directory, before = empty_directory(db_url, tmp_path)
    real_insert = apply_module.insert_rows

    def without_users(conn: sa.Connection, table: sa.Table, rows: Any, advance: Any) -> None:
        if table.name != "users":
            real_insert(conn, table, rows, advance)

    monkeypatch.setattr(apply_module, "insert_rows", without_users)
    store = Store(db_url)
    try:
        with pytest.raises(DatabaseError, match=r"refused a record.*nothing was applied"):
            sync(store, paths, Settings(), TODAY, allow_mass_changes=True)
        assert directory.counts() == before
        with store.connect() as conn:  # the connection the run used, back in the pool
            if conn.dialect.name == "sqlite":
                assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            with pytest.raises(sa.exc.IntegrityError):
                conn.execute(
                    t.memberships.insert().values(
                        id="m", group_id="no such group", user_id="no such user", role="student"
                    )
                )
    finally:
        store.dispose()
    monkeypatch.undo()
    assert run(db_url, paths).status == "applied"


def test_a_failed_commit_of_a_bulk_run_says_why_and_leaves_no_connection_without_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bulk: None
) -> None:
    # SQLite only: there a bulk run turns its connection's foreign keys off.
    sqlite_url = f"sqlite:///{tmp_path / 'directory.db'}"
    paths, directory, before = empty_directory(sqlite_url, tmp_path)
    store = Store(sqlite_url)
    try:

        def full(dbapi_connection: Any) -> None:
            raise sqlite3.OperationalError("database or disk is full")

        monkeypatch.setattr(store.engine.dialect, "do_commit", full)
        with pytest.raises(DatabaseError, match="database or disk is full"):
            sync(store, paths, Settings(), TODAY, allow_mass_changes=True)
        monkeypatch.undo()
        assert directory.counts() == before
        with store.connect() as conn:  # whatever connection the pool hands out now
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        store.dispose()


def test_a_bulk_run_checks_the_keys_of_the_tables_it_wrote_and_of_those_naming_what_it_removed(
    db_url: str, tmp_path: Path
) -> None:
    # SQLite checks a bulk transaction's keys once, only where its statements may have broken
    # one (the tables written, and the children of a table whose rows it deleted, or whose
    # named column it updated);
    # PostgreSQL checks every statement. A removed parent fails either way.
    paths, directory, _ = empty_directory(db_url, tmp_path)
    run(db_url, paths)
    before = directory.counts()
    store = Store(db_url)
    checked: list[str] = []

    def note(_c: Any, _cur: Any, statement: str, *_a: Any) -> None:
        if statement.startswith("PRAGMA foreign_key_check"):
            checked.append(statement)

    try:
        sa.event.listen(store.engine, "before_cursor_execute", note)
        with (
            pytest.raises(DatabaseError, match="refused a record"),
            store.transaction(bulk=True) as conn,
        ):
            conn.execute(t.runs.update().values(who="bulk"))
            conn.execute(sa.delete(t.groups))  # memberships and lessons name them
        assert directory.counts() == before
        if store.is_sqlite:
            assert checked[0] == 'PRAGMA foreign_key_check("lessons")'
        checked.clear()
        with store.transaction(bulk=True) as conn:
            conn.execute(t.schools.update().values(name=t.schools.c.name + " "))
            conn.execute(t.schools.insert().values(id="s-new", key="s-new", name="Ny skola"))
        if store.is_sqlite:  # a column no key names, a row added: the children need no check
            assert checked == ['PRAGMA foreign_key_check("schools")']
        checked.clear()
        with store.transaction(bulk=True) as conn:
            conn.exec_driver_sql("WITH s AS (SELECT 1) UPDATE runs SET who = 'bulk'")
        if store.is_sqlite:  # a statement it cannot read: every table is checked
            assert checked == ["PRAGMA foreign_key_check"]
    finally:
        store.dispose()


@pytest.mark.parametrize(
    "statement",
    [
        "DELETE FROM Groups",  # names are not case-sensitive
        'UPDATE "Groups" SET "ID" = \'x\' || id',
        "UPDATE groups SET (name, id) = (name, 'x' || id)",
        "INSERT OR REPLACE INTO groups SELECT {moved} FROM groups",  # deletes each it replaces
    ],
)
def test_a_bulk_run_on_sqlite_that_removes_a_named_row_in_any_spelling_is_refused(
    tmp_path: Path, statement: str
) -> None:
    url = f"sqlite:///{tmp_path / 'directory.db'}"
    paths, directory, _ = empty_directory(url, tmp_path)
    run(url, paths)
    before = directory.counts()
    store = Store(url)
    try:
        with store.connect() as conn:
            names = [r[1] for r in conn.exec_driver_sql("PRAGMA table_info(groups)")]
        moved = ", ".join("'x' || id" if n == "id" else n for n in names)
        with (
            pytest.raises(DatabaseError, match="refused a record"),
            store.transaction(bulk=True) as conn,
        ):
            conn.exec_driver_sql(statement.format(moved=moved))
        assert directory.counts() == before
    finally:
        store.dispose()


_ROW_TABLES = [
    (SchoolRow, t.schools),
    (UnitRow, t.school_units),
    (UserRow, t.users),
    (LinkRow, t.user_schools),
    (GuardianshipRow, t.guardianships),
    (GroupRow, t.groups),
    (MembershipRow, t.memberships),
    (LessonRow, t.lessons),
]


def test_what_the_driver_paths_write_and_read_is_what_sqlalchemy_reads(
    db_url: str, tmp_path: Path, bulk: None
) -> None:
    run(db_url, sources(tmp_path / "g"))
    store = Store(db_url)
    try:
        with store.connect() as conn:
            loaded = load_directory(conn, ["ss12000", *(s for (s,) in conn.execute(
                sa.select(t.lessons.c.source).distinct()))])  # fmt: skip
            by_type: dict[type, list[Any]] = {
                SchoolRow: list(loaded.schools.values()),
                UnitRow: list(loaded.units.values()),
                UserRow: list(loaded.users.values()),
                LinkRow: list(loaded.links.values()),
                GuardianshipRow: list(loaded.guardianships.values()),
                GroupRow: list(loaded.groups.values()),
                MembershipRow: list(loaded.memberships.values()),
                LessonRow: list(loaded.lessons.values()),
            }
            for row_type, table in _ROW_TABLES:
                names = [f.name for f in fields(row_type)]
                query = sa.select(*(table.c[n] for n in names))
                texts = [table.c[n].info.get("json_text", False) for n in names]
                through_sqlalchemy = [  # JSON held as text is the text of SQLAlchemy's value
                    row_type(
                        *(json_text(v) if text else v for v, text in zip(r, texts, strict=True))
                    )
                    for r in conn.execute(query)
                ]
                key = names.index("id") if "id" in names else 0
                ours = sorted(by_type[row_type], key=lambda r: getattr(r, names[key]))
                theirs = sorted(through_sqlalchemy, key=lambda r: getattr(r, names[key]))
                assert ours == theirs, table.name
                assert theirs, table.name  # the generated municipality has some of each
                for a, b in zip(ours, theirs, strict=True):
                    assert [type(getattr(a, n)) for n in names] == [
                        type(getattr(b, n)) for n in names
                    ], table.name
    finally:
        store.dispose()


def test_ids_are_uuid_strings_in_the_order_they_are_made() -> None:
    ids = [new_uuid() for _ in range(20_000)]
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)
    for text in ids[::997]:
        parsed = uuid.UUID(text)
        assert str(parsed) == text and parsed.version == 7 and parsed.variant == uuid.RFC_4122


@pytest.mark.skipif(sys.platform == "win32", reason="no fork")
def test_a_forked_process_makes_ids_of_its_own() -> None:
    new_uuid()  # ids made ahead in this process
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.write(write, "\n".join(new_uuid() for _ in range(100)).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    with os.fdopen(read) as pipe:
        theirs = set(pipe.read().split())
    ours = {new_uuid() for _ in range(100)}
    assert len(theirs) == 100 and not ours & theirs


def test_dates_times_and_flags_are_stored_as_sqlalchemy_stores_them(
    db_url: str, tmp_path: Path, bulk: None
) -> None:
    run(db_url, sources(tmp_path / "g"))
    store = Store(db_url)
    try:
        with store.connect() as conn:
            dialect = conn.dialect
            for _, table in _ROW_TABLES:
                kinds = (sa.Date, sa.DateTime, sa.Boolean, sa.JSON)
                cols = [c for c in table.c if isinstance(c.type, kinds)]
                if not cols:
                    continue
                typed = conn.execute(sa.select(*cols)).all()
                names = ", ".join(dialect.identifier_preparer.quote(c.name) for c in cols)
                raw = conn.exec_driver_sql(f"SELECT {names} FROM {table.name}").all()
                assert typed, table.name
                for column, values, stored in zip(
                    cols, zip(*typed, strict=True), zip(*raw, strict=True), strict=True
                ):
                    if isinstance(column.type, sa.JSON):
                        decoded = [json.loads(s) if isinstance(s, str) else s for s in stored]
                        assert decoded == list(values), column
                        continue
                    bind = column.type.dialect_impl(dialect).bind_processor(dialect)
                    as_stored = [v if bind is None else bind(v) for v in values]
                    assert as_stored == list(stored), column
    finally:
        store.dispose()


def test_a_bulk_load_on_postgresql_leaves_fresh_planner_statistics(
    db_url: str, tmp_path: Path, bulk: None
) -> None:
    """After a big load PostgreSQL's statistics are refreshed (ANALYZE), so the service's first
    pages do not plan against an empty table's estimates until autovacuum comes by."""
    if db_url.startswith("sqlite"):
        pytest.skip("PostgreSQL's planner statistics")
    run(db_url, sources(tmp_path / "g"))
    store = Store(db_url, migrate=False)
    try:
        with store.connect() as conn:
            analysed = dict(
                conn.execute(
                    sa.text(
                        "SELECT relname, last_analyze IS NOT NULL FROM pg_stat_user_tables "
                        "WHERE schemaname = current_schema()"
                    )
                ).all()
            )
    finally:
        store.dispose()
    assert analysed["users"] and analysed["memberships"] and analysed["lessons"]
