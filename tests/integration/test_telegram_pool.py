"""The sender's HTTP pool to the Bot API, over real sockets to a local Bot API stand-in: at
most TELEGRAM_CONNECTIONS connections, reused, and a burst larger than the pool waits its turn
instead of failing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from pydantic import SecretStr

from bot.channels.telegram import build_bot
from bot.settings import Settings
from tests.integration.fake_telegram import TOKEN

ANSWER_SECONDS = 0.25
MESSAGE = {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}, "text": "ok"}
RESULTS: dict[str, object] = {
    "getMe": {"id": 7, "is_bot": True, "first_name": "RevendaBot", "username": "revenda_bot"},
    "getUpdates": [],
}


@dataclass
class SlowBotApi:
    """Answers every call after ANSWER_SECONDS on HTTP/1.1 keep-alive; counts connections."""

    connections: int = 0
    open_now: int = 0
    most_open: int = 0
    busy_now: int = 0
    most_busy: int = 0
    methods: list[str] = field(default_factory=list)

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open_now += 1
        self.most_open = max(self.most_open, self.open_now)
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                lines = head.decode("latin-1").split("\r\n")
                length = next(
                    (int(v) for k, _, v in (x.partition(":") for x in lines[1:])
                     if k.lower() == "content-length"),
                    0,
                )  # fmt: skip
                await reader.readexactly(length)
                method = lines[0].split()[1].rsplit("/", 1)[-1]
                self.methods.append(method)
                self.busy_now += 1
                self.most_busy = max(self.most_busy, self.busy_now)
                await asyncio.sleep(ANSWER_SECONDS)
                self.busy_now -= 1
                body = json.dumps({"ok": True, "result": RESULTS.get(method, MESSAGE)}).encode()
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.open_now -= 1
            writer.close()


@pytest.fixture
async def slow_api() -> AsyncIterator[tuple[SlowBotApi, str]]:
    api = SlowBotApi()
    server = await asyncio.start_server(api.serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield api, f"http://127.0.0.1:{port}/bot"
    finally:
        server.close()
        await server.wait_closed()


def settings_for(base_url: str, connections: int | None = None) -> Settings:
    settings = Settings(
        environment="test",
        telegram_bot_token=SecretStr(TOKEN),
        telegram_base_url=base_url,
        _env_file=None,
    )
    if connections is None:
        return settings
    return settings.model_copy(update={"telegram_connections": connections})


async def test_a_burst_uses_at_most_the_pools_connections_and_every_send_gets_through(
    slow_api: tuple[SlowBotApi, str],
) -> None:
    """24 sends over 3 connections: eight rounds of three, none fails."""
    api, base_url = slow_api
    bot = build_bot(settings_for(base_url, 3))
    async with bot:
        sent = await asyncio.gather(*(bot.send_message(1, f"m{i}") for i in range(24)))
    assert len(sent) == 24
    assert api.most_busy == 3
    assert api.connections == 3  # opened once, reused
    assert api.methods.count("sendMessage") == 24


async def test_the_default_pool_is_telegram_connections_and_the_long_poll_is_apart(
    slow_api: tuple[SlowBotApi, str],
) -> None:
    api, base_url = slow_api
    settings = settings_for(base_url)
    bot = build_bot(settings)
    async with bot:
        sends = [bot.send_message(1, f"m{i}") for i in range(settings.telegram_connections * 2)]
        await asyncio.gather(*sends, bot.get_updates(timeout=0))
    assert settings.telegram_connections == 16
    # the sends' 16 and getUpdates' own one
    assert api.most_busy == settings.telegram_connections + 1
    assert api.connections == settings.telegram_connections + 1
