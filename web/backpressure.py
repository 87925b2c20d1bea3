"""Webhook admission: a bounded number of inbound events in progress per process.

Webhooks are processed before they are answered (a crash makes the platform redeliver, and the
database dedupes). Under a burst beyond what the process can handle, queueing without bound only
makes every answer late; instead, past `limit` events in progress the webhook answers 503 with
`Retry-After`, and Telegram and Meta deliver that update again later (both retry any non-2xx).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from fastapi import Response

DEFAULT_LIMIT = 64


class Admission:
    def __init__(
        self,
        limit: int = DEFAULT_LIMIT,
        retry_after_seconds: int = 1,
        on_refused: Callable[[], None] | None = None,
    ) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.on_refused = on_refused
        self.limit = limit
        self.retry_after_seconds = retry_after_seconds
        self.in_flight = 0
        self.refused = 0

    @contextlib.contextmanager
    def enter(self) -> Iterator[bool]:
        """Yield True when the event may be processed now (and count it while it is)."""
        if self.in_flight >= self.limit:
            self.refused += 1
            if self.on_refused is not None:
                self.on_refused()
            yield False
            return
        self.in_flight += 1
        try:
            yield True
        finally:
            self.in_flight -= 1

    def busy(self) -> Response:
        return Response(status_code=503, headers={"Retry-After": str(self.retry_after_seconds)})
