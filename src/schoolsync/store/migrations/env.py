"""Alembic environment: runs on the connection schoolsync hands over (no alembic.ini)."""

from __future__ import annotations

from alembic import context

from schoolsync.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reached when alembic is run by hand
    raise SystemExit("Run migrations through schoolsync (they run automatically on first use).")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
