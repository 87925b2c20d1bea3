"""A message that carries a secret (the one-time integration key, a contracting link) is kept
in the outbox only until it is delivered or given up on; then the row says "[redacted]"."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from handlers import texts
from services import outbox
from services.conversation import enqueue_to
from services.messages import Text
from services.types import UnitOfWorkFactory
from storage.models import OutboxMessage
from tests.support import Chat, Office, make_office
from tests.unit.helpers import open_cadastro, walk_to

SECRET = "rvb_segredo_de_teste_123"


def payloads(uow_factory: UnitOfWorkFactory) -> list[tuple[str, dict[str, object]]]:
    uow = uow_factory()
    with uow:
        rows = uow.session.execute(
            select(OutboxMessage.status, OutboxMessage.payload).order_by(OutboxMessage.id)
        ).all()
    return [(status, payload) for status, payload in rows]


def deliver_all(uow_factory: UnitOfWorkFactory, *, fail: bool = False) -> None:
    claimed = outbox.claim(uow_factory, limit=100)
    fates: list[outbox.Fate] = [
        outbox.Failed(m.id, "bloqueado") if fail else outbox.Delivered(m.id, str(m.id))
        for m in claimed
    ]
    outbox.record(uow_factory, fates)


def test_a_sensitive_message_is_redacted_once_delivered_and_the_others_are_kept(
    uow_factory: UnitOfWorkFactory,
) -> None:
    uow = uow_factory()
    with uow:
        messages = [Text(f"Sua chave: {SECRET}", sensitive=True), Text("Cliente cadastrado.")]
        enqueue_to(uow, "telegram", "tg:1", "1", messages, datetime.now(UTC))
        uow.commit()
    assert SECRET in str(payloads(uow_factory))  # until it is sent, the sender needs it

    deliver_all(uow_factory)

    (first_status, first), (second_status, second) = payloads(uow_factory)
    assert (first_status, second_status) == ("sent", "sent")
    assert first["text"] == "[redacted]"
    assert SECRET not in str(first)
    assert second["text"] == "Cliente cadastrado."


def test_a_sensitive_message_given_up_on_is_redacted_too(uow_factory: UnitOfWorkFactory) -> None:
    uow = uow_factory()
    with uow:
        enqueue_to(uow, "telegram", "tg:1", "1", [Text(SECRET, sensitive=True)], datetime.now(UTC))
        uow.commit()

    deliver_all(uow_factory, fail=True)

    [(status, payload)] = payloads(uow_factory)
    assert status == "failed"
    assert SECRET not in str(payload)


def test_the_new_clients_integration_key_leaves_the_outbox_after_delivery(
    chat: Chat, uow_factory: UnitOfWorkFactory
) -> None:
    office: Office = make_office(uow_factory, 1, identity_key=chat.identity_key)
    assert office
    open_cadastro(chat)
    walk_to(chat, "resumo")
    chat.press(texts.CADASTRAR)
    key_message = next(m for m in chat.received if isinstance(m, Text) and "rvb_" in m.text)
    key = next(word for word in key_message.text.split() if word.startswith("rvb_"))

    deliver_all(uow_factory)

    assert key not in str(payloads(uow_factory))
