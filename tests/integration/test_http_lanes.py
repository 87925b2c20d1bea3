"""The Bot API / Graph API transport: requests spread over one-connection lanes, each lane
released however its request ends, and httpx's own transport where a proxy is configured; the
Bot API's requests on them; a lane's connection on asyncio's own streams and TLS."""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpcore
import httpx
import pytest
from pydantic import SecretStr
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.error import NetworkError, TelegramError, TimedOut
from telegram.request import HTTPXRequest

from bot.channels.asyncio_network import AsyncioBackend
from bot.channels.bot_api_request import LaneRequest
from bot.channels.http_lanes import EXTRA_LANES, LaneTransport
from bot.channels.telegram import build_bot
from bot.serve import loop_factory
from bot.settings import Settings
from tests.support_sefaz import ServerPki


class Local:
    """A server on 127.0.0.1 for the block of `async with` (its URL, under `prefix`)."""

    prefix = ""

    async def __aenter__(self) -> str:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}{self.prefix}"

    async def __aexit__(self, *_exc: object) -> None:
        self._server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError


class Server(Local):
    """HTTP/1.1 with keep-alive on 127.0.0.1; `/hold` waits for `release`, `/never` never
    answers, `/fail` answers 500; remembers the client port of every request."""

    def __init__(self) -> None:
        self.peers: list[int] = []
        self.release = asyncio.Event()
        self.holding = 0

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


# -- the Bot API requests on the lanes (bot/channels/bot_api_request.py) -------------------------

TOKEN = "123:ABC"
MESSAGE = {"message_id": 77, "date": 1765000000, "chat": {"id": 42, "type": "private"}}
ME = {"id": 123, "is_bot": True, "first_name": "RevendaBot", "username": "revenda_bot"}


@dataclass
class Exchange:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class BotApi(Local):
    """A Bot API on 127.0.0.1 that records every request as it arrives (headers, body) and
    answers each method as `answers` says: (status, JSON body), or None to never answer;
    getMe (a Bot's start) is answered and not recorded."""

    prefix = "/bot"

    def __init__(self, answers: dict[str, tuple[int, dict[str, Any]] | None]) -> None:
        self.answers = {"getMe": (200, {"ok": True, "result": ME}), **answers}
        self.exchanges: list[Exchange] = []

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                verb, path, _ = line.decode().split(" ", 2)
                headers: dict[str, str] = {}
                while (header := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = header.decode().partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                method = path.rsplit("/", 1)[-1]
                if method != "getMe":
                    self.exchanges.append(Exchange(verb, path, headers, body))
                answer = self.answers[method]
                if answer is None:
                    await asyncio.Event().wait()
                    return
                status, content = answer
                payload = json.dumps(content).encode()
                writer.write(
                    b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\n" % status
                    + b"Content-Length: %d\r\n\r\n" % len(payload)
                    + payload
                )
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()


def _bots(base_url: str) -> dict[str, Bot]:
    """The same Bot on PTB's own request (over the same lanes, through httpx's client) and on
    ours."""
    return {
        "ptb": Bot(
            TOKEN,
            base_url=base_url,
            request=HTTPXRequest(httpx_kwargs={"transport": LaneTransport(2)}),
        ),
        "ours": Bot(TOKEN, base_url=base_url, request=LaneRequest(LaneTransport(2))),
    }


async def _send(bot: Bot) -> Message:
    markup = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("Clientes", callback_data="c:1")],
            [InlineKeyboardButton("Painel", url="https://exemplo.com.br/painel")],
        ]
    )
    return await bot.send_message(
        42, "<code>123</code> ção 😀", reply_markup=markup, parse_mode="HTML"
    )


async def test_a_call_without_files_sends_what_ptbs_request_sends_and_reads_its_answer() -> None:
    api = BotApi({"sendMessage": (200, {"ok": True, "result": MESSAGE})})
    async with api as url:
        answers = {}
        for name, bot in _bots(url).items():
            async with bot:
                answers[name] = await _send(bot)
    assert answers["ours"] == answers["ptb"]
    assert answers["ours"].message_id == 77
    ptb, ours = api.exchanges
    assert (ours.method, ours.path, ours.body) == (ptb.method, ptb.path, ptb.body)
    assert ours.path == f"/bot{TOKEN}/sendMessage"
    assert b"reply_markup=" in ours.body
    assert b"parse_mode=HTML" in ours.body
    # the same headers, but for those httpx's client adds by default
    client_defaults = {"accept", "accept-encoding", "connection"}
    assert ours.headers == {k: v for k, v in ptb.headers.items() if k not in client_defaults}
    assert ours.headers["user-agent"].startswith("python-telegram-bot")
    assert ours.headers["content-type"] == "application/x-www-form-urlencoded"


