"""Chats for the Meus dados tests: one on Telegram (typed messages can be deleted)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace

from bot.channels.telegram import CAPABILITIES
from handlers import texts
from services.messages import Body, Capabilities, Inbound, TextBody
from services.types import UnitOfWorkFactory
from storage.models import AuditEntry, Gestor
from tests.support import Chat

_refs = itertools.count(100)


@dataclass
class TelegramChat(Chat):
    """Like Chat, but on the telegram channel, where each typed message has a message id."""

    identity_key: str = "tg:4242"
    channel: str = "telegram"
    capabilities: Capabilities = CAPABILITIES

    def event(self, body: Body, *, event_id: str | None = None) -> Inbound:
        event = super().event(body, event_id=event_id)
        if isinstance(body, TextBody):
            return replace(event, message_ref=str(next(_refs)))
        return event


def open_dados(chat: Chat, part: str | None = None) -> None:
    chat.say("/menu")
    chat.press(texts.MEUS_DADOS)
    if part is not None:
        chat.press(part)


def gestor_row(uow_factory: UnitOfWorkFactory, gestor_id: int) -> Gestor:
    with uow_factory() as uow:
        row = uow.session.get(Gestor, gestor_id)
        assert row is not None
        uow.session.expunge(row)
        return row


def gestor_audit(uow_factory: UnitOfWorkFactory, gestor_id: int) -> list[AuditEntry]:
    with uow_factory() as uow:
        rows = (
            uow.session.query(AuditEntry)
            .filter(AuditEntry.gestor_id == gestor_id, AuditEntry.client_id.is_(None))
            .order_by(AuditEntry.id)
            .all()
        )
        uow.session.expunge_all()
        return rows
