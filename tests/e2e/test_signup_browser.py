"""The sign-up page in headless Chromium (Debian's, driven by Playwright): the gestor creates a
link in the chat, the client opens it on a phone-sized screen, types a bad CNPJ, sees the
error, fixes it, signs up, and the gestor's chat gets the new client's card."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import Engine

from bot.app import App, build_app
from bot.settings import Settings
from handlers import texts
from services import notices
from services.messages import Text
from tests.support import Chat, make_office
from tests.unit.links.support import stored_clients, token_in
from web.app import create_app

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def listening() -> Iterator[socket.socket]:
    """A socket already listening on a free port: the browser's requests wait in its backlog."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    yield sock
    sock.close()


@pytest.fixture
def served(db_engine: Engine, listening: socket.socket) -> Iterator[App]:
    port = int(listening.getsockname()[1])
    settings = Settings(
        environment="test",
        database_url=str(db_engine.url),
        host="127.0.0.1",
        port=port,
        _env_file=None,
    )
    app = build_app(settings, db=db_engine)
    web = create_app(app.uow_factory, routers=app.web_routers())
    server = uvicorn.Server(uvicorn.Config(web, log_config=None, access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listening]}, daemon=True)
    thread.start()
    yield app
    server.should_exit = True
    thread.join(timeout=10)


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium (/usr/bin/chromium) absent")
def test_a_client_signs_up_through_the_link_and_the_gestor_is_told(served: App) -> None:
    from playwright.sync_api import expect, sync_playwright

    app = served
    gestor = Chat(app.conversation, app.uow_factory, identity_key="test:gestor1")
    make_office(app.uow_factory, 1, identity_key=gestor.identity_key)
    gestor.say("/menu")
    gestor.press(texts.NOVO_CLIENTE)
    gestor.press(texts.ENVIAR_LINK)
    gestor.press(texts.CLIENTE)
    gestor.press("FazNota")
    gestor.press(gestor.labels()[1])  # Prata
    created = gestor.received[-3]
    assert isinstance(created, Text)
    url = f"http://{app.settings.host}:{app.settings.port}/c/{token_in(created.text)}"
    assert url in created.text

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844}, locale="pt-BR")
            page.goto(url)
            expect(page.locator("h1")).to_have_text("Contratar FazNota")
            expect(page.locator(".oferta")).to_contain_text("Escritório 1 Ltda")
            expect(page.locator(".preco")).to_have_text("R$ 119,90/mês")
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

            page.fill("#documento", "11.222.333/0001-82")
            page.fill("#razao_social", "Padaria Pão Quente Ltda")
            page.fill("#nome_fantasia", "Pão Quente")
            page.fill("#email", "contato@paoquente.com.br")
            page.fill("#telefone", "(11) 98765-4321")
            page.fill("#cep", "01310-100")
            page.fill("#endereco", "Av. Paulista, 1000 - Bela Vista - São Paulo/SP")
            page.check("#termos")
            page.click("button[type=submit]")

            expect(page.locator("#erro-documento")).to_have_text(
                "Este CNPJ não é válido (os dígitos verificadores não conferem): "
                "confira e digite de novo."
            )
            expect(page.locator("#razao_social")).to_have_value("Padaria Pão Quente Ltda")
            expect(page.locator("#termos")).to_be_checked()
            assert stored_clients(app.uow_factory) == []

            page.fill("#documento", "11.222.333/0001-81")
            page.click("button[type=submit]")

            expect(page.locator("h1")).to_have_text("Cadastro concluído!")
            expect(page.locator(".confirmacao")).to_contain_text(
                "Escritório 1 Ltda já foi avisado e vai liberar o seu acesso."
            )

            page.goto(url)  # the link is used up now
            expect(page.locator("h1")).to_have_text("Link indisponível")
        finally:
            browser.close()

    [client] = stored_clients(app.uow_factory)
    assert (client.razao_social, client.status, client.created_via) == (
        "Padaria Pão Quente Ltda",
        "teste",
        "link",
    )
    assert notices.dispatch(app.uow_factory, app.conversation.handle) == 1
    gestor.drain()
    pushed = gestor.last_text().text
    assert pushed.startswith(
        "🎉 Novo cliente pelo link de contratação!\n\n🏢 Padaria Pão Quente Ltda\n"
    )
    assert "Plano: Prata — R$ 119,90/mês" in pushed
    assert gestor.labels() == [texts.ABRIR_CLIENTE]
