"""Alembic environment: runs on the connection rollbook hands it (see store/db.py)."""

from alembic import context

from rollbook.store import sync_tables  # noqa: F401 - registers the sync's tables
from rollbook.store.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
