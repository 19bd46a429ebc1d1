"""A digest of each lesson's values, so a re-sync compares one number per lesson.

``lessons.digest`` is a 64-bit digest of what the planner compares (the lesson's school, group,
class, subject, teachers, times, room and flags). Lessons written before it have none: the next
run that reads their schedule compares them in full and gives them theirs.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("lessons", sa.Column("digest", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("lessons") as batch:
        batch.drop_column("digest")
