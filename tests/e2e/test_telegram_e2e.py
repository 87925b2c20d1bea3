"""RevendaBot on Telegram, end to end: `serve` (polling or webhook) against the Bot API emulator.

The whole process runs in the test's event loop (`bot.serve.serve`): uvicorn, the outbox
sender and the Telegram channel, talking HTTP to the `telegram-test-api` emulator.
"""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import AsyncIterator, Iterator

import pytest
from pydantic import SecretStr

from bot.app import App
from bot.serve import serve
from domain.clients import Role
from services import access
from tests.e2e.emulator import BotMessage, Emulator, TelegramUser, start_emulator
from tests.support import add_client, cnpj

pytestmark = pytest.mark.e2e

OFFICE_CNPJ = cnpj(4242)
NEW_CLIENT_CNPJ = cnpj(777)
WEBHOOK_SECRET = "e2e-Webhook_secret"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with start_emulator() as emulator:
        yield emulator


def invite_code(app: App) -> str:
    """A gestor's office with two clients, and the invite code its gestor will use."""
    issued = access.create_gestor(
        app.uow_factory(),
        cnpj=OFFICE_CNPJ,
        razao_social="Escritório Ponta a Ponta Ltda",
        email="gestor@pontaaponta.com.br",
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
    add_client(app.uow_factory, operator, 1, name="Padaria Estrela Ltda")
    add_client(app.uow_factory, operator, 2, name="Farmácia Aurora Ltda")
    return issued.code


async def running(app: App, emu: Emulator, *, webhook: bool) -> AsyncIterator[None]:
    port = free_port()
    update: dict[str, object] = {
        "telegram_bot_token": SecretStr(emu.token),
        "telegram_base_url": emu.base_url,
        "telegram_base_file_url": emu.base_file_url,
        "telegram_poll_timeout": 1,
    }
    if webhook:
        update["public_base_url"] = f"http://127.0.0.1:{port}"
        update["telegram_webhook_secret"] = SecretStr(WEBHOOK_SECRET)
    app.settings = app.settings.model_copy(update=update)
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(
        serve(app, host="127.0.0.1", port=port, stop=stop, ready=ready, handle_signals=False)
    )
    waiting = asyncio.ensure_future(ready.wait())
    try:
        await asyncio.wait({task, waiting}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            task.result()  # serve stopped during start-up: show why
        assert ready.is_set(), "serve did not get ready in 10 s"
        yield
    finally:
        waiting.cancel()
        stop.set()
        await asyncio.wait_for(task, timeout=10)


@pytest.fixture
async def polling(app: App, emu: Emulator) -> AsyncIterator[None]:
    async for _ in running(app, emu, webhook=False):
        yield


@pytest.fixture
async def webhook(app: App, emu: Emulator) -> AsyncIterator[None]:
    async for _ in running(app, emu, webhook=True):
        yield


async def shown(user: TelegramUser, text: str) -> BotMessage:
    """The newest bot message whose current text contains `text` (waiting for it)."""

    def newest() -> BotMessage | None:
        matching = [m for m in user.bot_messages() if text in m.plain_text]
        return matching[-1] if matching else None

    return await user.wait_for_async(newest, timeout=10, description=f"a message with {text!r}")


async def test_a_gestor_joins_browses_clients_and_registers_a_new_one_over_polling(
    app: App, emu: Emulator, polling: None
) -> None:
    code = invite_code(app)
    user = emu.client

    user.send_command("start", code)
    await shown(user, "✅ Acesso liberado para Escritório Ponta a Ponta Ltda como gestor.")
    menu = await shown(user, "O que você quer fazer?")
    assert [b.text for b in menu.buttons] == [
        "Clientes",
        "Novo cliente",
        "Consultar nota",
        "Meus dados",
        "Ajuda",
        "Pendências (0)",
    ]

    user.press_button("Clientes", menu)
    listing = await shown(user, "👥 Seus clientes (2)")
    assert listing.message_id == menu.message_id  # the menu was edited, not a new message
    user.press_button("Padaria Estrela Ltda", listing)
    card = await shown(user, "🏢 Padaria Estrela Ltda")
    assert "Gerenciar" in [b.text for b in card.buttons]

    user.press_button("Menu", card)
    user.press_button("Novo cliente", await shown(user, "O que você quer fazer?"))
    user.press_button("Novo cadastro", await shown(user, "Como você quer adicionar o cliente?"))
    user.press_button("Gestor", await shown(user, "Novo cadastro — 1/10"))
    software = await shown(user, "Novo cadastro — 2/10")
    user.press(software.buttons[0].data, software)
    plans = await shown(user, "Novo cadastro — 3/10")
    user.press(plans.buttons[0].data, plans)
    await shown(user, "Novo cadastro — 4/10")
    user.send_text(NEW_CLIENT_CNPJ)
    await shown(user, "Novo cadastro — 5/10")
    user.send_text("Mercado Bom Preço Ltda")
    user.press_button("Pular", await shown(user, "Novo cadastro — 6/10"))
    await shown(user, "Novo cadastro — 7/10")
    user.send_text("compras@mercadobompreco.com.br")
    await shown(user, "Novo cadastro — 8/10")
    user.send_text("(11) 98765-4321")
    await shown(user, "Novo cadastro — 9/10")
    user.send_text("01310-100")
    await shown(user, "Novo cadastro — 10/10")
    user.send_text("Av. Paulista, 1000 - Bela Vista - São Paulo/SP")
    summary = await shown(user, "Confira o cadastro:")
    user.press_button("Cadastrar", summary)

    await shown(user, "✅ Cliente Mercado Bom Preço Ltda cadastrado com status Teste.")
    key = await shown(user, "🔑 Chave de integração do cliente")
    assert key.parse_mode == "HTML"  # the key goes as code: one tap copies it
    assert re.search(r"\n<code>[^<]+</code>$", key.text or "")
    final = await shown(user, "🏢 Mercado Bom Preço Ltda")
    assert "Status: Teste" in final.plain_text
    assert "Telefone: (11) 98765-4321" in final.plain_text
    uow = app.uow_factory()
    with uow:
        stored = uow.clients.by_documento(NEW_CLIENT_CNPJ)
        assert stored is not None
        assert (stored.razao_social, stored.telefone, stored.cep) == (
            "Mercado Bom Preço Ltda",
            "+5511987654321",
            "01310100",
        )


async def test_a_gestor_joins_and_presses_a_button_over_the_webhook(
    app: App, emu: Emulator, webhook: None
) -> None:
    code = invite_code(app)
    user = emu.client
    info = emu.webhook_info()
    assert info["url"].endswith("/webhooks/telegram")

    user.send_command("start", code)
    menu = await shown(user, "O que você quer fazer?")
    pressed = user.press_button("Clientes", menu)
    listing = await shown(user, "👥 Seus clientes (2)")
    assert listing.message_id == menu.message_id
    assert [b.text for b in listing.buttons][:2] == [
        "Farmácia Aurora Ltda",
        "Padaria Estrela Ltda",
    ]
    assert "last_error_message" not in emu.webhook_info()
    # the press was answered in the webhook's reply (the emulator makes that call, as Telegram)
    answered = [c.params["callback_query_id"] for c in emu.bot_calls("answerCallbackQuery")]
    assert answered == [pressed.callback_query_id]
