"""The migrations build exactly the schema the models describe, and the whole chain goes down
to nothing and up again (every revision's downgrade works)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from storage.db import make_engine
from storage.migrations import alembic_config
from storage.models import Base


def test_the_migrated_schema_equals_the_models(db_engine: Engine) -> None:
    with db_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_every_migration_downgrades_and_upgrades_again(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'chain.db'}")
    config = alembic_config(engine)
    expected = {table.name for table in Base.metadata.sorted_tables}

    command.upgrade(config, "head")
    assert set(inspect(engine).get_table_names()) >= expected
    command.downgrade(config, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    command.upgrade(config, "head")
    assert set(inspect(engine).get_table_names()) >= expected
    engine.dispose()
