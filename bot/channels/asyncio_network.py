"""httpcore's network backend on asyncio's own streams, for the lanes to the Bot API and the
Graph API (bot/channels/http_lanes.py).

httpcore runs on asyncio through AnyIO: every read and every write of a request enters an
AnyIO cancel scope for its timeout (a task lookup, a timer, the scope's bookkeeping), and
TLS is AnyIO's own, which moves every byte through an `ssl.MemoryBIO` in Python. Here a read
or a write is a StreamReader / StreamWriter call under `asyncio.timeout`, and TLS is the
event loop's own (uvloop's, in `serve`). The outbox sender makes one such exchange per reply,
on the loop that also reads the webhooks (benchmarks/bot_api_calls.py).

httpcore's interface (`AsyncNetworkBackend`, `AsyncNetworkStream`) is what it offers for a
backend of one's own. Its errors are httpcore's (ConnectError, ReadTimeout...), which httpx
turns into its own as it does for AnyIO's.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpcore
from httpcore import AsyncNetworkBackend, AsyncNetworkStream
from httpcore._utils import is_socket_readable

_SocketOption = tuple[Any, ...]  # setsockopt's arguments


@contextmanager
def _mapped(timeout: type[Exception], failure: type[Exception]) -> Iterator[None]:
    """asyncio's timeout and the socket's (or TLS's) errors as httpcore's."""
    try:
        yield
    except TimeoutError as exc:
        raise timeout(str(exc)) from exc
    except OSError as exc:  # (ssl.SSLError and ConnectionError are OSErrors)
        raise failure(str(exc) or type(exc).__name__) from exc


class AsyncioStream(AsyncNetworkStream):
    """One connection: asyncio's reader and writer (TLS, once started, under them)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    # (the timeouts are arguments of httpcore's interface)
    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        with _mapped(httpcore.ReadTimeout, httpcore.ReadError):
            async with asyncio.timeout(timeout):
                return await self._reader.read(max_bytes)  # b"" at the end of the stream

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        if not buffer:
            return
        if self._writer.is_closing():  # (uvloop's transport would raise a RuntimeError)
            raise httpcore.WriteError("the connection is closed")
        with _mapped(httpcore.WriteTimeout, httpcore.WriteError):
            async with asyncio.timeout(timeout):
                self._writer.write(buffer)
                await self._writer.drain()

    async def aclose(self) -> None:
        # Not waiting for the close: httpcore closes an expired connection on the way to a
        # request, which must not wait for a TLS goodbye the peer may never answer.
        self._writer.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> AsyncNetworkStream:
        try:
            with _mapped(httpcore.ConnectTimeout, httpcore.ConnectError):
                async with asyncio.timeout(timeout):
                    await self._writer.start_tls(ssl_context, server_hostname=server_hostname)
        except BaseException:
            self._writer.close()
            raise
        return self

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":  # an idle connection the peer closed: httpcore's own check
            # (a transport the loop closed on the peer's TLS close has no socket: readable)
            return is_socket_readable(self._writer.get_extra_info("socket"))
        if info == "ssl_object":
            return self._writer.get_extra_info("ssl_object")
        if info == "socket":
            return self._writer.get_extra_info("socket")
        if info == "client_addr":
            return self._writer.get_extra_info("sockname")
        if info == "server_addr":
            return self._writer.get_extra_info("peername")
        return None


class AsyncioBackend(AsyncNetworkBackend):
    """TCP connections on the running asyncio loop."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109
        local_address: str | None = None,
        socket_options: Iterable[_SocketOption] | None = None,
    ) -> AsyncNetworkStream:
        local = None if local_address is None else (local_address, 0)
        with _mapped(httpcore.ConnectTimeout, httpcore.ConnectError):
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(host, port, local_addr=local)
            try:
                sock = writer.get_extra_info("socket")
                for option in socket_options or ():
                    sock.setsockopt(*option)
            except BaseException:
                writer.close()
                raise
        return AsyncioStream(reader, writer)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
