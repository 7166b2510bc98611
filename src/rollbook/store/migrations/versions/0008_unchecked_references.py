"""the relation and history tables refer to people, classes, schools and organizations
without foreign-key constraints (`models.refers_to` says why)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column, referred table) of each constraint dropped; named as models.NAMING_CONVENTION.
DROPPED = (
    ("person_schools", "person_id", "people"),
    ("person_schools", "school_id", "schools"),
    ("person_schools", "org_id", "orgs"),
    ("memberships", "class_id", "classes"),
    ("memberships", "person_id", "people"),
    ("memberships", "org_id", "orgs"),
    ("class_products", "class_id", "classes"),
    ("class_products", "org_id", "orgs"),
    ("product_settings", "person_id", "people"),
    ("product_settings", "org_id", "orgs"),
    ("changes", "org_id", "orgs"),
)


def _tables() -> dict[str, list[tuple[str, str]]]:
    tables: dict[str, list[tuple[str, str]]] = {}
    for table, column, referred in DROPPED:
        tables.setdefault(table, []).append((column, referred))
    return tables


def upgrade() -> None:
    # SQLite cannot drop a constraint: batch mode copies each table into a new one.
    for table, columns in _tables().items():
        with op.batch_alter_table(table) as batch:
            for column, referred in columns:
                batch.drop_constraint(f"fk_{table}_{column}_{referred}", type_="foreignkey")


def downgrade() -> None:
    for table, columns in _tables().items():
        with op.batch_alter_table(table) as batch:
            for column, referred in columns:
                batch.create_foreign_key(
                    f"fk_{table}_{column}_{referred}", referred, [column], ["id"]
                )
