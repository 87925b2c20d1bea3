"""The migrations build exactly the schema the models describe, and the whole chain goes down
to nothing and up again (every revision's downgrade works)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, create_engine, inspect, text

from services.fiscal_ingest import IncomingFile, ingest
from services.types import UnitOfWorkFactory
from storage.db import make_engine
from storage.migrations import alembic_config
from storage.models import Base
from tests.integration.fiscal_support import client_with_documento
from tests.support import make_office
from tests.unit.fiscal_chat.factory import EMITENTE_CNPJ, NotaSpec, nfe_proc_xml

MANAUS = timezone(timedelta(hours=-4))


# SQLite cannot reflect an index on an expression (ix_client_gestor_teste): compared on PostgreSQL.
@pytest.mark.filterwarnings("ignore:.*expression-based index")
def test_the_migrated_schema_equals_the_models(db_engine: Engine) -> None:
    with db_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_the_migrated_indexes_and_constraints_are_the_models_to_the_letter(
    db_engine: Engine, tmp_path: Path
) -> None:
    """What compare_metadata does not look at: a partial index's WHERE (the outbox's, the
    jobs', the claims' indexes are partial: a predicate that drifted would leave a query
    without its index), an index's method and expressions, a key's ON DELETE. The database's
    own definition of each, as the migrations built it and as the models build it."""
    with _built_from_the_models(db_engine, tmp_path) as models:
        migrated = _definitions(db_engine)
        assert any(" WHERE " in definition for definition in migrated.values())
        assert migrated == _definitions(models)


@contextmanager
def _built_from_the_models(engine: Engine, tmp_path: Path) -> Iterator[Engine]:
    """An empty database of the same kind, built by create_all; dropped afterwards."""
    if engine.dialect.name == "sqlite":
        url = f"sqlite:///{tmp_path / 'models.db'}"
    else:
        name = f"{engine.url.database}_models"
        admin = create_engine(engine.url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        url = engine.url.set(database=name).render_as_string(hide_password=False)
    models = make_engine(url)
    try:
        Base.metadata.create_all(models)
        yield models
    finally:
        models.dispose()
        if engine.dialect.name != "sqlite":
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


def _definitions(engine: Engine) -> dict[str, str]:
    """Each index (and on PostgreSQL each constraint) by name, as the database states it."""
    if engine.dialect.name == "sqlite":
        statement = (
            "SELECT 'index ' || name, sql FROM sqlite_master WHERE type = 'index' "
            "AND sql IS NOT NULL"  # (an index a UNIQUE makes has no text of its own)
        )
    else:
        statement = (
            "SELECT 'index ' || indexname, indexdef FROM pg_indexes "
            "WHERE schemaname = 'public' AND tablename <> 'alembic_version' "
            "UNION ALL SELECT 'constraint ' || conrelid::regclass::text || '.' || conname, "
            "pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE connamespace = 'public'::regnamespace "
            "AND conrelid::regclass::text <> 'alembic_version'"
        )
    with engine.connect() as connection:
        return {name: " ".join(sql.split()) for name, sql in connection.execute(text(statement))}


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


def test_the_competencia_migration_files_each_note_under_the_month_it_says(
    db_engine: Engine, uow_factory: UnitOfWorkFactory
) -> None:
    """Rows stored under the São Paulo month are moved to the note's own month, and the
    offset of their dhEmi is read back from the stored XML."""
    office = make_office(uow_factory, 1)
    client = client_with_documento(uow_factory, office.gestor, EMITENTE_CNPJ, "Manaus Ltda")
    manaus = NotaSpec(numero=1, dh_emi=datetime(2026, 11, 30, 23, 30, tzinfo=MANAUS), c_uf=13)
    ingest(
        uow_factory(),
        _Target(client.id, EMITENTE_CNPJ),
        [IncomingFile("am.xml", nfe_proc_xml(manaus))],
        via="test",
    )
    with db_engine.begin() as connection:  # as the previous version stored it
        connection.execute(
            text("UPDATE fiscal_document SET competencia = '2026-12', emitida_offset_min = NULL")
        )
    config = alembic_config(db_engine)

    command.downgrade(config, "0009")
    command.upgrade(config, "head")

    with db_engine.connect() as connection:
        row = connection.execute(
            text("SELECT competencia, emitida_offset_min FROM fiscal_document")
        ).one()
    assert tuple(row) == ("2026-11", -240)


class _Target:
    def __init__(self, client_id: int, documento: str) -> None:
        self.client_id = client_id
        self.documento = documento
