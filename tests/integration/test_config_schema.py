"""Migration 0005 builds exactly the schema the models describe (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine

from storage.models import Base

ISSUE_4_TABLES = {"certificate", "access_link"}


def _tables_of(change: Any) -> set[str]:
    """Every table a diff entry mentions (entries are tuples, or lists of tuples)."""
    items = change if isinstance(change, list) else [change]
    found: set[str] = set()
    for item in items:
        for part in item[1:] if isinstance(item, tuple) else ():
            table = getattr(part, "table", None)
            if table is not None:
                found.add(str(table.name))
            elif isinstance(part, str):
                found.add(part)
            elif getattr(part, "name", None):
                found.add(str(part.name))
    return found


def test_the_migrated_certificate_and_access_link_tables_equal_the_models(
    db_engine: Engine,
) -> None:
    with db_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)

    assert [change for change in diff if _tables_of(change) & ISSUE_4_TABLES] == []
    with db_engine.connect() as connection:
        names = set(db_engine.dialect.get_table_names(connection))
    assert names >= ISSUE_4_TABLES
