"""Migrations: a directory made by an older schoolsync is upgraded on first use, data kept."""

from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa
from alembic import command

from schoolsync.store.db import Store, _alembic_config
from tests.conftest import EXAMPLE_BUNDLE, Directory


def test_a_directory_from_the_first_schema_is_upgraded_and_keeps_its_users(db_url: str) -> None:
    old = Store(db_url, migrate=False)
    with old.engine.begin() as conn:
        cfg = _alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        conn.execute(
            sa.text(
                "INSERT INTO runs (kind, status, started_at, today, who, sources, options, "
                "summary) VALUES ('sync', 'applied', :t, :d, 'x@y', '[]', '{}', '{}')"
            ),
            {"t": datetime(2025, 8, 1, tzinfo=UTC), "d": date(2025, 8, 1)},
        )
        run_id = conn.execute(sa.text("SELECT max(id) FROM runs")).scalar()
        conn.execute(
            sa.text(
                "INSERT INTO users (id, civic_no, given_name, family_name, addresses, "
                "identifiers, status, protected, created_run_id) VALUES ('u-1', '198101012386', "
                "'Karin', 'Holm', '[]', '{}', 'active', false, :run)"
            ),
            {"run": run_id},
        )
    old.dispose()
    directory = Directory(db_url)
    result = directory.sync(EXAMPLE_BUNDLE)  # migrates to the newest schema first
    assert result.status == "applied"
    karin = directory.user("198101012386")
    assert karin["id"] == "u-1" and karin["schools"][0]["role"] == "teacher"
    assert result.changes["users"]["created"] == 13  # Karin was there already


def test_every_migration_from_nothing_builds_what_a_new_directory_gets(db_url: str) -> None:
    """A new directory is made from the code's tables and stamped; a directory made by running
    every migration from the first must be the same schema, to the index and key."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from schoolsync.store import schema as t

    old = Store(db_url, migrate=False)
    try:
        with old.engine.begin() as conn:
            cfg = _alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
        with old.connect() as conn:
            assert list(compare_metadata(MigrationContext.configure(conn), t.metadata)) == []
            inspector = sa.inspect(conn)
            migrated = {
                name: (
                    sorted(
                        (i["name"], tuple(i["column_names"]))
                        for i in inspector.get_indexes(name)
                        if not i.get("duplicates_constraint")  # a unique constraint's, on PG
                    ),
                    sorted(str(k["name"]) for k in inspector.get_foreign_keys(name)),
                    sorted(str(u["name"]) for u in inspector.get_unique_constraints(name)),
                )
                for name in inspector.get_table_names()
            }
    finally:
        old.dispose()
    assert set(migrated) >= {table.name for table in t.metadata.sorted_tables}
    for name, (indexes, keys, uniques) in migrated.items():
        table = t.metadata.tables.get(name)
        if table is None:
            continue  # alembic_version
        assert sorted(str(k.name) for k in table.foreign_key_constraints) == keys, name
        assert sorted((str(i.name), tuple(c.name for c in i.columns)) for i in table.indexes) == [
            x for x in indexes if not x[0].startswith("sqlite_")
        ], name
        assert (
            sorted(str(c.name) for c in table.constraints if isinstance(c, sa.UniqueConstraint))
            == uniques
        ), name
