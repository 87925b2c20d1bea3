"""Migration 0007 builds exactly the schema the models describe (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from storage.models import Base

ISSUE_6_TABLES = {"fatura", "fatura_item", "gestor"}
GESTOR_COLUMNS = {"password_hash", "password_changed_at", "failed_logins", "locked_until"}


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


def test_the_migrated_fatura_tables_and_gestor_columns_equal_the_models(
    db_engine: Engine,
) -> None:
    with db_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)

    assert [change for change in diff if _tables_of(change) & ISSUE_6_TABLES] == []
    inspector = inspect(db_engine)
    assert {"fatura", "fatura_item"} <= set(inspector.get_table_names())
    columns = {c["name"] for c in inspector.get_columns("gestor")}
    assert GESTOR_COLUMNS | {"payment_method"} <= columns
    uniques = {tuple(u["column_names"]) for u in inspector.get_unique_constraints("fatura")}
    assert ("gestor_id", "competencia") in uniques
