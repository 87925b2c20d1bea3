"""Migration 0006 builds exactly the schema the models describe (SQLite and PostgreSQL), and
its downgrade removes it."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from storage.db import make_engine
from storage.migrations import alembic_config
from storage.models import Base

ISSUE_5_TABLES = {"contracting_link", "sign_up"}


def _diff(engine: Engine) -> list[object]:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


def test_the_migrated_link_tables_equal_the_models(db_engine: Engine) -> None:
    mine = [change for change in _diff(db_engine) if any(t in str(change) for t in ISSUE_5_TABLES)]

    assert mine == []
    inspector = inspect(db_engine)
    assert set(inspector.get_table_names()) >= ISSUE_5_TABLES
    uniques = {
        tuple(u["column_names"]) for u in inspector.get_unique_constraints("contracting_link")
    }
    assert {("token_hash",), ("client_id",)} <= uniques


def test_the_link_migration_downgrades_and_upgrades_again(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    config = alembic_config(engine)
    command.upgrade(config, "0006")
    assert set(inspect(engine).get_table_names()) >= ISSUE_5_TABLES

    command.downgrade(config, "0005")
    assert not ISSUE_5_TABLES & set(inspect(engine).get_table_names())
    command.upgrade(config, "0006")
    assert set(inspect(engine).get_table_names()) >= ISSUE_5_TABLES
    engine.dispose()
