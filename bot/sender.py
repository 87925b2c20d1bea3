"""The outbox sender: delivers what the conversation engine put in the outbox.

It wakes when `App.wake()` is called (from any thread; `serve` subscribes it to the app's
`Wakeup`) and once a second anyway, claims a batch of due messages for the channels it has
senders for, and sends each identity's messages in order; different identities go concurrently,
at most `concurrency` at a time. Every fate is recorded (services.outbox.record): delivered,
deferred (retried later, with backoff, at most outbox.MAX_ATTEMPTS times) or failed. While one
of an identity's messages is deferred, its newer messages are deferred behind it (in this
process; across processes the claim order alone keeps them roughly in line).

Per-chat pacing and global caps (Telegram ≈ 1 msg/s per chat, 30 msg/s overall) belong to a
`Pacer` (bot/pacing.py), awaited before each send. A paced identity may take longer than the
claim lease; its messages still waiting when half the lease has gone are handed back (not
counted as attempts) so no other instance reclaims, and sends again, what is in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol

from services import outbox
from services.outbox import Deferred, Fate
from services.types import UnitOfWorkFactory
from storage.conversation import ClaimedMessage

log = logging.getLogger(__name__)

IDLE_INTERVAL = 1.0  # seconds between looks at the outbox when nobody wakes us
CRASH_DELAY = timedelta(seconds=5)  # after an unexpected error; doubled for each next one
MAX_CRASH_DELAY = timedelta(minutes=10)
HOLD_MARGIN = timedelta(seconds=1)
MAX_ERROR = 500
# Stop sending a claimed batch well before its lease runs out.
LEASE_BUDGET = outbox.CLAIM_LEASE / 2


class ChannelSender(Protocol):
    """Delivers one message of its channel and says what became of it."""

    channel: str

    async def deliver(self, message: ClaimedMessage) -> Fate: ...


class Pacer(Protocol):
    """Waits until `message` may go out (rate limits per chat and overall)."""

    async def wait(self, message: ClaimedMessage) -> None: ...


class OutboxSender:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        senders: Sequence[ChannelSender],
        *,
        batch: int = 100,
        concurrency: int = 16,
        interval: float = IDLE_INTERVAL,
        pacer: Pacer | None = None,
        on_fate: Callable[[str, Fate], None] | None = None,
    ) -> None:
        self.uow_factory = uow_factory
        self.on_fate = on_fate
        self.senders = {sender.channel: sender for sender in senders}
        self.batch = batch
        self.interval = interval
        self.pacer = pacer
        self._slots = asyncio.Semaphore(concurrency)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wakeup: asyncio.Event | None = None
        self._stopping = False
        # identity -> when its deferred message is due: newer ones must not overtake it.
        self._held: dict[str, datetime] = {}

    @property
    def channels(self) -> list[str]:
        return sorted(self.senders)

    def wake(self) -> None:
        """Look at the outbox now. Safe to call from any thread, before or after `run`."""
        self._call_in_loop(self._set_wakeup)

    def stop(self) -> None:
        """Finish the sends in flight, then make `run` return. Safe from any thread."""
        self._stopping = True
        self._call_in_loop(self._set_wakeup)

    def _call_in_loop(self, callback: Callable[[], None]) -> None:
        loop = self._loop
        if loop is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop has just closed
            loop.call_soon_threadsafe(callback)

    def _set_wakeup(self) -> None:
        if self._wakeup is not None:
            self._wakeup.set()

    async def run(self) -> None:
        """Deliver until `stop()`; returns once the batch in flight is recorded."""
        self._loop = asyncio.get_running_loop()
        self._wakeup = asyncio.Event()
        try:
            while not self._stopping:
                await self.send_due()
                if self._stopping:
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), timeout=self.interval)
                self._wakeup.clear()
        finally:
            self._loop = None

    async def send_due(self) -> int:
        """Send every message due now (batch after batch); return how many were handled."""
        handled = 0
        now = datetime.now(UTC)
        self._held = {key: until for key, until in self._held.items() if until > now}
        while not self._stopping and self.senders:
            try:
                claimed = await asyncio.to_thread(
                    outbox.claim, self.uow_factory, limit=self.batch, channels=self.channels
                )
            except Exception:
                log.exception("could not claim outbox messages")
                return handled
            if not claimed:
                return handled
            claimed_at = datetime.now(UTC)
            await asyncio.gather(*(self._send_group(g, claimed_at) for g in _by_identity(claimed)))
            handled += len(claimed)
            if len(claimed) < self.batch:
                return handled
        return handled

    async def _send_group(
        self, messages: list[ClaimedMessage], claimed_at: datetime | None = None
    ) -> None:
        """Send one identity's messages in order; after a deferral, the rest wait behind it.

        Each message's fate is written right after its call, before the next call: a process
        killed mid-batch leaves at most its calls in flight unrecorded (sent again after the
        lease, so at most one duplicate per concurrent call), never the whole batch.
        """
        identity = messages[0].identity_key
        held_back: list[Fate] = []
        async with self._slots:
            for message in messages:
                wait = self._held_for(identity)
                if wait is not None or self._stopping:
                    # attempts=0: being held back is not a failed attempt of this message;
                    # the margin makes the deferred one due first.
                    delay = wait + HOLD_MARGIN if wait is not None else timedelta(0)
                    held_back.append(
                        Deferred(message.id, 0, delay, "aguardando a mensagem anterior")
                    )
                    continue
                fate = await self._deliver(message, claimed_at)
                await self._record([fate])
                if self.on_fate is not None:
                    self.on_fate(message.channel, fate)
                if isinstance(fate, Deferred):
                    self._held[identity] = datetime.now(UTC) + fate.delay
        await self._record(held_back)  # never sent: recording them late risks nothing

    async def _record(self, fates: list[Fate]) -> None:
        if not fates:
            return
        try:
            await asyncio.to_thread(outbox.record, self.uow_factory, fates)
        except Exception:
            # The claim lease runs out and the messages are sent again: at least once.
            log.exception("could not record the fate of %d outbox messages", len(fates))

    def _held_for(self, identity: str) -> timedelta | None:
        """How long this identity's messages must still wait behind a deferred one."""
        until = self._held.get(identity)
        if until is None:
            return None
        left = until - datetime.now(UTC)
        if left <= timedelta(0):
            del self._held[identity]
            return None
        return left

    async def _deliver(self, message: ClaimedMessage, claimed_at: datetime | None = None) -> Fate:
        sender = self.senders[message.channel]
        try:
            if self.pacer is not None:
                await self.pacer.wait(message)
            if claimed_at is not None and datetime.now(UTC) - claimed_at > LEASE_BUDGET:
                # Paced past half the lease: hand it back (not an attempt) rather than risk
                # another instance reclaiming it while it is sent here.
                return Deferred(message.id, 0, timedelta(0), "devolvida pelo ritmo de envio")
            return await sender.deliver(message)
        except Exception as exc:
            log.exception("sender %s crashed on outbox message %s", message.channel, message.id)
            error = f"{type(exc).__name__}: {exc}"[:MAX_ERROR]
            # bounded: after outbox.MAX_ATTEMPTS the row is recorded failed
            return Deferred(message.id, message.attempts, crash_delay(message.attempts), error)


def crash_delay(attempts: int) -> timedelta:
    """How long a message waits after its `attempts`-th try failed unexpectedly."""
    return min(CRASH_DELAY * 2 ** max(attempts - 1, 0), MAX_CRASH_DELAY)


def _by_identity(messages: Sequence[ClaimedMessage]) -> list[list[ClaimedMessage]]:
    """Messages grouped per identity, each group in outbox order."""
    groups: dict[str, list[ClaimedMessage]] = {}
    for message in messages:
        groups.setdefault(message.identity_key, []).append(message)
    return list(groups.values())
