"""The Alembic migrations build exactly the tables the models declare, on both backends."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from rollbook.store import sync_tables  # noqa: F401 - registers the sync's tables
from rollbook.store.db import (
    Database,
    alembic_config,
    current_revision,
    head_revision,
    make_engine,
    migrate,
)
from rollbook.store.models import Base


def test_migrated_schema_matches_the_models(db: Database) -> None:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_migrating_again_is_harmless(db: Database) -> None:
    db.migrate()
    with db.engine.connect() as connection:
        revision = MigrationContext.configure(connection).get_current_revision()
    assert revision is not None and revision.isdigit()


def test_the_head_revision_is_read_from_the_file_names_as_alembic_reads_it() -> None:
    scripts = ScriptDirectory.from_config(alembic_config())
    assert head_revision() == scripts.get_current_head()


def test_a_database_behind_the_newest_migration_is_brought_up_to_it(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        assert current_revision(engine) is None
        migrate(engine)
        assert current_revision(engine) == head_revision()
        config = alembic_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "-1")
        behind = current_revision(engine)
        assert behind is not None and behind != head_revision()
        migrate(engine)
        assert current_revision(engine) == head_revision()
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()
