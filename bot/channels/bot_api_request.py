"""The Bot API requests of the Telegram channel: python-telegram-bot's `HTTPXRequest`, whose
calls without files go straight to the lanes transport (bot/channels/http_lanes.py).

`HTTPXRequest` hands every call to an `httpx.AsyncClient`, whose own layers around the
transport (merging the client's defaults into a new request, cookies, auth and redirect
handling, event hooks, wrapping the response's stream) cost about as much of the event loop's
CPU as the HTTP exchange under them. The outbox sender makes one such call per reply, on the
loop that also reads the webhooks: under load.py's open loop, sendMessage and
editMessageText were half of `serve`'s samples holding the GIL, and httpx's client a third of
those (py-spy). A call without files needs none of those layers: the request is built once,
with PTB's form parameters, its User-Agent and the timeouts, and the transport answers it. A
call with files (a document, a photo) keeps httpx's client, which writes the multipart body.

Everything above `do_request` is PTB's: the parameters' encoding, the answer's parsing and the
errors it raises for Telegram's status codes (RetryAfter, Forbidden, BadRequest...). Here the
transport's failures become PTB's `TimedOut` and `NetworkError`, as `HTTPXRequest` makes them.
"""

from __future__ import annotations

import httpx
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, HTTPXRequest, RequestData

from bot.channels.http_lanes import LaneTransport

# PTB's HTTPXRequest defaults, seconds.
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 5.0
WRITE_TIMEOUT = 5.0
POOL_TIMEOUT = 1.0
# The Bot API methods the channel calls are a dozen; past this, URLs are parsed each time.
MAX_URLS = 64

_Timeout = object  # a number of seconds, None (no limit) or PTB's DEFAULT_NONE
_DEFAULT = type(BaseRequest.DEFAULT_NONE)  # what a PTB method passes for "not given"


class LaneRequest(HTTPXRequest):
    """`HTTPXRequest` on `transport`; calls without files skip httpx's client."""

    def __init__(self, transport: LaneTransport) -> None:
        super().__init__(
            connect_timeout=CONNECT_TIMEOUT,
            read_timeout=READ_TIMEOUT,
            write_timeout=WRITE_TIMEOUT,
            pool_timeout=POOL_TIMEOUT,
            httpx_kwargs={"transport": transport},
        )
        self._lanes = transport
        self._headers = {"User-Agent": self.USER_AGENT}
        self._open = True
        # each method's URL, parsed once (a third of building a request: httpx's URL parser)
        self._urls: dict[str, httpx.URL] = {}

    async def initialize(self) -> None:
        await super().initialize()
        self._open = True

    async def shutdown(self) -> None:
        self._open = False
        await super().shutdown()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: _Timeout = BaseRequest.DEFAULT_NONE,
        write_timeout: _Timeout = BaseRequest.DEFAULT_NONE,
        connect_timeout: _Timeout = BaseRequest.DEFAULT_NONE,
        pool_timeout: _Timeout = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if request_data is not None and request_data.contains_files:
            return await super().do_request(
                url,
                method,
                request_data,
                read_timeout,  # type: ignore[arg-type]
                write_timeout,  # type: ignore[arg-type]
                connect_timeout,  # type: ignore[arg-type]
                pool_timeout,  # type: ignore[arg-type]
            )
        if not self._open:
            raise RuntimeError("This HTTPXRequest is not initialized!")
        timeout = {
            "connect": _seconds(connect_timeout, CONNECT_TIMEOUT),
            "read": _seconds(read_timeout, READ_TIMEOUT),
            "write": _seconds(write_timeout, WRITE_TIMEOUT),
            "pool": _seconds(pool_timeout, POOL_TIMEOUT),
        }
        parsed = self._urls.get(url)
        if parsed is None:
            parsed = httpx.URL(url)
            if len(self._urls) < MAX_URLS:
                self._urls[url] = parsed
        request = httpx.Request(
            method,
            parsed,
            headers=self._headers,
            data=request_data.json_parameters if request_data is not None else None,
            extensions={"timeout": timeout},
        )
        try:
            response = await self._lanes.handle_async_request(request)
            try:
                content = await response.aread()
            finally:
                await response.aclose()
        except httpx.TimeoutException as err:
            if isinstance(err, httpx.PoolTimeout):
                raise TimedOut(
                    message=(
                        "Pool timeout: All connections in the connection pool are occupied. "
                        "Request was *not* sent to Telegram. Consider adjusting the connection "
                        "pool size or the pool timeout."
                    )
                ) from err
            raise TimedOut from err
        except httpx.HTTPError as err:
            raise NetworkError(f"httpx.{err.__class__.__name__}: {err}") from err
        return response.status_code, content


def _seconds(given: _Timeout, default: float) -> float | None:
    """A timeout the caller gave (a number, or None for no limit), else the default."""
    if isinstance(given, _DEFAULT):
        return default
    return given if given is None else float(given)  # type: ignore[arg-type]
