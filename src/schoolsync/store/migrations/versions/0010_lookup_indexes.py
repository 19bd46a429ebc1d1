"""Indexes for looking up a class or group by name and a teacher by signature (troubleshooting,
and the issues a page shows by school).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_groups_name", "groups", ["name"])
    op.create_index("ix_users_signature", "users", ["signature"])
    op.create_index("ix_user_schools_signature", "user_schools", ["signature"])


def downgrade() -> None:
    op.drop_index("ix_user_schools_signature", table_name="user_schools")
    op.drop_index("ix_users_signature", table_name="users")
    op.drop_index("ix_groups_name", table_name="groups")
