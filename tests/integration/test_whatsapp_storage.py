"""The WhatsApp tables' own rules (statuses kept once, the 24-hour window); the migration
itself is covered by tests/integration/test_schema.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import event

from bot.app import App
from services import outbox
from services.conversation import enqueue_to
from services.messages import Text
from services.outbox import Delivered
from services.types import UnitOfWorkFactory
from storage.whatsapp import StatusRow
from tests.support import query_plan

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


def test_a_status_finds_its_message_by_the_index_of_the_delivered_ones(app: App) -> None:
    """The index holds only the rows that have an external ref (a message not yet delivered
    has none): the wamid lookup still takes it, on both backends."""
    now = datetime.now(UTC)
    with app.uow_factory() as uow:
        enqueue_to(uow, "whatsapp", "wa:BR.1", "5511987654321", [Text("oi")], now)
        uow.commit()
    [claimed] = outbox.claim(app.uow_factory)
    outbox.record(app.uow_factory, [Delivered(claimed.id, "wamid.OUT1")])
    seen: list[tuple[str, object]] = []

    def capture(_conn: object, _cursor: object, sql: str, params: object, *_: object) -> None:
        if "external_ref" in sql and sql.lstrip().upper().startswith("SELECT"):
            seen.append((sql, params))

    event.listen(app.db, "before_cursor_execute", capture)
    try:
        with app.uow_factory() as uow:
            assert uow.whatsapp.retry_as_template("wamid.OUT1", "131047", now) == "retry"
            uow.rollback()
    finally:
        event.remove(app.db, "before_cursor_execute", capture)
    [(sql, params)] = seen
    plan = query_plan(app.uow_factory, sql, params)
    assert "ix_outbox_external_ref" in plan
