"""The directory's first tables: runs, change log, issues, schools, units, users, links, guardians.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("today", sa.Date(), nullable=False),
        sa.Column("who", sa.String(length=200), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runs")),
    )
    op.create_table(
        "changes",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("entity", sa.String(length=20), nullable=False),
        sa.Column("entity_id", sa.String(length=36), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_changes_run_id_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_changes")),
    )
    op.create_index(op.f("ix_changes_entity_id"), "changes", ["entity_id"], unique=False)
    op.create_index(op.f("ix_changes_run_id"), "changes", ["run_id"], unique=False)
    op.create_table(
        "run_issues",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("rule", sa.String(length=10), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_run_issues_run_id_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_run_issues")),
    )
    op.create_index(op.f("ix_run_issues_run_id"), "run_issues", ["run_id"], unique=False)
    op.create_table(
        "schools",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("created_run_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_run_id"], ["runs.id"], name=op.f("fk_schools_created_run_id_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schools")),
        sa.UniqueConstraint("key", name=op.f("uq_schools_key")),
        sa.UniqueConstraint("name", name=op.f("uq_schools_name")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("civic_no", sa.String(length=12), nullable=False),
        sa.Column("register_id", sa.String(length=100), nullable=True),
        sa.Column("given_name", sa.String(length=200), nullable=False),
        sa.Column("middle_name", sa.String(length=200), nullable=True),
        sa.Column("family_name", sa.String(length=200), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("sex", sa.String(length=10), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("mobile", sa.String(length=50), nullable=True),
        sa.Column("addresses", sa.JSON(), nullable=False),
        sa.Column("identifiers", sa.JSON(), nullable=False),
        sa.Column("signature", sa.String(length=50), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("protected", sa.Boolean(), nullable=False),
        sa.Column("created_run_id", sa.Integer(), nullable=True),
        sa.Column("updated_run_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_run_id"], ["runs.id"], name=op.f("fk_users_created_run_id_runs")
        ),
        sa.ForeignKeyConstraint(
            ["updated_run_id"], ["runs.id"], name=op.f("fk_users_updated_run_id_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("civic_no", name=op.f("uq_users_civic_no")),
    )
    op.create_index("ix_users_family_given", "users", ["family_name", "given_name"], unique=False)
    op.create_index(op.f("ix_users_register_id"), "users", ["register_id"], unique=False)
    op.create_table(
        "guardianships",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("guardian_id", sa.String(length=36), nullable=False),
        sa.Column("student_id", sa.String(length=36), nullable=False),
        sa.Column("relation", sa.String(length=30), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("created_run_id", sa.Integer(), nullable=True),
        sa.Column("updated_run_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_run_id"], ["runs.id"], name=op.f("fk_guardianships_created_run_id_runs")
        ),
        sa.ForeignKeyConstraint(
            ["guardian_id"], ["users.id"], name=op.f("fk_guardianships_guardian_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["student_id"], ["users.id"], name=op.f("fk_guardianships_student_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["updated_run_id"], ["runs.id"], name=op.f("fk_guardianships_updated_run_id_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guardianships")),
        sa.UniqueConstraint("guardian_id", "student_id", name="uq_guardianships_guardian_student"),
    )
    op.create_index(
        op.f("ix_guardianships_student_id"), "guardianships", ["student_id"], unique=False
    )
    op.create_table(
        "school_units",
        sa.Column("register_id", sa.String(length=100), nullable=False),
        sa.Column("school_id", sa.String(length=36), nullable=False),
        sa.Column("code", sa.String(length=50), nullable=True),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("school_types", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_school_units_school_id_schools")
        ),
        sa.PrimaryKeyConstraint("register_id", name=op.f("pk_school_units")),
    )
    op.create_index(op.f("ix_school_units_school_id"), "school_units", ["school_id"], unique=False)
    op.create_table(
        "user_schools",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("school_id", sa.String(length=36), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("signature", sa.String(length=50), nullable=True),
        sa.Column("created_run_id", sa.Integer(), nullable=True),
        sa.Column("updated_run_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_run_id"], ["runs.id"], name=op.f("fk_user_schools_created_run_id_runs")
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_user_schools_school_id_schools")
        ),
        sa.ForeignKeyConstraint(
            ["updated_run_id"], ["runs.id"], name=op.f("fk_user_schools_updated_run_id_runs")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_schools_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_schools")),
        sa.UniqueConstraint(
            "user_id", "school_id", "role", name="uq_user_schools_user_school_role"
        ),
    )
    op.create_index(op.f("ix_user_schools_school_id"), "user_schools", ["school_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_user_schools_school_id"), table_name="user_schools")
    op.drop_table("user_schools")
    op.drop_index(op.f("ix_school_units_school_id"), table_name="school_units")
    op.drop_table("school_units")
    op.drop_index(op.f("ix_guardianships_student_id"), table_name="guardianships")
    op.drop_table("guardianships")
    op.drop_index(op.f("ix_users_register_id"), table_name="users")
    op.drop_index("ix_users_family_given", table_name="users")
    op.drop_table("users")
    op.drop_table("schools")
    op.drop_index(op.f("ix_run_issues_run_id"), table_name="run_issues")
    op.drop_table("run_issues")
    op.drop_index(op.f("ix_changes_run_id"), table_name="changes")
    op.drop_index(op.f("ix_changes_entity_id"), table_name="changes")
    op.drop_table("changes")
    op.drop_table("runs")
