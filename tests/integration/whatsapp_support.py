"""What the WhatsApp test harnesses share: the channel's settings pointed at the Graph API
stand-in (tests/integration/whatsapp_graph.py), the channel built on it without sockets,
webhook bodies the way Meta posts them (signed with the app secret), and reading what the bot
sent (its text, its options, the id behind an option).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import SecretStr
from sqlalchemy import func, select

from bot.app import App
from bot.channels import whatsapp as whatsapp_channel
from bot.channels.whatsapp import Handle, WhatsAppChannel
from services.messages import Inbound
from tests.integration.whatsapp_graph import (
    API_VERSION,
    APP_SECRET,
    BSUID,
    PHONE_ID,
    TOKEN,
    VERIFY_TOKEN,
    WA_ID,
    GraphStandIn,
    sign,
)
from web.app import create_app
from web.whatsapp import whatsapp_router

WEBHOOK_PATH = "/webhooks/whatsapp"
DISPLAY_PHONE = "551140028922"


def wa_settings(app: App, *, graph_url: str = "https://graph.test") -> App:
    """The app with WhatsApp configured: the stand-in's address, token and secrets."""
    app.settings = app.settings.model_copy(
        update={
            "whatsapp_phone_number_id": PHONE_ID,
            "whatsapp_token": SecretStr(TOKEN),
            "whatsapp_app_secret": SecretStr(APP_SECRET),
            "whatsapp_verify_token": SecretStr(VERIFY_TOKEN),
            "whatsapp_graph_base_url": graph_url,
            "whatsapp_api_version": API_VERSION,
        }
    )
    return app


def wa_channel(
    app: App, handle: Handle | None = None, *, files: bool = True
) -> tuple[GraphStandIn, WhatsAppChannel]:
    """A fresh stand-in and the app's WhatsApp channel talking to it (httpx.MockTransport);
    `handle` defaults to the app's conversation, `files` gives it the app's file store."""
    wa_settings(app)
    graph = GraphStandIn()
    session = httpx.AsyncClient(transport=httpx.MockTransport(graph.handler))
    channel = whatsapp_channel.from_settings(
        app.settings,
        handle or app.conversation.handle,
        app.uow_factory,
        session=session,
        files=app.files if files else None,
    )
    return graph, channel


def from_person(
    message: dict[str, Any], wamid: str, *, at: datetime | None = None
) -> dict[str, Any]:
    """One message of the person (BSUID and phone number), sent `at` (now by default)."""
    moment = at or datetime.now(UTC)
    return {
        "from": WA_ID,
        "from_user_id": BSUID,
        "id": wamid,
        "timestamp": str(int(moment.timestamp())),
        **message,
    }


def webhook_body(
    *,
    messages: Sequence[dict[str, Any]] = (),
    statuses: Sequence[dict[str, Any]] = (),
    name: str = "Marta",
    entry_id: str = "1",
) -> bytes:
    """A webhook POST body carrying `messages` (with the person's contact) or `statuses`."""
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": DISPLAY_PHONE, "phone_number_id": PHONE_ID},
    }
    if messages:
        value["contacts"] = [{"profile": {"name": name}, "wa_id": WA_ID, "user_id": BSUID}]
        value["messages"] = list(messages)
    if statuses:
        value["statuses"] = list(statuses)
    payload = {
        "object": "whatsapp_business_account",
        "entry": [{"id": entry_id, "changes": [{"field": "messages", "value": value}]}],
    }
    return json.dumps(payload).encode()


def signed_headers(body: bytes) -> dict[str, str]:
    """The headers Meta sends with `body`: JSON, signed with the app secret."""
    return {"Content-Type": "application/json", "X-Hub-Signature-256": sign(body)}


class Harness:
    """The webhook app over the channel: `record_only` keeps the events instead of answering."""

    def __init__(self, app: App, *, record_only: bool) -> None:
        self.app = app
        self.events: list[Inbound] = []
        handle = self._record if record_only else app.conversation.handle
        self.graph, self.channel = wa_channel(app, handle, files=False)
        web = create_app(app.uow_factory, routers=[whatsapp_router(self.channel)])
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=web), base_url="http://bot.test"
        )

    def _record(self, event: Inbound) -> None:
        self.events.append(event)

    async def post(self, body: bytes, signature: str | None = None) -> httpx.Response:
        headers = signed_headers(body)
        if signature is not None:
            headers["X-Hub-Signature-256"] = signature
        return await self.client.post(WEBHOOK_PATH, content=body, headers=headers)

    def count(self, model: type) -> int:
        uow = self.app.uow_factory()
        with uow:
            return int(uow.session.scalar(select(func.count()).select_from(model)) or 0)

    async def close(self) -> None:
        await self.client.aclose()
        await self.channel.stop()


# -- what the bot sent ---------------------------------------------------------------------------


def body_of(message: dict[str, Any]) -> str:
    """The words of a sent message (a document's caption, a template's first parameter)."""
    kind = message["type"]
    if kind == "text":
        return str(message["text"]["body"])
    if kind == "interactive":
        return str(message["interactive"]["body"]["text"])
    if kind == "document":
        return str(message["document"].get("caption") or "")
    if kind == "template":
        return str(message["template"]["components"][0]["parameters"][0]["text"])
    return json.dumps(message, ensure_ascii=False)


def labels(message: dict[str, Any]) -> list[str]:
    """The options a sent message offers: its reply buttons, or its list rows (whole title)."""
    if message["type"] != "interactive":
        return []
    interactive = message["interactive"]
    if interactive["type"] == "button":
        return [b["reply"]["title"] for b in interactive["action"]["buttons"]]
    rows = interactive["action"]["sections"][0]["rows"]
    return [r.get("description") or r["title"] for r in rows]


def option(message: dict[str, Any], label: str) -> tuple[str, str]:
    """(id, reply kind) of the option `label` of a sent message, as the person would press it."""
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
