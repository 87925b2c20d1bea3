"""Who to wake when messages were enqueued: the outbox sender and the notice loop; and to whom
an event hands the replies it claimed for this process's sender.

One object, built with the app before anything that enqueues, so nothing needs a back-pointer
to the app; subscribers come and go with `serve`. `wake` is safe from any thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import datetime

from services import outbox as services_outbox
from storage.conversation import ClaimedMessage

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


class Handoff:
    """This process's outbox sender as the conversation engine sees it (services.outbox.Handoff):
    built with the app, the sender attached while `serve` runs it. With none attached the
    engine claims nothing for a sender and wakes instead. Safe from any thread."""

    def __init__(self) -> None:
        self._sender: services_outbox.Handoff | None = None

    def attach(self, sender: services_outbox.Handoff) -> Callable[[], None]:
        """Hand this sender the events' replies; returns the call that stops it."""
        self._sender = sender
        return lambda: self._detach(sender)

    def _detach(self, sender: services_outbox.Handoff) -> None:
        if self._sender is sender:
            self._sender = None

    def takes(self, channel: str) -> bool:
        sender = self._sender
        return sender is not None and sender.takes(channel)

    def adopt(self, messages: Sequence[ClaimedMessage], claimed_at: datetime) -> bool:
        sender = self._sender
        return sender is not None and sender.adopt(messages, claimed_at)