@pytest.mark.parametrize(
    "answer",
    [
        (400, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}),
        (403, {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked"}),
        (
            429,
            {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 7",
                "parameters": {"retry_after": 7},
            },
        ),
        (
            400,
            {
                "ok": False,
                "error_code": 400,
                "description": "Bad Request: group chat was upgraded",
                "parameters": {"migrate_to_chat_id": -1001},
            },
        ),
        (502, {"ok": False, "error_code": 502, "description": "Bad Gateway"}),
        (500, {"nothing": "expected"}),
    ],
    ids=["400", "403", "429", "migrated", "502", "500-odd"],
)
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # (retry_after's)
async def test_telegrams_refusals_raise_what_ptbs_request_raises(
    answer: tuple[int, dict[str, Any]],
) -> None:
    async with BotApi({"sendMessage": answer}) as url:
        raised = {}
        for name, bot in _bots(url).items():
            async with bot:
                with pytest.raises(TelegramError) as caught:
                    await _send(bot)
                raised[name] = (type(caught.value), str(caught.value))
    assert raised["ours"] == raised["ptb"]


async def test_the_transports_failures_raise_what_ptbs_request_raises() -> None:
    async with BotApi({"sendMessage": None}) as url:
        for name, bot in _bots(url).items():
            async with bot:
                started = asyncio.get_running_loop().time()
                with pytest.raises(TimedOut):  # the caller's read timeout, not the default 5 s
                    await bot.send_message(42, "Olá", read_timeout=0.2)
                assert asyncio.get_running_loop().time() - started < 2, name
    raised = {}
    for name, bot in _bots("http://127.0.0.1:9/bot").items():  # nobody listens there
        with pytest.raises(NetworkError) as caught:
            await bot.send_message(42, "Olá")
        raised[name] = (type(caught.value), str(caught.value))
        await bot.shutdown()
    assert raised["ours"] == raised["ptb"]
    assert "httpx.ConnectError" in raised["ours"][1]


async def test_a_call_with_a_file_goes_through_httpxs_client_as_before() -> None:
    api = BotApi({"sendDocument": (200, {"ok": True, "result": MESSAGE})})
    async with api as url:
        bot = _bots(url)["ours"]
        async with bot:
            sent = await bot.send_document(42, b"%PDF-1.4 conteudo", filename="danfe.pdf")
    assert sent.message_id == 77
    (exchange,) = api.exchanges
    assert exchange.headers["content-type"].startswith("multipart/form-data")
    assert b"%PDF-1.4 conteudo" in exchange.body
    assert b'filename="danfe.pdf"' in exchange.body


async def test_a_shut_down_request_refuses_calls_as_ptbs_does() -> None:
    async with BotApi({"sendMessage": (200, {"ok": True, "result": MESSAGE})}) as url:
        raised = {}
        for name, bot in _bots(url).items():
            await bot.initialize()
            await bot.shutdown()
            with pytest.raises(NetworkError) as caught:
                await bot.send_message(42, "Olá")
            raised[name] = str(caught.value)
            await bot.initialize()  # and works again once initialized
            assert (await bot.send_message(42, "Olá")).message_id == 77
            await bot.shutdown()
    assert raised["ours"] == raised["ptb"]
    assert "not initialized" in raised["ours"]


# -- a lane's connection on asyncio's own streams (bot/channels/asyncio_network.py) --------------


class Tls(Local):
    """HTTPS on 127.0.0.1 with a certificate for that address from a CA of its own; answers
    every request and, with `close_idle`, closes the connection right after (without saying
    so), as a peer drops a keep-alive connection; with `silent`, never starts TLS."""

    def __init__(self, pki: ServerPki, *, close_idle: bool = False, silent: bool = False) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(pki.cert_pem, pki.key_pem)
        self.close_idle, self.silent = close_idle, silent
        self.connections = 0

    async def __aenter__(self) -> str:
        context = None if self.silent else self.context
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=context)
        return f"https://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            if self.silent:
                await asyncio.Event().wait()
            while await reader.readline():
                while (await reader.readline()) not in (b"\r\n", b""):
                    pass
                writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n{"ok": true}')
                await writer.drain()
                if self.close_idle:
                    break
        except (ConnectionError, ssl.SSLError, asyncio.CancelledError):
            pass
        finally:
            writer.close()


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> ServerPki:
    return ServerPki.make(tmp_path_factory.mktemp("pki"))


