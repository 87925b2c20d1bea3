"""An httpx transport that spreads requests over connection pools of one connection each.

httpcore's connection pool walks all its connections several times for every request (it asks
each idle one whether its socket is still open, and counts the idle ones once per idle one):
with the sixteen connections the outbox sender's concurrency opens to the Bot API, a
`sendMessage` cost twice the CPU it costs on a pool of one (benchmarks/bot_api_calls.py).
Here each lane is a pool of one connection, so every walk sees one; a request takes the least
busy lane, so as many requests as there are lanes run at once without waiting for each other,
and a lane opens its connection only when the others are busy (the first lanes take the
traffic of a quiet process). A lane's connection runs on asyncio's own streams and TLS, not on
AnyIO's (bot/channels/asyncio_network.py).

Environment proxies (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY) are honoured by httpx only for the
transport it builds itself: where one is set, `lanes_or_default` leaves httpx to it.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import AsyncIterator
from typing import cast

import httpcore
import httpx

from bot.channels.asyncio_network import AsyncioBackend

_PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy")
_ASYNCIO = AsyncioBackend()  # (it holds no state: one serves every lane)
# Lanes beyond the sender's concurrency, for a channel's other calls (a file the person sent,
# the webhook's set-up) while the sender's are all in flight.
EXTRA_LANES = 4


class LaneTransport(httpx.AsyncBaseTransport):
    """`lanes` single-connection pools; each request on the one with the fewest in flight."""

    def __init__(
        self, lanes: int, network: httpcore.AsyncNetworkBackend | None = _ASYNCIO
    ) -> None:
        """`network`: the connections' backend; None for httpcore's own (AnyIO)."""
        if lanes < 1:
            raise ValueError("at least one lane")
        # one TLS context for all (each transport would load the CA bundle again: ≈25 ms)
        tls = httpx.create_ssl_context()
        self._lanes = [_lane(tls, network) for _ in range(lanes)]
        self.in_flight = [0] * lanes

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        lane = self.in_flight.index(min(self.in_flight))
        self.in_flight[lane] += 1
        try:
            response = await self._lanes[lane].handle_async_request(request)
        except BaseException:
            self.in_flight[lane] -= 1
            raise
        # the lane stays busy until the body is read or the response closed
        stream = cast(httpx.AsyncByteStream, response.stream)  # an async transport's
        response.stream = _Released(stream, self, lane)
        return response

    def _release(self, lane: int) -> None:
        self.in_flight[lane] -= 1

    async def aclose(self) -> None:
        for lane in self._lanes:
            await lane.aclose()


def _lane(
    tls: ssl.SSLContext, network: httpcore.AsyncNetworkBackend | None
) -> httpx.AsyncHTTPTransport:
    """httpx's transport on a pool of one connection over `network`. httpx names no network
    backend for the pool it builds, so the pool is built here, as httpx builds it for these
    limits, with that backend."""
    one = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    transport = httpx.AsyncHTTPTransport(verify=tls, limits=one)
    if network is None:
        return transport
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=tls,
        max_connections=one.max_connections,
        max_keepalive_connections=one.max_keepalive_connections,
        keepalive_expiry=one.keepalive_expiry,
        network_backend=network,
    )
    return transport


class _Released(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream, owner: LaneTransport, lane: int) -> None:
        self._inner, self._owner, self._lane = inner, owner, lane
        self._open = True

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            if self._open:
                self._open = False
                self._owner._release(self._lane)


def environment_proxy() -> bool:
    """Whether httpx would send requests through a proxy named in the environment."""
    return any(os.environ.get(name) or os.environ.get(name.upper()) for name in _PROXY_VARIABLES)


def lanes_or_default(lanes: int) -> LaneTransport | None:
    """The lanes transport, or None (httpx's own, with its proxy) where a proxy is set."""
    return None if environment_proxy() else LaneTransport(lanes)
