"""A sliding-window rate limiter kept in memory.

Good for one process. With several instances behind a load balancer each counts on its own
(the effective limit is N times higher): move the counters to the database or Redis then.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class SlidingWindowLimiter:
    def __init__(
        self,
        *,
        limit: int,
        window: float,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._max_keys = max_keys
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> float | None:
        """Count one request for `key`; None when allowed, else seconds until it would be."""
        now = self._clock()
        with self._lock:
            hits = self._hits.get(key)
            if hits is None:
                if len(self._hits) >= self._max_keys:
                    self._forget_idle(now)
                hits = self._hits[key] = deque()
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return hits[0] + self.window - now
            hits.append(now)
            return None

    def _forget_idle(self, now: float) -> None:
        idle = [k for k, v in self._hits.items() if not v or v[-1] <= now - self.window]
        for key in idle:
            del self._hits[key]
        if len(self._hits) >= self._max_keys:  # still full of live keys: drop the oldest
            for key in list(self._hits)[: len(self._hits) // 2]:
                del self._hits[key]