def _verifying(pki: ServerPki) -> LaneTransport:
    """Lanes that trust the test CA alone, as the real ones trust the system's."""
    lanes = LaneTransport(2)
    tls = ssl.create_default_context(cafile=str(pki.ca_pem))
    for lane in lanes._lanes:
        lane._pool._ssl_context = tls
    return lanes


async def test_a_lane_speaks_tls_on_asyncio_and_checks_the_peers_certificate(
    pki: ServerPki, tmp_path: Path
) -> None:
    lanes = _verifying(pki)
    assert all(isinstance(lane._pool._network_backend, AsyncioBackend) for lane in lanes._lanes)
    anyio_lanes = LaneTransport(1, None)  # (benchmarks/bot_api_calls.py's baseline)
    assert not isinstance(anyio_lanes._lanes[0]._pool._network_backend, AsyncioBackend)
    async with Tls(pki) as url, httpx.AsyncClient(transport=lanes) as client:
        response = await client.get(url + "/getMe")
        assert response.json() == {"ok": True}
        stream = response.extensions["network_stream"]
        assert stream.get_extra_info("ssl_object").version().startswith("TLSv1.")
        assert stream.get_extra_info("server_addr")[0] == "127.0.0.1"
        assert stream.get_extra_info("client_addr")[0] == "127.0.0.1"
        assert stream.get_extra_info("socket") is not None
        assert stream.get_extra_info("anything else") is None
        # the certificate names 127.0.0.1, not localhost
        port = url.rsplit(":", 1)[1]
        with pytest.raises(httpx.ConnectError, match=r"match|mismatch"):
            await client.get(f"https://localhost:{port}/getMe")
    other = ServerPki.make(tmp_path)  # a certificate from a CA the lanes do not trust
    async with Tls(other) as url, httpx.AsyncClient(transport=_verifying(pki)) as client:
        with pytest.raises(httpx.ConnectError, match="certificate verify failed"):
            await client.get(url + "/getMe")
    assert lanes.in_flight == [0, 0]


async def test_a_connection_the_peer_dropped_while_idle_is_replaced(pki: ServerPki) -> None:
    server = Tls(pki, close_idle=True)
    lanes = _verifying(pki)
    async with server as url, httpx.AsyncClient(transport=lanes) as client:
        for _ in range(3):
            assert (await client.get(url + "/getMe")).json() == {"ok": True}
            await asyncio.sleep(0.05)  # the peer's close arrives while the lane is idle
    assert server.connections == 3
    assert lanes.in_flight == [0, 0]


async def test_a_peer_that_never_starts_tls_times_the_connection_out(pki: ServerPki) -> None:
    lanes = _verifying(pki)
    async with Tls(pki, silent=True) as url, httpx.AsyncClient(transport=lanes) as client:
        started = asyncio.get_running_loop().time()
        with pytest.raises(httpx.ConnectTimeout):
            await client.get(url + "/getMe", timeout=0.3)
        assert asyncio.get_running_loop().time() - started < 2
    assert lanes.in_flight == [0, 0]


@pytest.mark.parametrize("loop", ["asyncio", "auto"])
def test_a_write_on_a_closed_connection_is_httpcores_write_error(loop: str) -> None:
    """On either loop `serve` may run (uvloop's transport raises a RuntimeError of its own)."""

    async def closed_then_written() -> None:
        async with Server() as url:
            port = int(url.rsplit(":", 1)[1])
            stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=1)
            await stream.aclose()
            await asyncio.sleep(0.05)  # (the transport gone, not only closing)
            with pytest.raises(httpcore.WriteError):
                await stream.write(b"GET / HTTP/1.1\r\n\r\n")
            with pytest.raises(httpcore.ConnectError):
                await AsyncioBackend().connect_tcp("127.0.0.1", 9, timeout=1)

    with asyncio.Runner(loop_factory=loop_factory(loop)) as runner:
        runner.run(closed_then_written())
