"""Who to wake when messages were enqueued: the outbox sender and the notice loop.

One object, built with the app before anything that enqueues, so nothing needs a back-pointer
to the app; subscribers come and go with `serve`. `wake` is safe from any thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

Listener = Callable[[], None]


class Wakeup:
    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Add `listener`; returns the call that removes it."""
        with self._lock:
            self._listeners.append(listener)
        return lambda: self.unsubscribe(listener)

    def unsubscribe(self, listener: Listener) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    @property
    def listeners(self) -> tuple[Listener, ...]:
        with self._lock:
            return tuple(self._listeners)

    def wake(self) -> None:
        for listener in self.listeners:
            listener()
