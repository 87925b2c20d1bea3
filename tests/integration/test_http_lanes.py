"""The Bot API / Graph API transport: requests spread over one-connection lanes, each lane
released however its request ends, and httpx's own transport where a proxy is configured."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from bot.channels.http_lanes import EXTRA_LANES, LaneTransport
from bot.channels.telegram import build_bot
from bot.settings import Settings


class Server:
    """HTTP/1.1 with keep-alive on 127.0.0.1; `/hold` waits for `release`, `/never` never
    answers, `/fail` answers 500; remembers the client port of every request."""

    def __init__(self) -> None:
        self.peers: list[int] = []
        self.release = asyncio.Event()
        self.holding = 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> str:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def __aexit__(self, *_exc: object) -> None:
        assert self._server is not None
        self._server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")[1]
        try:
            while line := await reader.readline():
                path = line.split()[1].decode()
                while (await reader.readline()) not in (b"\r\n", b""):
                    pass
                self.peers.append(peer)
                if path == "/never":
                    await asyncio.Event().wait()
                if path == "/hold":
                    self.holding += 1
                    await self.release.wait()
                status = b"500 Internal Server Error" if path == "/fail" else b"200 OK"
                body = b'{"ok": true}' * (1000 if path == "/big" else 1)
                writer.write(
                    b"HTTP/1.1 " + status + b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body
                )
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def lanes() -> AsyncIterator[LaneTransport]:
    transport = LaneTransport(4)
    yield transport
    await transport.aclose()


async def until(condition: object, seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.01)):
        if callable(condition) and condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met in time")


async def test_requests_at_once_take_a_lane_each_and_a_quiet_one_reuses_the_first(
    lanes: LaneTransport,
) -> None:
    server = Server()
    async with server as url, httpx.AsyncClient(transport=lanes, base_url=url) as client:
        held = [asyncio.create_task(client.get("/hold")) for _ in range(4)]
        await until(lambda: server.holding == 4)  # four at once: no lane waits for another
        assert lanes.in_flight == [1, 1, 1, 1]
        server.release.set()
        assert [r.status_code for r in await asyncio.gather(*held)] == [200] * 4
        assert len(set(server.peers)) == 4
        assert lanes.in_flight == [0, 0, 0, 0]

        server.peers.clear()
        for _ in range(5):
            assert (await client.get("/one")).json() == {"ok": True}
        assert len(set(server.peers)) == 1  # one after the other: the first lane's connection


async def test_more_requests_than_lanes_wait_in_them_and_all_are_answered(
    lanes: LaneTransport,
) -> None:
    server = Server()
    async with server as url, httpx.AsyncClient(transport=lanes, base_url=url) as client:
        held = [asyncio.create_task(client.get("/hold")) for _ in range(10)]
        await until(lambda: server.holding == 4)
        assert sorted(lanes.in_flight) == [2, 2, 3, 3]  # the least busy lane each time
        server.release.set()
        answers = await asyncio.gather(*held)
    assert [r.status_code for r in answers] == [200] * 10
    assert len(set(server.peers)) == 4  # never more connections than lanes
    assert lanes.in_flight == [0, 0, 0, 0]


async def test_a_lane_is_freed_however_its_request_ends(lanes: LaneTransport) -> None:
    server = Server()
    async with server as url, httpx.AsyncClient(transport=lanes, base_url=url) as client:
        assert (await client.get("/fail")).status_code == 500
        with pytest.raises(httpx.ReadTimeout):
            await client.get("/never", timeout=0.2)
        waiting = asyncio.create_task(client.get("/never"))
        await until(lambda: sum(lanes.in_flight) == 1)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        async with client.stream("GET", "/big") as response:  # closed before its body is read
            assert response.status_code == 200
        assert lanes.in_flight == [0, 0, 0, 0]
        unreachable = httpx.AsyncClient(transport=lanes, base_url="http://127.0.0.1:9")
        with pytest.raises(httpx.ConnectError):
            await unreachable.get("/")
    assert lanes.in_flight == [0, 0, 0, 0]


def test_a_lane_is_at_least_one() -> None:
    with pytest.raises(ValueError, match="lane"):
        LaneTransport(0)


def _bot_settings() -> Settings:
    return Settings(environment="test", telegram_bot_token=SecretStr("123:ABC"), _env_file=None)


def _transport(request: object) -> object:
    return request._client._transport  # type: ignore[attr-defined]


def test_the_bot_sends_on_lanes_and_polls_on_ptbs_own_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    settings = _bot_settings()
    bot = build_bot(settings)
    sends = _transport(bot.request)
    assert isinstance(sends, LaneTransport)
    assert len(sends.in_flight) == settings.sender_concurrency + EXTRA_LANES
    assert not isinstance(_transport(bot._request[0]), LaneTransport)  # getUpdates


def test_with_a_proxy_in_the_environment_httpx_keeps_its_own_transport(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    bot = build_bot(_bot_settings())
    assert not isinstance(_transport(bot.request), LaneTransport)


def test_the_lanes_share_one_tls_context_that_verifies_certificates(
    lanes: LaneTransport,
) -> None:
    import ssl

    contexts = {id(lane._pool._ssl_context) for lane in lanes._lanes}
    assert len(contexts) == 1
    context = lanes._lanes[0]._pool._ssl_context
    assert context is not None
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
