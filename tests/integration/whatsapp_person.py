"""A person on WhatsApp, in process: signed webhooks into the web app, the outbox delivered
through the channel to `GraphStandIn`, and what the bot sent per interaction counted.

`say`/`press` send one message (timestamp = now unless given), then deliver the outbox the way
the sender does; `interactions` keeps (what the person did, messages the bot sent back).
"""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

import httpx

from bot.app import App
from services import access, outbox
from services.outbox import Fate
from tests.integration.whatsapp_graph import BSUID
from tests.integration.whatsapp_support import (
    WEBHOOK_PATH,
    body_of,
    from_person,
    option,
    signed_headers,
    wa_channel,
    webhook_body,
)
from tests.support import cnpj
from web.app import create_app
from web.whatsapp import whatsapp_router

KEY = f"wa:{BSUID}"
# The office `bind` creates for the person in the `person` fixture (tests/integration/conftest.py).
OFFICE = cnpj(4345)


class Person:
    def __init__(self, app: App) -> None:
        self.app = app
        self.graph, self.channel = wa_channel(app)
        web = create_app(app.uow_factory, routers=[whatsapp_router(self.channel)])
        self.web = httpx.AsyncClient(transport=httpx.ASGITransport(app=web), base_url="http://t")
        self._ids = itertools.count(1)
        self.interactions: list[tuple[str, int]] = []

    async def close(self) -> None:
        await self.web.aclose()
        await self.channel.stop()

    # -- what the person does ---------------------------------------------------------------------

    async def send(
        self,
        message: dict[str, Any],
        what: str,
        *,
        at: datetime | None = None,
        deliver: bool = True,
    ) -> list[dict[str, Any]]:
        """POST one signed message; deliver the outbox; the messages the bot sent for it."""
        before = len(self.graph.sent())
        body = webhook_body(messages=[from_person(message, f"wamid.IN{next(self._ids)}", at=at)])
        headers = signed_headers(body)
        answer = await self.web.post(WEBHOOK_PATH, content=body, headers=headers)
        assert answer.status_code == 200
        if not deliver:
            return []
        await self.flush()
        sent = self.graph.sent()[before:]
        self.interactions.append((what, len(sent)))
        return sent

    async def say(self, text: str, *, at: datetime | None = None) -> list[dict[str, Any]]:
        return await self.send({"type": "text", "text": {"body": text}}, repr(text), at=at)

    async def press(
        self, label: str, message: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Press `label` in `message` (default: the last message the bot sent)."""
        shown = message or self.graph.sent()[-1]
        choice_id, kind = option(shown, label)
        reply = {"id": choice_id, "title": label[:24]}
        interactive = {"type": kind, kind: reply}
        context = {"from": "551140028922", "id": "wamid.OUT"}  # the pressed message
        message = {"type": "interactive", "interactive": interactive, "context": context}
        return await self.send(message, label)

    async def flush(self) -> list[Fate]:
        fates: list[Fate] = []
        while claimed := outbox.claim(self.app.uow_factory, channels=["whatsapp"]):
            batch = [await self.channel.deliver(message) for message in claimed]
            outbox.record(self.app.uow_factory, batch)
            fates += batch
        return fates

    def report(self) -> str:
        return "\n".join(f"{count} mensagem(ns) ← {what}" for what, count in self.interactions)


async def bind(person: Person, office_cnpj: str) -> None:
    """The person redeems a new office's invite code on WhatsApp (the menu comes back)."""
    issued = access.create_gestor(
        person.app.uow_factory(),
        cnpj=office_cnpj,
        razao_social="Escritório Zap Ltda",
        email="gestor@escritoriozap.com.br",
    )
    [welcome] = await person.say(issued.code)
    assert "Acesso liberado para Escritório Zap Ltda" in body_of(welcome)
