"""The web app (health, Telegram webhook) and `revendabot serve` as a whole."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import func, select
from starlette.routing import BaseRoute, Match

from bot.app import App, build_runtime
from bot.channels.telegram import TelegramChannel, from_settings
from bot.demo import CONSOLE_GESTOR, DEMO_NAME
from bot.serve import ServeError, serve
from services.types import UnitOfWorkFactory
from storage.conversation import ClaimedMessage
from storage.models import Gestor, OutboxMessage, ProcessedEvent
from tests.integration.fake_telegram import TOKEN, FakeBotApi, callback_update, message_update
from tests.integration.whatsapp_graph import GraphStandIn
from tests.integration.whatsapp_support import wa_settings
from tests.support import make_office
from web.app import create_app
from web.whatsapp import WHATSAPP_WEBHOOK_PATH

SECRET = "webhook-Secret_123"
USER = 111
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def polling_serve(
    app: App,
    api: FakeBotApi,
    stop: asyncio.Event,
    *,
    port: int | None = None,
    ready: asyncio.Event | None = None,
) -> asyncio.Task[None]:
    """`serve` with Telegram polling the stand-in Bot API, until `stop` is set."""
    return asyncio.create_task(
        serve(
            app,
            host="127.0.0.1",
            port=port or free_port(),
            stop=stop,
            ready=ready,
            telegram_request=api,
            handle_signals=False,
        )
    )


def count(uow_factory: UnitOfWorkFactory, model: type[object]) -> int:
    uow = uow_factory()
    with uow:
        return uow.session.scalar(select(func.count()).select_from(model)) or 0


@pytest.fixture
def webhook_channel(app: App) -> TelegramChannel:
    settings = app.settings.model_copy(
        update={
            "telegram_bot_token": SecretStr(TOKEN),
            "public_base_url": "https://bot.example.com",
            "telegram_webhook_secret": SecretStr(SECRET),
        }
    )
    return from_settings(settings, app.conversation.handle, app.uow_factory, request=FakeBotApi())


@pytest.fixture
async def web(app: App, webhook_channel: TelegramChannel) -> AsyncIterator[httpx.AsyncClient]:
    asgi = create_app(app.uow_factory, telegram=webhook_channel, telegram_secret=SECRET)
    transport = httpx.ASGITransport(app=asgi)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def test_healthz_answers_ok_when_the_database_answers(
    web: httpx.AsyncClient,
) -> None:
    response = await web.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


async def test_healthz_answers_503_when_the_database_does_not() -> None:
    def unreachable() -> object:
        raise ConnectionError("database down")

    asgi = create_app(unreachable)  # type: ignore[arg-type]
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=asgi), base_url="http://test"
    ) as client:
        response = await client.get("/healthz")
    assert response.status_code == 503


def test_the_webhook_channel_registers_the_public_url(webhook_channel: TelegramChannel) -> None:
    assert webhook_channel.webhook_url == "https://bot.example.com/webhooks/telegram"
    assert webhook_channel.webhook_secret == SECRET


async def test_a_webhook_update_with_the_right_secret_is_processed_before_the_answer(
    app: App, web: httpx.AsyncClient
) -> None:
    make_office(app.uow_factory, 1, identity_key=f"tg:{USER}")
    response = await web.post(
        "/webhooks/telegram",
        json=message_update(1, USER, "/menu"),
        headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
    )
    assert response.status_code == 200
    uow = app.uow_factory()
    with uow:
        queued = uow.session.execute(
            select(OutboxMessage.identity_key, OutboxMessage.payload)
        ).all()
    assert [(key, payload["text"]) for key, payload in queued] == [
        (f"tg:{USER}", "O que você quer fazer?")
    ]


@pytest.mark.parametrize("headers", [{}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}])
async def test_a_webhook_update_without_the_right_secret_is_refused_and_ignored(
    app: App, web: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    make_office(app.uow_factory, 1, identity_key=f"tg:{USER}")
    response = await web.post(
        "/webhooks/telegram", json=message_update(1, USER, "/menu"), headers=headers
    )
    assert response.status_code == 403
    assert count(app.uow_factory, ProcessedEvent) == 0
    assert count(app.uow_factory, OutboxMessage) == 0


async def test_a_redelivered_webhook_update_acts_once(app: App, web: httpx.AsyncClient) -> None:
    make_office(app.uow_factory, 1, identity_key=f"tg:{USER}")
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    queued = []
    for _ in range(2):
        response = await web.post(
            "/webhooks/telegram",
            json=callback_update(5, USER, "m:clientes", message_id=9),
            headers=headers,
        )
        assert response.status_code == 200
        queued.append(count(app.uow_factory, OutboxMessage))
    assert count(app.uow_factory, ProcessedEvent) == 1
    assert queued[0] > 0
    assert queued[1] == queued[0]


async def test_a_button_press_is_answered_in_the_webhook_reply_not_by_a_request(
    app: App, webhook_channel: TelegramChannel, web: httpx.AsyncClient
) -> None:
    make_office(app.uow_factory, 1, identity_key=f"tg:{USER}")
    api = webhook_channel.bot.request
    assert isinstance(api, FakeBotApi)
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    pressed = await web.post(
        "/webhooks/telegram",
        json=callback_update(5, USER, "m:clientes", message_id=9),
        headers=headers,
    )
    typed = await web.post(
        "/webhooks/telegram", json=message_update(6, USER, "/menu"), headers=headers
    )
    await webhook_channel.stop()  # (any answer spawned in the background is done by now)
    # Telegram makes the call it finds in a webhook's JSON answer
    assert (pressed.status_code, pressed.json()) == (
        200,
        {"method": "answerCallbackQuery", "callback_query_id": "cq5"},
    )
    assert (typed.status_code, typed.content) == (200, b"")  # nothing to answer
    assert api.called("answerCallbackQuery") == []
    assert count(app.uow_factory, ProcessedEvent) == 2


async def test_a_webhook_body_that_is_not_an_update_is_a_bad_request(
    web: httpx.AsyncClient,
) -> None:
    response = await web.post(
        "/webhooks/telegram",
        content=b"not json",
        headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
    )
    assert response.status_code == 400


async def test_without_a_telegram_channel_there_is_no_webhook_route(app: App) -> None:
    asgi = create_app(app.uow_factory)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=asgi), base_url="http://test"
    ) as client:
        response = await client.post("/webhooks/telegram", json={"update_id": 1})
    assert response.status_code == 404


async def test_serve_polls_telegram_delivers_the_replies_and_stops_cleanly(app: App) -> None:
    make_office(app.uow_factory, 1, identity_key=f"tg:{USER}")
    app.settings = app.settings.model_copy(
        update={"telegram_bot_token": SecretStr(TOKEN), "telegram_poll_timeout": 5}
    )
    api = FakeBotApi()
    stop = asyncio.Event()
    port = free_port()
    running = polling_serve(app, api, stop, port=port)
    await api.push_update(message_update(1, USER, "/menu"))

    await api.wait_for_calls("sendMessage", 1, timeout=10)
    async with httpx.AsyncClient() as client:
        health = await client.get(f"http://127.0.0.1:{port}/healthz")
    stop.set()
    await asyncio.wait_for(running, timeout=10)

    assert health.status_code == 200
    (reply,) = api.called("sendMessage")
    assert reply.params["text"].startswith("O que você quer fazer?")
    assert [c.method for c in api.calls[:3]] == ["getMe", "setMyCommands", "deleteWebhook"]
    assert app.wakeup.listeners == ()
    assert app.notice_wakeup.listeners == ()
    assert not app.handoff.takes("telegram")  # serve's sender is detached


async def test_serve_hands_an_events_replies_to_its_own_sender(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The event's transaction claims its replies for serve's sender, which sends them with
    no claim of its own (nothing else wakes it here: no scheduler)."""
    make_office(app.uow_factory, 1, identity_key=f"tg:{USER}")
    handed: list[str] = []
    adopt = app.handoff.adopt

    def adopting(messages: Sequence[ClaimedMessage], at: datetime) -> bool:
        handed.extend(message.payload.get("text", "") for message in messages)
        return adopt(messages, at)

    monkeypatch.setattr(app.handoff, "adopt", adopting)
    app.settings = app.settings.model_copy(
        update={
            "telegram_bot_token": SecretStr(TOKEN),
            "telegram_poll_timeout": 5,
            "scheduler_enabled": False,
        }
    )
    api = FakeBotApi()
    stop = asyncio.Event()
    ready = asyncio.Event()
    running = polling_serve(app, api, stop, ready=ready)
    await asyncio.wait_for(ready.wait(), timeout=10)
    for _ in range(500):  # once the sender has looked at the outbox
        if app.handoff.takes("telegram"):
            break
        await asyncio.sleep(0.01)
    await api.push_update(message_update(1, USER, "/menu"))
    await api.wait_for_calls("sendMessage", 1, timeout=10)
    stop.set()
    await asyncio.wait_for(running, timeout=10)

    (reply,) = api.called("sendMessage")
    assert handed == [reply.params["text"]]
    assert not app.handoff.takes("telegram")  # serve's sender is detached


