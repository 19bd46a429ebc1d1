"""Users merged into another account by ``schoolsync user merge`` point at the account kept.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("merged_into", sa.String(length=36), nullable=True))
        batch.create_foreign_key(
            op.f("fk_users_merged_into_users"), "users", ["merged_into"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint(op.f("fk_users_merged_into_users"), type_="foreignkey")
        batch.drop_column("merged_into")
