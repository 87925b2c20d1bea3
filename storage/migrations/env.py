"""Alembic environment: the engine comes from `config.attributes` (see storage.migrations).

Several instances may start at once on a fresh database: the migrations run under a lock, so
one process builds the schema and the others, once they get the lock, find it at head. On
PostgreSQL the lock is an advisory lock held by the migration transaction itself; on SQLite a
file lock beside the database (its writers already queue at BEGIN IMMEDIATE, the lock keeps the
order plain).
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path

from alembic import context
from sqlalchemy import Connection, text

from storage.db import lock_key
from storage.models import Base

config = context.config
engine = config.attributes["engine"]
MIGRATION_LOCK = "revendabot:migrations"


@contextlib.contextmanager
def _sqlite_file_lock(database: str | None) -> Iterator[None]:
    if not database or database == ":memory:" or database.startswith("file:"):
        yield
        return
    with open(Path(f"{database}.migrate.lock"), "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _lock_in_transaction(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(
            text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key(MIGRATION_LOCK)}
        )


sqlite_file = engine.url.database if engine.dialect.name == "sqlite" else None
with _sqlite_file_lock(sqlite_file), engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        _lock_in_transaction(connection)
        context.run_migrations()
    connection.commit()
