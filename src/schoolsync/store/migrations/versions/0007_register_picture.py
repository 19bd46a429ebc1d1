"""The stored picture of a register read over its SS 12000 API, for incremental reads.

``register_sources`` (one row per API: when its last full read began, what the reads were asked
for, since when it has been found not to offer ``/deletedEntities``), ``register_reads`` (per
endpoint: where its last complete read began, and for calendarEvents the days it covered) and
``register_records`` (every record as served).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "register_sources",
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("full_read_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("deletions_unavailable_since", sa.Date(), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_register_sources_run_id_runs")
        ),
        sa.PrimaryKeyConstraint("source", name=op.f("pk_register_sources")),
    )
    op.create_table(
        "register_reads",
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("endpoint", sa.String(length=40), nullable=False),
        sa.Column("read_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("calendar_from", sa.Date(), nullable=True),
        sa.Column("calendar_to", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("source", "endpoint", name=op.f("pk_register_reads")),
    )
    op.create_table(
        "register_records",
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("endpoint", sa.String(length=40), nullable=False),
        sa.Column("record_id", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint(
            "source", "endpoint", "record_id", name=op.f("pk_register_records")
        ),
    )


def downgrade() -> None:
    op.drop_table("register_records")
    op.drop_table("register_reads")
    op.drop_table("register_sources")
