"""Dated lessons from the schedule, tied to groups (or kept untied, with the reason).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lessons",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("source", sa.String(length=120), nullable=False),
        sa.Column("source_key", sa.String(length=400), nullable=False),
        sa.Column("school_id", sa.String(length=36), nullable=True),
        sa.Column("group_name", sa.String(length=300), nullable=False),
        sa.Column("group_id", sa.String(length=36), nullable=True),
        sa.Column("class_id", sa.String(length=36), nullable=True),
        sa.Column("subject", sa.String(length=50), nullable=True),
        sa.Column("teachers", sa.JSON(), nullable=False),
        sa.Column("start", sa.DateTime(), nullable=False),
        sa.Column("end", sa.DateTime(), nullable=False),
        sa.Column("room", sa.String(length=200), nullable=True),
        sa.Column("cancelled", sa.Boolean(), nullable=False),
        sa.Column("removed", sa.Boolean(), nullable=False),
        sa.Column("problem", sa.String(length=60), nullable=True),
        sa.Column("created_run_id", sa.Integer(), nullable=True),
        sa.Column("updated_run_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["class_id"], ["groups.id"], name=op.f("fk_lessons_class_id_groups")
        ),
        sa.ForeignKeyConstraint(
            ["created_run_id"], ["runs.id"], name=op.f("fk_lessons_created_run_id_runs")
        ),
        sa.ForeignKeyConstraint(
            ["group_id"], ["groups.id"], name=op.f("fk_lessons_group_id_groups")
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_lessons_school_id_schools")
        ),
        sa.ForeignKeyConstraint(
            ["updated_run_id"], ["runs.id"], name=op.f("fk_lessons_updated_run_id_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lessons")),
        sa.UniqueConstraint("source", "source_key", name="uq_lessons_source_key"),
    )
    op.create_index(op.f("ix_lessons_group_id"), "lessons", ["group_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_lessons_group_id"), table_name="lessons")
    op.drop_table("lessons")
