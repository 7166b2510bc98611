"""the list's index holds both search keys

A search arm reading a common prefix of first names or usernames ("a": 112,975 of a million
students) reads people in name order until its page is full, and with both keys in the list's
index it reads that index alone, not a row of the table for each person it passes.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BEFORE = ["org_id", "kind", "status", "sort_key", "id"]


def upgrade() -> None:
    op.drop_index("ix_people_list", table_name="people")
    op.create_index("ix_people_list", "people", [*BEFORE, "first_key", "username_key"])


def downgrade() -> None:
    op.drop_index("ix_people_list", table_name="people")
    op.create_index("ix_people_list", "people", BEFORE)
