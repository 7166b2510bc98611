"""snapshot fingerprints on runs, and an index of hand changes by time

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("snapshot_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("apply_started_at", sa.DateTime(timezone=True), nullable=True)
        )
    op.create_index(
        "ix_changes_hand",
        "changes",
        ["org_id", "at"],
        unique=False,
        sqlite_where=sa.text("run_id IS NULL"),
        postgresql_where=sa.text("run_id IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_changes_hand", table_name="changes")
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.drop_column("apply_started_at")
        batch_op.drop_column("snapshot_hash")
