"""search keys compared byte by byte, and indexes for prefix search by first name and username

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEYS = (
    ("people", "username_key", 255),
    ("people", "sort_key", 520),
    ("people", "first_key", 255),
    ("classes", "name_key", 255),
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # SQLite compares text byte by byte already (BINARY).
        for table, column, length in KEYS:
            op.execute(
                f'ALTER TABLE {table} ALTER COLUMN {column} TYPE varchar({length}) COLLATE "C"'
            )
    op.create_index(
        "ix_people_first", "people", ["org_id", "kind", "status", "first_key", "sort_key", "id"]
    )
    op.create_index(
        "ix_people_username",
        "people",
        ["org_id", "kind", "status", "username_key", "sort_key", "id"],
    )


def downgrade() -> None:
    op.drop_index("ix_people_username", table_name="people")
    op.drop_index("ix_people_first", table_name="people")
    if op.get_bind().dialect.name == "postgresql":
        for table, column, length in KEYS:
            op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE varchar({length})")
