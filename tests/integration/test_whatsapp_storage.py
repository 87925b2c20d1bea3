"""The WhatsApp tables' own rules (statuses kept once, the 24-hour window); the migration
itself is covered by tests/integration/test_schema.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.types import UnitOfWorkFactory
from storage.whatsapp import StatusRow

TABLES = {"whatsapp_status", "whatsapp_user", "whatsapp_raw_update", "whatsapp_window"}


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
