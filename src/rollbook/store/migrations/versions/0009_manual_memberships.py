"""the hand-made memberships, by a small partial index

A run that sends a membership made by hand makes it the SIS's (R15); finding those read every
membership of the organization (five million in the largest districts) for its source.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BY_HAND = sa.text("source = 'manual'")


def upgrade() -> None:
    op.create_index(
        "ix_memberships_manual",
        "memberships",
        ["class_id", "person_id"],
        sqlite_where=BY_HAND,
        postgresql_where=BY_HAND,
    )


def downgrade() -> None:
    op.drop_index("ix_memberships_manual", table_name="memberships")
