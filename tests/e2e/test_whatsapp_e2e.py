"""RevendaBot on WhatsApp, end to end: `serve` against a local stand-in for the Graph API.

Two HTTP servers on 127.0.0.1 in the test's event loop: the bot (`bot.serve.serve`: uvicorn,
outbox sender, WhatsApp channel) and the stand-in (tests/integration/whatsapp_graph.py behind
FastAPI), which records what the bot sends and plays the person by POSTing signed webhooks to
the bot's /webhooks/whatsapp.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request, Response

from bot.app import App
from bot.serve import serve
from domain.clients import Role
from handlers import texts
from services import access
from tests.integration.whatsapp_graph import (
    BSUID,
    TOKEN,
    VERIFY_TOKEN,
    WA_ID,
    GraphStandIn,
)
from tests.integration.whatsapp_support import (
    WEBHOOK_PATH,
    body_of,
    from_person,
    labels,
    option,
    signed_headers,
    wa_settings,
    webhook_body,
)
from tests.support import add_client, cnpj

pytestmark = pytest.mark.e2e

OFFICE_CNPJ = cnpj(4343)
NEW_CLIENT_CNPJ = cnpj(778)
WAIT = 10.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Phone:
    """The stand-in served over HTTP, and the person on the other side of it."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.graph = GraphStandIn(f"http://127.0.0.1:{port}")
        self.bot_url = ""
        self._changed = asyncio.Condition()
        self._ids = itertools.count(1)
        self._seen = 0
        # (what the person did, messages the bot sent from then until the person's next act)
        self.interactions: list[tuple[str, int]] = []
        self._sent_before = 0
        web = FastAPI()

        @web.api_route("/{path:path}", methods=["GET", "POST"])
        async def graph_api(request: Request) -> Response:
            body = await request.body()
            status, answer, content_type = self.graph.answer(
                request.method, request.url.path, dict(request.headers), body
            )
            async with self._changed:
                self._changed.notify_all()
            if isinstance(answer, bytes):
                return Response(answer, status, media_type=content_type)
            return Response(json.dumps(answer), status, media_type="application/json")

        self.server = uvicorn.Server(
            uvicorn.Config(web, host="127.0.0.1", port=port, log_config=None, access_log=False)
        )

    # -- what the person does ---------------------------------------------------------------------

    async def send(self, message: dict[str, Any]) -> None:
        """POST a signed webhook carrying one message from the person."""
        self._count_replies()
        self.interactions.append((_what(message), 0))
        message = from_person(message, f"wamid.IN{next(self._ids)}")
        body = webhook_body(messages=[message], name="Marta Gestora", entry_id="102290129340398")
        async with httpx.AsyncClient() as client:
            answer = await client.post(
                f"{self.bot_url}{WEBHOOK_PATH}", content=body, headers=signed_headers(body)
            )
        assert answer.status_code == 200

    def _count_replies(self) -> None:
        sent = len(self.graph.sent())
        if self.interactions:
            what, _ = self.interactions[-1]
            self.interactions[-1] = (what, sent - self._sent_before)
        self._sent_before = sent

    def messages_per_interaction(self) -> list[tuple[str, int]]:
        """Counted up to now (the last interaction's replies must have been awaited)."""
        self._count_replies()
        return list(self.interactions)

    async def say(self, text: str) -> None:
        await self.send({"type": "text", "text": {"body": text}})

    async def press(self, label: str, sent: dict[str, Any]) -> None:
        """Press the reply button or pick the list row titled `label` in a message we got."""
        choice_id, kind = option(sent, label)
        reply = {"id": choice_id, "title": label[:24]}
        await self.send({"type": "interactive", "interactive": {"type": kind, kind: reply}})

    # -- what the person sees ---------------------------------------------------------------------

    async def shown(self, text: str) -> dict[str, Any]:
        """The next message the bot sent (after those already seen) that contains `text`."""
        return await self.next_sent(lambda message: text in body_of(message), repr(text))

    async def offered(self, label: str) -> dict[str, Any]:
        """The next message the bot sent that offers the option `label`."""

        def offers(message: dict[str, Any]) -> bool:
            return message["type"] == "interactive" and label in labels(message)

        return await self.next_sent(offers, f"an option {label!r}")

    async def next_sent(
        self, matches: Callable[[dict[str, Any]], bool], what: str
    ) -> dict[str, Any]:
        def find() -> dict[str, Any] | None:
            sent = self.graph.sent()
            for index in range(self._seen, len(sent)):
                if matches(sent[index]):
                    self._seen = index + 1
                    return sent[index]
            return None

        try:
            async with self._changed:
                found = await asyncio.wait_for(self._changed.wait_for(find), WAIT)
                assert found is not None
                return found
        except TimeoutError:
            bodies = [body_of(m)[:80] for m in self.graph.sent()[self._seen :]]
            raise AssertionError(f"the bot sent no message with {what}; got {bodies}") from None


def _what(message: dict[str, Any]) -> str:
    if message["type"] == "text":
        return repr(message["text"]["body"])
    interactive = message.get("interactive") or {}
    return str((interactive.get(interactive.get("type", "")) or {}).get("title", message["type"]))


def invite_code(app: App) -> str:
    issued = access.create_gestor(
        app.uow_factory(),
        cnpj=OFFICE_CNPJ,
        razao_social="Escritório Zap Ltda",
        email="gestor@escritoriozap.com.br",
    )
    access.bind_identity(
        app.uow_factory(),
        gestor_cnpj=OFFICE_CNPJ,
        identity_key="console:operador",
        channel="console",
        address="operador",
        role=Role.GESTOR,
    )
    operator = access.resolve_principal(app.uow_factory(), "console:operador")
    assert operator is not None
    add_client(app.uow_factory, operator, 11, name="Padaria Estrela Ltda")
    return issued.code