async def test_serve_fails_with_a_clear_reason_when_telegram_refuses_the_token(
    app: App,
) -> None:
    app.settings = app.settings.model_copy(update={"telegram_bot_token": SecretStr(TOKEN)})
    api = FakeBotApi()
    api.fail_next("getMe", 401, "Unauthorized")
    with pytest.raises(ServeError, match="Telegram não iniciou") as refused:
        await asyncio.wait_for(
            serve(
                app,
                host="127.0.0.1",
                port=free_port(),
                telegram_request=api,
                handle_signals=False,
            ),
            timeout=10,
        )
    assert TOKEN not in str(refused.value)
    assert app.wakeup.listeners == ()
    assert app.notice_wakeup.listeners == ()


class Terminal(io.StringIO):
    """Lines typed in a terminal."""

    def isatty(self) -> bool:
        return True


async def test_serve_without_a_token_opens_the_console_on_demo_data(
    app: App, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the console's downloads folder
    # No sweeps: a notice a catch-up sweep queues after the console's input ended waits for
    # the next thing typed, which is right, but is not what this test looks at.
    app.settings = app.settings.model_copy(update={"scheduler_enabled": False})
    running = serve(
        app,
        host="127.0.0.1",
        port=free_port(),
        stdin=Terminal("/menu\n"),
        handle_signals=False,
    )
    await asyncio.wait_for(running, timeout=20)  # the end of the console input stops serve

    shown = capsys.readouterr().out
    assert f"gestor de demonstração ({DEMO_NAME})" in shown
    assert "O que você quer fazer?" in shown
    assert "[1] Clientes" in shown
    assert count(app.uow_factory, Gestor) == 1
    uow = app.uow_factory()
    with uow:
        statuses = set(
            uow.session.scalars(
                select(OutboxMessage.status).where(OutboxMessage.identity_key == CONSOLE_GESTOR)
            )
        )
    assert statuses == {"sent"}  # printed by the console itself
    assert "vence em 7 dias" in shown  # the demo's certificate reminder, waiting for the gestor


def test_revendabot_serve_answers_healthz_and_exits_0_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TELEGRAM_", "PUBLIC_BASE_URL", "DATABASE_URL", "EVENT_LOOP"))
    }
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'serve.db'}"
    executable = Path(sys.executable).parent / "revendabot"
    process = subprocess.Popen(
        [str(executable), "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, process.communicate()[0].decode()
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "serve did not answer /healthz"
                time.sleep(0.1)
        assert (response.status_code, response.json()) == (200, {"status": "ok"})

        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=10)[0].decode()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, output
    assert "Telegram: desligado" in output
    assert "laço: uvloop" in output  # EVENT_LOOP=auto, where uvloop is installed
    assert TOKEN not in output


def test_event_loop_auto_is_uvloop_where_installed_and_asyncio_says_asyncio() -> None:
    import uvloop

    from bot.serve import loop_factory

    assert loop_factory("auto") is uvloop.new_event_loop
    assert loop_factory("asyncio") is None  # asyncio.Runner then makes asyncio's own


def test_serve_runs_on_uvloop_webhooks_sender_and_all(app: App) -> None:
    """The in-process serve, on the loop `serve` picks by default: polling, a reply sent."""
    import uvloop

    async def scenario() -> None:
        assert isinstance(asyncio.get_running_loop(), uvloop.Loop)
        await test_serve_polls_telegram_delivers_the_replies_and_stops_cleanly(app)

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(scenario())


async def test_serves_web_app_tries_the_webhooks_routes_before_any_feature_route(
    app: App,
) -> None:
    """Every request walks the routes in order until one matches, and webhooks are most of
    serve's requests: the first route that takes a webhook's POST comes before all others but
    FastAPI's own (its documentation)."""
    wa_settings(app)
    app.settings = app.settings.model_copy(
        update={
            "telegram_bot_token": SecretStr(TOKEN),
            "public_base_url": "https://bot.example.com",
            "telegram_webhook_secret": SecretStr(SECRET),
        }
    )
    async with httpx.AsyncClient(transport=httpx.MockTransport(GraphStandIn().handler)) as wa:
        web = build_runtime(app, telegram_request=FakeBotApi(), whatsapp_session=wa).web
    assert web is not None
    own = {"/openapi.json", "/docs", "/docs/oauth2-redirect"}
    webhooks = ("/webhooks/telegram", WHATSAPP_WEBHOOK_PATH)

    def post(path: str) -> dict[str, object]:
        return {"type": "http", "method": "POST", "path": path, "root_path": "", "headers": []}

    def takes_a_webhook(route: BaseRoute) -> bool:
        return any(route.matches(post(path))[0] is Match.FULL for path in webhooks)

    for path in webhooks:
        for route in web.router.routes:
            if route.matches(post(path))[0] is Match.FULL:
                break
            assert getattr(route, "path", None) in own or takes_a_webhook(route), path
        else:
            raise AssertionError(f"no route takes POST {path}")
