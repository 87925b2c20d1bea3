"""Migration 0008 builds exactly the schema the models describe (SQLite and PostgreSQL)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine

from storage.models import Base
from tests.integration.test_config_schema import _tables_of

ISSUE_7_TABLES = {"reminder_sent", "scheduler_lease", "notice_mute"}


def test_the_migrated_reminder_tables_equal_the_models(db_engine: Engine) -> None:
    with db_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
        names = set(db_engine.dialect.get_table_names(connection))

    assert [change for change in diff if _tables_of(change) & ISSUE_7_TABLES] == []
    assert names >= ISSUE_7_TABLES