@pytest.fixture
async def phone(app: App) -> AsyncIterator[Phone]:
    # Listening before uvicorn starts: the bot's first requests wait in the backlog.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    stand_in = Phone(int(listener.getsockname()[1]))
    serving = asyncio.create_task(stand_in.server.serve(sockets=[listener]))
    bot_port = free_port()
    stand_in.bot_url = f"http://127.0.0.1:{bot_port}"
    wa_settings(app, graph_url=f"http://127.0.0.1:{stand_in.port}")
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(
        serve(app, host="127.0.0.1", port=bot_port, stop=stop, ready=ready, handle_signals=False)
    )
    waiting = asyncio.ensure_future(ready.wait())
    try:
        await asyncio.wait({task, waiting}, timeout=WAIT, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            task.result()
        assert ready.is_set(), "serve did not get ready"
        yield stand_in
    finally:
        waiting.cancel()
        stop.set()
        await asyncio.wait_for(task, timeout=WAIT)
        stand_in.server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(serving, timeout=WAIT)
        listener.close()


async def test_meta_verifies_the_webhook_of_the_running_bot(phone: Phone) -> None:
    params = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "4242"}
    async with httpx.AsyncClient() as client:
        good = await client.get(f"{phone.bot_url}/webhooks/whatsapp", params=params)
        bad = await client.get(
            f"{phone.bot_url}/webhooks/whatsapp", params={**params, "hub.verify_token": "x"}
        )
    assert (good.status_code, good.text, bad.status_code) == (200, "4242", 403)


async def test_a_gestor_binds_by_invite_code_and_registers_a_client_on_whatsapp(
    app: App, phone: Phone
) -> None:
    await phone.say(invite_code(app))
    menu = await phone.shown("Acesso liberado para Escritório Zap Ltda")
    assert "O que você quer fazer?" in body_of(menu)  # the welcome and the menu: one message
    assert menu["interactive"]["type"] == "list"
    assert labels(menu) == [
        "Clientes",
        "Novo cliente",
        "Consultar nota",
        "Meus dados",
        "Ajuda",
        "Pendências (0)",
    ]
    assert menu["to"] == WA_ID

    await phone.press("Novo cliente", menu)
    await phone.press("Novo cadastro", await phone.shown("Como você quer adicionar o cliente?"))
    await phone.press("Gestor", await phone.shown("Novo cadastro — 1/10"))
    software = await phone.shown("Novo cadastro — 2/10")
    await phone.press(labels(software)[0], software)
    plans = await phone.shown("Novo cadastro — 3/10")
    await phone.press(labels(plans)[0], plans)
    await phone.shown("Novo cadastro — 4/10")
    await phone.say(NEW_CLIENT_CNPJ)
    await phone.shown("Novo cadastro — 5/10")
    await phone.say("Mercado Bom Preço Ltda")
    await phone.press("Pular", await phone.shown("Novo cadastro — 6/10"))
    await phone.shown("Novo cadastro — 7/10")
    await phone.say("compras@mercadobompreco.com.br")
    await phone.shown("Novo cadastro — 8/10")
    await phone.say("(11) 98765-4321")
    await phone.shown("Novo cadastro — 9/10")
    await phone.say("01310-100")
    await phone.shown("Novo cadastro — 10/10")
    await phone.say("Av. Paulista, 1000 - Bela Vista - São Paulo/SP")
    await phone.press("Cadastrar", await phone.shown("Confira o cadastro:"))
    # saved, the key and the card: one message (each one more would trail the pair rate)
    card = await phone.shown("✅ Cliente Mercado Bom Preço Ltda cadastrado com status Teste.")
    assert "🔑 Chave de integração do cliente" in body_of(card)
    assert re.search(r"\n```\S+```\n", body_of(card))  # monospace, easy to tell apart
    assert "🏢 Mercado Bom Preço Ltda" in body_of(card)
    counts = phone.messages_per_interaction()
    print("\nmensagens por interação:", *(f"{n} ← {what}" for what, n in counts), sep="\n")
    assert [n for _, n in counts] == [1] * len(counts)

    uow = app.uow_factory()
    with uow:
        stored = uow.clients.by_documento(NEW_CLIENT_CNPJ)
        assert stored is not None
        assert (stored.razao_social, stored.telefone) == (
            "Mercado Bom Preço Ltda",
            "+5511987654321",
        )
        identity = uow.identities.by_key(f"wa:{BSUID}")
        assert identity is not None
        assert identity.attributes == {"wa_id": WA_ID}

    # XMLs emitidos, from the new client's card
    await phone.press(texts.GERENCIAR, card)
    manage = await phone.shown(texts.GERENCIAR_TEXT.format(name="Mercado Bom Preço Ltda"))
    await phone.press(texts.XMLS_EMITIDOS, manage)
    asked = await phone.shown(texts.XMLS_EMITIDOS)
    if "Em breve" in body_of(asked):
        return  # the feature is not built in this version: its announcement arrived
    assert labels(asked)[:2] == [texts.MES_ANTERIOR, texts.MES_ATUAL]
    await phone.press(texts.MES_ATUAL, asked)
    await phone.press(texts.NFE, await phone.offered(texts.NFE))
    await phone.shown("Nenhuma NF-e emitida por Mercado Bom Preço Ltda")
    assert all(c.authorization == f"Bearer {TOKEN}" for c in phone.graph.calls)
