"""Runs as a whole: one transaction, no-op re-sync, dry run, migrations — SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from schoolsync.engine import apply as apply_module
from schoolsync.errors import DatabaseError
from schoolsync.store import db as db_module
from schoolsync.store import schema
from schoolsync.store.db import Store, _alembic_config
from tests.builder import school
from tests.conftest import EXAMPLE_BUNDLE, Directory


def test_example_bundle_syncs_with_the_expected_users(directory: Directory) -> None:
    result = directory.sync(EXAMPLE_BUNDLE)
    assert result.status == "applied"
    assert result.changes["users"]["created"] == 14  # 17 persons, 3 with protected identity
    assert result.changes["schools"] == {"created": 2}  # the closed unit is not a new school
    export = directory.export()
    assert [s["name"] for s in export["schools"]] == [
        "Exempelskolan 7-9",
        "Exempelskolans fritidshem",
    ]
    noah = next(u for u in export["users"] if u["civic_no"] == "20120315TF01")
    assert noah["schools"][0]["role"] == "student"
    names = {u["given_name"] for u in export["users"]}
    assert not names & {"Wilma", "Maja", "Annika"}  # protected identity (R11)


def test_a_second_sync_of_the_same_input_writes_only_its_run_record(directory: Directory) -> None:
    directory.sync(EXAMPLE_BUNDLE)
    before = directory.counts()
    export = directory.export()
    result = directory.sync(EXAMPLE_BUNDLE)
    after = directory.counts()
    assert all(not any(v.values()) for v in result.changes.values())
    assert after["runs"] == before["runs"] + 1
    changed = {t for t in after if after[t] != before[t]}
    assert changed <= {"runs", "run_issues"}
    assert directory.export() == export


def test_dry_run_reports_the_same_changes_as_the_real_run_and_writes_nothing(
    directory: Directory,
) -> None:
    directory.sync(EXAMPLE_BUNDLE, dry_run=True)  # creates the tables only
    before = directory.counts()
    planned = directory.sync(EXAMPLE_BUNDLE, dry_run=True)
    assert planned.status == "planned" and planned.run_id is None
    assert directory.counts() == before
    applied = directory.sync(EXAMPLE_BUNDLE)
    assert applied.changes == planned.changes
    assert [i.as_dict() for i in applied.issues] == [i.as_dict() for i in planned.issues]


def test_a_run_that_fails_while_writing_leaves_the_directory_as_it_was(
    directory: Directory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    b, ids = school()
    directory.sync(b.write(tmp_path / "a"))
    before = (directory.counts(), directory.export())
    b.get(ids["elsa"])["familyName"] = "Ny"
    b.persons = [p for p in b.persons if p["id"] != ids["omar"]]
    real_insert = apply_module.insert_rows

    def failing_insert(conn: sa.Connection, table: sa.Table, rows: list, advance: object) -> None:
        if table.name == "changes":
            raise sa.exc.OperationalError("INSERT", {}, Exception("disk full"))
        real_insert(conn, table, rows, advance)  # type: ignore[arg-type]

    monkeypatch.setattr(apply_module, "insert_rows", failing_insert)
    with pytest.raises(DatabaseError, match="disk full"):
        directory.sync(b.write(tmp_path / "b"))
    assert (directory.counts(), directory.export()) == before


def test_migrations_create_exactly_the_tables_the_code_uses(db_url: str) -> None:
    store = Store(db_url)
    try:
        with store.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), schema.metadata)
    finally:
        store.dispose()
    assert diff == []


def test_opening_twice_migrates_once(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    builds: list[str] = []
    real_upgrade, real_stamp = db_module.command.upgrade, db_module.command.stamp

    def counting(what: str, real: Any) -> Any:
        def count(cfg: Any, revision: str) -> None:
            builds.append(f"{what} {revision}")
            real(cfg, revision)

        return count

    monkeypatch.setattr(db_module.command, "upgrade", counting("upgrade", real_upgrade))
    monkeypatch.setattr(db_module.command, "stamp", counting("stamp", real_stamp))
    Store(db_url).dispose()
    assert builds == ["stamp head"]  # the first opening creates the tables, at the newest
    store = Store(db_url)
    assert builds == ["stamp head"]  # the second finds them at head and migrates nothing
    try:
        with store.connect() as conn:
            current = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
        assert current == head
    finally:
        store.dispose()
