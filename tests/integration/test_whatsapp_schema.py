"""Migration 0009 builds exactly the WhatsApp tables the models describe (SQLite and
PostgreSQL), and its downgrade removes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from services.types import UnitOfWorkFactory
from storage.db import make_engine
from storage.migrations import alembic_config
from storage.models import Base
from storage.whatsapp import StatusRow

TABLES = {"whatsapp_status", "whatsapp_user", "whatsapp_raw_update", "whatsapp_window"}


def test_the_migrated_whatsapp_tables_equal_the_models(db_engine: Engine) -> None:
    with db_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = list(compare_metadata(context, Base.metadata))
    assert [change for change in diff if any(t in str(change) for t in TABLES)] == []
    assert set(inspect(db_engine).get_table_names()) >= TABLES


def test_the_whatsapp_migration_downgrades_and_upgrades_again(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    config = alembic_config(engine)
    command.upgrade(config, "0009")
    assert set(inspect(engine).get_table_names()) >= TABLES
    command.downgrade(config, "0008")
    assert not TABLES & set(inspect(engine).get_table_names())
    command.upgrade(config, "0009")
    assert set(inspect(engine).get_table_names()) >= TABLES
    engine.dispose()


def test_a_status_stored_twice_is_kept_once(uow_factory: UnitOfWorkFactory) -> None:
    now = datetime.now(UTC)
    row = StatusRow("wamid.A", "delivered", "5511987654321", now, None)
    uow = uow_factory()
    with uow:
        assert uow.whatsapp.record_statuses([row], now) == 1
        assert uow.whatsapp.record_statuses([row], now) == 0
        uow.commit()
    with uow_factory() as again:
        assert again.whatsapp.statuses_of("wamid.A") == ["delivered"]


def test_the_window_keeps_the_latest_message_time(uow_factory: UnitOfWorkFactory) -> None:
    now = datetime.now(UTC)
    uow = uow_factory()
    with uow:
        uow.whatsapp.touch_window("wa:BR.1", now)
        uow.whatsapp.touch_window("wa:BR.1", now - timedelta(hours=3))
        uow.commit()
    with uow_factory() as again:
        assert again.whatsapp.last_inbound_at("wa:BR.1") == now
        assert again.whatsapp.last_inbound_at("wa:BR.2") is None
