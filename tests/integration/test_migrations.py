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
