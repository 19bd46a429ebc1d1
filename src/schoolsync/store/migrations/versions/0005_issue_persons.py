"""Which register persons an issue concerns, and a class or group renamed in the directory first.

``run_issue_persons`` ties an issue to the register ids of the persons it is about, so that when a
person becomes protected (R11) every issue about them is scrubbed, whatever name it used.
``groups.register_name`` is what the register still calls a class or group that an administrator
renamed in the directory first (R5.3): the directory's name holds until the register catches up.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "run_issue_persons",
        sa.Column("issue_id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), nullable=False),
        sa.Column("register_id", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["issue_id"], ["run_issues.id"], name=op.f("fk_run_issue_persons_issue_id_run_issues")
        ),
    )
    op.create_index(op.f("ix_run_issue_persons_register_id"), "run_issue_persons", ["register_id"])
    op.create_index(op.f("ix_run_issue_persons_issue_id"), "run_issue_persons", ["issue_id"])
    with op.batch_alter_table("groups") as batch:
        batch.add_column(sa.Column("register_name", sa.String(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("groups") as batch:
        batch.drop_column("register_name")
    op.drop_index(op.f("ix_run_issue_persons_issue_id"), table_name="run_issue_persons")
    op.drop_index(op.f("ix_run_issue_persons_register_id"), table_name="run_issue_persons")
    op.drop_table("run_issue_persons")
