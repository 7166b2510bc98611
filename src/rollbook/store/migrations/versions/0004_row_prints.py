"""fingerprints of staged rows, and of the rows an entity was last synced from

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("people", "classes"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("sis_print", sa.String(length=96), nullable=True))
    for table, index in (
        ("stage_users", "ix_stage_users_ref"),
        ("stage_classes", "ix_stage_classes_ref"),
    ):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("row_hash", sa.String(length=32), nullable=True))
            batch_op.create_index(index, ["run_id", "sourced_id"], unique=False)
    with op.batch_alter_table("stage_roles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("row_print", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("stage_roles", schema=None) as batch_op:
        batch_op.drop_column("row_print")
    for table, index in (
        ("stage_classes", "ix_stage_classes_ref"),
        ("stage_users", "ix_stage_users_ref"),
    ):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(index)
            batch_op.drop_column("row_hash")
    for table in ("classes", "people"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("sis_print")
