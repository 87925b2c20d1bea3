"""A person on WhatsApp, in process: signed webhooks into the web app, the outbox delivered
through the channel to `GraphStandIn`, and what the bot sent per interaction counted.

`say`/`press` send one message (timestamp = now unless given), then deliver the outbox the way
the sender does; `interactions` keeps (what the person did, messages the bot sent back).
"""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime
from typing import Any

import httpx

from bot.app import App
from bot.channels import whatsapp as whatsapp_channel
from bot.channels.whatsapp import WhatsAppChannel
from services import access, outbox
from services.outbox import Fate
from tests.integration.test_whatsapp_webhook import wa_settings
from tests.integration.whatsapp_graph import BSUID, PHONE_ID, WA_ID, GraphStandIn, sign
from web.app import create_app
from web.whatsapp import whatsapp_router

KEY = f"wa:{BSUID}"


class Person:
    def __init__(self, app: App) -> None:
        self.app = wa_settings(app)
        self.graph = GraphStandIn()
        session = httpx.AsyncClient(transport=httpx.MockTransport(self.graph.handler))
        self.channel: WhatsAppChannel = whatsapp_channel.from_settings(
            app.settings,
            app.conversation.handle,
            app.uow_factory,
            session=session,
            files=app.files,
        )
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
        moment = at or datetime.now(UTC)
        envelope = {
            "from": WA_ID,
            "from_user_id": BSUID,
            "id": f"wamid.IN{next(self._ids)}",
            "timestamp": str(int(moment.timestamp())),
            **message,
        }
        value = {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "551140028922", "phone_number_id": PHONE_ID},
            "contacts": [{"profile": {"name": "Marta"}, "wa_id": WA_ID, "user_id": BSUID}],
            "messages": [envelope],
        }
        body = json.dumps(
            {
                "object": "whatsapp_business_account",
                "entry": [{"id": "1", "changes": [{"field": "messages", "value": value}]}],
            }
        ).encode()
        headers = {"Content-Type": "application/json", "X-Hub-Signature-256": sign(body)}
        answer = await self.web.post("/webhooks/whatsapp", content=body, headers=headers)
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


def body_of(message: dict[str, Any]) -> str:
    kind = message["type"]
    if kind == "text":
        return str(message["text"]["body"])
    if kind == "interactive":
        return str(message["interactive"]["body"]["text"])
    if kind == "template":
        return str(message["template"]["components"][0]["parameters"][0]["text"])
    return json.dumps(message, ensure_ascii=False)


def labels(message: dict[str, Any]) -> list[str]:
    if message["type"] != "interactive":
        return []
    interactive = message["interactive"]
    if interactive["type"] == "button":
        return [b["reply"]["title"] for b in interactive["action"]["buttons"]]
    rows = interactive["action"]["sections"][0]["rows"]
    return [r.get("description") or r["title"] for r in rows]


def option(message: dict[str, Any], label: str) -> tuple[str, str]:
    interactive = message.get("interactive") or {}
    if interactive.get("type") == "button":
        for button in interactive["action"]["buttons"]:
            if button["reply"]["title"] == label:
                return button["reply"]["id"], "button_reply"
    elif interactive:
        for row in interactive["action"]["sections"][0]["rows"]:
            if label in (row["title"], row.get("description")):
                return row["id"], "list_reply"
    raise AssertionError(f"no option {label!r} in {labels(message)}")


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
