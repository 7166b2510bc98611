"""sync runs and staging

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sync_members",
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("class_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("role", sa.String(length=8), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "class_id", "person_id", name=op.f("pk_sync_members")),
    )
    op.create_table(
        "sync_products",
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("class_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("product", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "class_id", "product", name=op.f("pk_sync_products")),
    )

    op.create_table(
        "stage_class_resources",
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("class_sourced_id", sa.String(length=255), nullable=False),
        sa.Column("resource_sourced_id", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint("run_id", "line", name=op.f("pk_stage_class_resources")),
    )
    op.create_table(
        "stage_classes",
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("sourced_id", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=True),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("class_code", sa.String(length=255), nullable=True),
        sa.Column("school_ref", sa.String(length=255), nullable=False),
        sa.Column("grades", sa.Text(), nullable=False),
        sa.Column("subjects", sa.Text(), nullable=False),
        sa.Column("periods", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "line", name=op.f("pk_stage_classes")),
    )
    op.create_table(
        "stage_enrollments",
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("class_sourced_id", sa.String(length=255), nullable=False),
        sa.Column("user_sourced_id", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint("run_id", "line", name=op.f("pk_stage_enrollments")),
    )
    op.create_table(
        "stage_orgs",
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("sourced_id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("identifier", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint("run_id", "line", name=op.f("pk_stage_orgs")),
    )
    op.create_table(
        "stage_resources",
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("sourced_id", sa.String(length=255), nullable=False),
        sa.Column("vendor_resource_id", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint("run_id", "line", name=op.f("pk_stage_resources")),
    )
    op.create_table(
        "stage_roles",
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("user_sourced_id", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=40), nullable=False),
        sa.Column("role_type", sa.String(length=16), nullable=True),
        sa.Column("org_sourced_id", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint("run_id", "line", name=op.f("pk_stage_roles")),
    )
    with op.batch_alter_table("stage_roles", schema=None) as batch_op:
        batch_op.create_index("ix_stage_roles_user", ["run_id", "user_sourced_id"], unique=False)

    op.create_table(
        "stage_skipped",
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("file", sa.String(length=32), nullable=False),
        sa.Column("sourced_id", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "file", "sourced_id", name=op.f("pk_stage_skipped")),
    )
    op.create_table(
        "stage_users",
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("sourced_id", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("username", sa.String(length=255), nullable=False),
        sa.Column("username_key", sa.String(length=255), nullable=False),
        sa.Column("identifier", sa.String(length=255), nullable=True),
        sa.Column("given_name", sa.String(length=255), nullable=False),
        sa.Column("family_name", sa.String(length=255), nullable=False),
        sa.Column("middle_name", sa.String(length=255), nullable=True),
        sa.Column("preferred_given_name", sa.String(length=255), nullable=True),
        sa.Column("email", sa.String(length=255), nullable=True),
        sa.Column("grade", sa.String(length=8), nullable=True),
        sa.Column("role", sa.String(length=40), nullable=True),
        sa.Column("org_refs", sa.Text(), nullable=False),
        sa.Column("settings", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "line", name=op.f("pk_stage_users")),
    )
    op.create_table(
        "sync_keys",
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("sourced_id", sa.String(length=255), nullable=False),
        sa.Column("entity_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "kind", "sourced_id", name=op.f("pk_sync_keys")),
    )
    with op.batch_alter_table("sync_keys", schema=None) as batch_op:
        batch_op.create_index("ix_sync_keys_entity", ["run_id", "kind", "entity_id"], unique=False)

    op.create_table(
        "sync_locks",
        sa.Column("org_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("holder", sa.String(length=255), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_sync_locks_org_id_orgs")),
        sa.PrimaryKeyConstraint("org_id", name=op.f("pk_sync_locks")),
    )
    op.create_table(
        "sync_runs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("org_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("would_need_approval", sa.Boolean(), nullable=False),
        sa.Column("mode", sa.String(length=8), nullable=True),
        sa.Column("oneroster_version", sa.String(length=8), nullable=True),
        sa.Column("source", sa.String(length=1024), nullable=False),
        sa.Column("actor_kind", sa.String(length=8), nullable=False),
        sa.Column("actor_id", sa.String(length=64), nullable=False),
        sa.Column("actor_name", sa.String(length=255), nullable=False),
        sa.Column("counts", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("phase", sa.String(length=32), nullable=True),
        sa.Column(
            "stage_issue_max", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_sync_runs_org_id_orgs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_runs")),
    )
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.create_index("ix_sync_runs_org", ["org_id", "id"], unique=False)

    op.create_table(
        "sync_conflicts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("org_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("sourced_id", sa.String(length=255), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=True),
        sa.Column("value", sa.String(length=255), nullable=True),
        sa.Column("candidates", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_sync_conflicts_org_id_orgs")
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["sync_runs.id"], name=op.f("fk_sync_conflicts_run_id_sync_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_conflicts")),
    )
    with op.batch_alter_table("sync_conflicts", schema=None) as batch_op:
        batch_op.create_index("ix_sync_conflicts_run", ["run_id", "id"], unique=False)

    op.create_table(
        "sync_issues",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("org_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("file", sa.String(length=255), nullable=False),
        sa.Column("line", sa.Integer(), nullable=True),
        sa.Column("column", sa.String(length=255), nullable=True),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("sourced_id", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_sync_issues_org_id_orgs")),
        sa.ForeignKeyConstraint(
            ["run_id"], ["sync_runs.id"], name=op.f("fk_sync_issues_run_id_sync_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_issues")),
    )
    with op.batch_alter_table("sync_issues", schema=None) as batch_op:
        batch_op.create_index("ix_sync_issues_run", ["run_id", "severity", "id"], unique=False)

    with op.batch_alter_table("changes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("entity_ref", sa.String(length=255), nullable=True))
        batch_op.add_column(
            sa.Column("preview", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.alter_column(
            "entity_id",
            existing_type=sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        )


def downgrade() -> None:
    op.drop_table("sync_products")
    op.drop_table("sync_members")
    with op.batch_alter_table("changes", schema=None) as batch_op:
        batch_op.alter_column(
            "entity_id",
            existing_type=sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        )
        batch_op.drop_column("preview")
        batch_op.drop_column("entity_ref")

    with op.batch_alter_table("sync_issues", schema=None) as batch_op:
        batch_op.drop_index("ix_sync_issues_run")

    op.drop_table("sync_issues")
    with op.batch_alter_table("sync_conflicts", schema=None) as batch_op:
        batch_op.drop_index("ix_sync_conflicts_run")

    op.drop_table("sync_conflicts")
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_sync_runs_org")

    op.drop_table("sync_runs")
    op.drop_table("sync_locks")
    with op.batch_alter_table("sync_keys", schema=None) as batch_op:
        batch_op.drop_index("ix_sync_keys_entity")

    op.drop_table("sync_keys")
    op.drop_table("stage_users")
    op.drop_table("stage_skipped")
    with op.batch_alter_table("stage_roles", schema=None) as batch_op:
        batch_op.drop_index("ix_stage_roles_user")

    op.drop_table("stage_roles")
    op.drop_table("stage_resources")
    op.drop_table("stage_orgs")
    op.drop_table("stage_enrollments")
    op.drop_table("stage_classes")
    op.drop_table("stage_class_resources")
