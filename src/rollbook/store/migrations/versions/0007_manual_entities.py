"""the hand-made people and classes of an organization, by a small partial index

Counting an organization's active `sis` people or classes (R20's threshold, at every sync)
read each row of a million-person organization for its origin; counted as all active ones
less the hand-made ones, both come from indexes alone.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MANUAL = sa.text("origin = 'manual'")


def upgrade() -> None:
    op.create_index(
        "ix_people_manual",
        "people",
        ["org_id", "kind", "status"],
        sqlite_where=MANUAL,
        postgresql_where=MANUAL,
    )
    op.create_index(
        "ix_classes_manual",
        "classes",
        ["org_id", "status"],
        sqlite_where=MANUAL,
        postgresql_where=MANUAL,
    )


def downgrade() -> None:
    op.drop_index("ix_classes_manual", table_name="classes")
    op.drop_index("ix_people_manual", table_name="people")
