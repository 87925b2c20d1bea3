"""The outbox sender: delivers what the conversation engine put in the outbox.

It wakes when `App.wake()` is called (from any thread; `serve` subscribes it to the app's
`Wakeup`) and once a second anyway, and claims due messages for the channels it has senders
for. Each identity's messages go out in order, one at a time, in a task of their own; different
identities go concurrently, at most `concurrency` at a time. It claims more as soon as a slot
frees (a pipeline, not batch after batch), so a slow or paced chat delays only itself; a message
claimed for an identity this process is already sending to queues behind that identity's task.

Claims (storage/claims.py, services.outbox.CLAIM_LEASE) are renewed every quarter of the lease
while this process holds them (waiting, being sent, being recorded), fenced by each claim's
token: a long upload is never taken over while its process lives, and a dead process's messages
are taken over within a lease. A message whose claim was lost (this process stalled past the
lease and another took it) is not sent; one whose claim could not be confirmed for half a lease
(the database unreachable) is handed back rather than sent.

Every fate is recorded (fenced by the claim's token): delivered, deferred (retried later, with
backoff, at most outbox.MAX_ATTEMPTS times) or failed, and an identity's next message is sent
only once the previous one's fate is committed: a process killed mid-way leaves at most its
calls in flight unrecorded (sent again: at most one duplicate per concurrent call).

The database work goes in rounds, one transaction at a time (services.outbox.record_and_claim):
the fates waiting by then, of every identity, and the claim asked for by then, together, all
or nothing; if a round fails, its fates and its claim are tried again each on their own. To
make rounds fewer when events come one by one, a wake waits GATHER (2 ms) for the events
committing with it, and the fate of an identity's last message (nothing waits on it) waits up
to LINGER (15 ms) for a claim or other identities' fates to join its round; a fate whose
identity has more to send (or is handed a reply meanwhile) goes at once, and so does every
fate while the sender has no room to claim and in `send_due`. A lingering fate only delays its
record, never a send; a process killed meanwhile sends that message again, at most one per
identity, as for a call in flight.
Renewals run between rounds (two transactions of one sender updating the same rows in other
orders could deadlock). All of it runs on the sender's own database thread, so it never queues
behind the webhooks' work on the default pool, except on SQLite while the one writer is free:
there it runs on the loop itself (bot/steps.py). While one of an identity's messages is
deferred, its newer messages are deferred behind it (in this process; across processes the
claim order alone keeps them roughly in line).

An event handled in this process hands its replies over already claimed (`takes`/`adopt`,
services.outbox.Handoff): its transaction wrote them claimed for this sender (only when their
chat had nothing waiting or in flight), so they are queued at once, with no wake, gather or
claim round; the pump's claims are for the rest (other processes' events, jobs, retries, a
dead sender's messages, replies of a chat with older ones to send first). While messages wait
for the pump's claim, events hand theirs over only into the first half of its room: the claim
keeps the other half, so newer replies of other chats never crowd the older ones out, and one
event that could not hand over does not send every event after it through the claim rounds.

Per-chat pacing and global caps (Telegram ≈ 1 msg/s per chat, 30 msg/s overall) belong to a
`Pacer` (bot/pacing.py), awaited before each send.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

from bot.steps import Steps, after_return
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
# Held claims are renewed this often; one not confirmed for LEASE_BUDGET is not sent on.
RENEW_EVERY = outbox.CLAIM_LEASE / 4
LEASE_BUDGET = outbox.CLAIM_LEASE / 2
# Threads of the sender's own pool. Its rounds and renewals run one at a time (in one task):
# two transactions of one sender updating the same rows in different orders could deadlock.
DB_THREADS = 1
# After a wake, the claim waits this long for the replies of events committed meanwhile: one
# claim (and one round of records) for all of them instead of one each.
GATHER = 0.002
# A fate nothing waits on (its identity has nothing more to send) waits at most this long for
# a claim or other fates to share its transaction; one whose identity has more to send goes at
# once. With the events' replies handed over (no claim round to join), 15 ms instead of 5 cut
# the open loop's sender transactions by a third to two fifths (benchmarks/conversation.py).
LINGER = 0.015

T = TypeVar("T")


class ChannelSender(Protocol):
    """Delivers one message of its channel and says what became of it."""

    channel: str

    async def deliver(self, message: ClaimedMessage) -> Fate: ...


class Pacer(Protocol):
    """Waits until `message` may go out (rate limits per chat and overall)."""

    async def wait(self, message: ClaimedMessage) -> None: ...


@dataclass(slots=True)
class _Claim:
    token: int  # the `attempts` the claim set: fences our writes
    confirmed: datetime  # when the claim was taken or last renewed


@functools.cache
def _db_pool() -> ThreadPoolExecutor:
    """The sender's database threads, made on first use (one pool per process)."""
    return ThreadPoolExecutor(DB_THREADS, thread_name_prefix="outbox-sender")


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
        renew_every: float = RENEW_EVERY.total_seconds(),
        gather: float = GATHER,
        linger: float = LINGER,
        steps: Steps | None = None,
    ) -> None:
        self.uow_factory = uow_factory
        # Where its database rounds run: its own database threads, unless `steps` (bot/steps.py)
        # runs them on the loop (SQLite, while the writer is free).
        self.steps = (steps or Steps()).with_executor(_db_pool())
        self.gather = gather
        self.linger = linger
        self.renew_every = renew_every
        self.on_fate = on_fate
        self.senders = {sender.channel: sender for sender in senders}
        self.batch = batch
        self.concurrency = concurrency
        self.interval = interval
        self.pacer = pacer
        self._slots = asyncio.Semaphore(concurrency)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._woken = False  # a wake came since the last look at the outbox
        # Messages may be due for this sender's own claim (a wake came, or its last claim was
        # full): events hand theirs over meanwhile only while half its room is free, so the
        # claim of the older ones keeps the other half.
        self._backlog = True
        self._news = asyncio.Event()  # a wake, a stop or a task's end: the pump looks again
        self._stopping = False
        self._draining = False  # send_due: no claim is coming to share a lingering round
        # identity -> its claimed messages not yet taken by its task (which runs while it is here)
        self._queues: dict[str, deque[ClaimedMessage]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # message id -> claim, from the claim until its fate is committed (what renewal keeps)
        self._claims: dict[int, _Claim] = {}
        self._lost: set[int] = set()  # claimed here, then taken over: not to be sent
        self._heartbeat: asyncio.Task[None] | None = None
        # What the next database round does: fates to record (each group with the future its
        # task awaits) and at most one claim (its limit and the pump's future).
        self._to_record: list[tuple[list[tuple[Fate, int]], asyncio.Future[None]]] = []
        self._to_claim: tuple[int, asyncio.Future[list[ClaimedMessage] | None]] | None = None
        self._rounds: asyncio.Task[None] | None = None
        self._to_run: list[tuple[Callable[[], Any], asyncio.Future[Any]]] = []  # renewals
        self._round_now = asyncio.Event()  # something waits on the next round: no lingering
        # identity -> when its deferred message is due: newer ones must not overtake it.
        self._held: dict[str, datetime] = {}

    @property
    def channels(self) -> list[str]:
        return sorted(self.senders)

    def takes(self, channel: str) -> bool:
        """Whether an event's replies on `channel` may be claimed for this sender in the
        event's transaction and handed over (`adopt`): it runs, delivers that channel and has
        room for more claims; while older messages wait for its own claim (a wake it has not
        looked at yet, a claim that came back full), only in the first half of its room, so
        the claim of those keeps the other half. Safe from any thread."""
        return (
            self._loop is not None
            and not self._stopping
            and channel in self.senders
            and not self._full(share=2 if self._backlog else 1)
        )

    def adopt(self, claimed: Sequence[ClaimedMessage], claimed_at: datetime) -> bool:
        """Send messages claimed for this sender elsewhere (an event's transaction, committed,
        at `claimed_at`) as if it had claimed them; False when it no longer runs (they wait
        for their lease to run out). Safe from any thread."""
        loop = self._loop
        if loop is None or self._stopping:
            return False
        try:
            _call_soon(loop, self._dispatch, list(claimed), claimed_at)
        except RuntimeError:  # the loop has just closed
            return False
        return True

    def wake(self) -> None:
        """Look at the outbox now. Safe to call from any thread, before or after `run`."""
        self._backlog = True
        self._call_in_loop(self._set_wakeup)

    def stop(self) -> None:
        """Finish the sends in flight, then make `run` return. Safe from any thread."""
        self._stopping = True
        self._call_in_loop(self._set_wakeup)
        self._call_in_loop(self._round_now.set)  # a lingering round goes now

    def _call_in_loop(self, callback: Callable[[], None]) -> None:
        loop = self._loop
        if loop is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop has just closed
            _call_soon(loop, callback)

    def _set_wakeup(self) -> None:
        self._woken = True
        self._news.set()

    async def run(self) -> None:
        """Deliver until `stop()`; returns once the sends in flight are recorded."""
        self._loop = asyncio.get_running_loop()
        try:
            if not self.senders:  # no channel to deliver to here (the console prints its own)
                while not self._stopping:
                    self._news.clear()
                    await self._news.wait()
                return
            await self._pump(drain=False)
        finally:
            self._loop = None

    async def send_due(self) -> int:
        """Send every message due now; return how many were claimed (handled)."""
        return await self._pump(drain=True)

    async def _pump(self, *, drain: bool) -> int:
        """Claim while there is room, hand each message to its identity's task; with `drain`
        return once nothing more is due and every task is done, else run until `stop()`."""
        handled = 0
        exhausted = False  # the last claim found less than it asked for: wait for news
        self._draining = drain
        try:
            while not self._stopping and self.senders:
                room = self.batch - len(self._claims)
                if not exhausted and room > 0 and len(self._queues) < self.concurrency:
                    asked_at = datetime.now(UTC)  # the claim's stamp is no earlier
                    claimed = await self._claim(room)
                    exhausted = claimed is None or len(claimed) < room
                    # (a wake since then may have brought more: it is looked at next)
                    self._backlog = claimed is None or not exhausted or self._woken
                    handled += len(claimed or ())
                    self._dispatch(claimed or [], asked_at)
                    continue
                if drain and exhausted and not self._tasks:
                    break
                if await self._wait(drain):
                    exhausted = False
        finally:
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)
            if self._heartbeat is not None and not self._claims:
                self._heartbeat.cancel()
                self._heartbeat = None
        return handled

    async def _wait(self, drain: bool) -> bool:
        """Wait for a task to end (and, unless draining, for a wake or the interval); True
        when woken or the interval passed: time to look at the outbox again. (The pump looked
        at everything just before: news older than this call is no news.)"""
        if drain:
            if not self._tasks:
                return True
            self._news.clear()
            await self._news.wait()
            return False
        if not self._woken:
            self._news.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.interval):
                    await self._news.wait()
            if not self._woken and self._news.is_set():
                return False  # a task ended
        if self._woken and self.gather > 0 and not self._stopping:
            await asyncio.sleep(self.gather)  # let the events committing now join in
        self._woken = False
        return True

    async def _claim(self, limit: int) -> list[ClaimedMessage] | None:
        """Claim up to `limit` messages in the next database round, with whatever fates are
        waiting to be recorded by then (one transaction for both); None if the claim failed."""
        now = datetime.now(UTC)
        self._held = {key: until for key, until in self._held.items() if until > now}
        claimed: asyncio.Future[list[ClaimedMessage] | None]
        claimed = asyncio.get_running_loop().create_future()
        self._to_claim = (limit, claimed)
        self._start_rounds(now=True)
        return await claimed

    def _dispatch(self, claimed: Sequence[ClaimedMessage], claimed_at: datetime) -> None:
        """Queue each message behind its identity's task, starting the task if none runs."""
        for message in claimed:
            self._claims[message.id] = _Claim(message.attempts, claimed_at)
            queue = self._queues.get(message.identity_key)
            if queue is None:
                queue = self._queues[message.identity_key] = deque()
                task = asyncio.create_task(self._send_identity(message.identity_key, queue))
                self._tasks.add(task)
                task.add_done_callback(self._task_ended)
            queue.append(message)
        if self._claims and (self._heartbeat is None or self._heartbeat.done()):
            self._heartbeat = asyncio.create_task(self._keep_claims())
        if self._full():
            self._round_now.set()  # the pump waits for room: lingering fates hold it up

    def _task_ended(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._news.set()

    def _full(self, share: int = 1) -> bool:
        """No room to claim more until a task ends (or a fate is recorded); with `share`, no
        room left in the first 1/share of it."""
        return (
            len(self._queues) * share >= self.concurrency
            or len(self._claims) * share >= self.batch
        )

    async def _send_identity(self, identity: str, queue: deque[ClaimedMessage]) -> None:
        """Send one identity's messages in order; after a deferral, the rest wait behind it.

        Each message's fate is committed right after its call, before the next call: a process
        killed mid-way leaves at most its call in flight unrecorded, never the ones before it.
        """
        try:
            async with self._slots:
                while True:
                    held_back: list[tuple[Fate, int]] = []
                    while queue:
                        message = queue.popleft()
                        if message.id in self._lost:
                            self._lost.discard(message.id)
                            continue
                        wait = self._held_for(identity)
                        if wait is not None or self._stopping:
                            # attempts=0: being held back is not a failed attempt of this
                            # message; the margin makes the deferred one due first.
                            delay = wait + HOLD_MARGIN if wait is not None else timedelta(0)
                            waiting = Deferred(
                                message.id, 0, delay, "aguardando a mensagem anterior"
                            )
                            held_back.append((waiting, message.attempts))
                            continue
                        fate = await self._deliver(message)
                        if fate is None:
                            continue  # taken over by another sender: it is theirs now
                        # the next call waits for this record; the last one may linger
                        await self._record([(fate, message.attempts)], now=bool(queue))
                        if self.on_fate is not None:
                            self.on_fate(message.channel, fate)
                        if isinstance(fate, Deferred):
                            self._held[identity] = datetime.now(UTC) + fate.delay
                    await self._record(held_back)  # never sent: recording them late risks nothing
                    if not queue:
                        return
        finally:
            del self._queues[identity]
            for message in queue:  # only if the task itself failed: let the lease run out
                self._claims.pop(message.id, None)

    async def _record(self, fates: list[tuple[Fate, int]], *, now: bool = False) -> None:
        """Commit these fates (with their claims' tokens) in a database round, sharing its
        transaction with the other identities' fates and the claim waiting by then. Unless
        `now`, the round may wait up to `linger` for a claim to join it."""
        if not fates:
            return
        done = asyncio.get_running_loop().create_future()
        self._to_record.append((fates, done))
        self._start_rounds(now=now or self._draining or self._full())
        await done

    def _start_rounds(self, *, now: bool) -> None:
        if now:
            self._round_now.set()
        if self._rounds is None or self._rounds.done():
            self._rounds = asyncio.create_task(self._db_rounds())

    async def _db_rounds(self) -> None:
        """One transaction at a time: the renewals asked for, each alone; then the fates waiting
        and the claim asked for, together (after lingering, unless something waits on them)."""
        while self._to_record or self._to_claim is not None or self._to_run:
            while self._to_run:
                call, result = self._to_run.pop(0)
                try:
                    value = await self._in_db(call)
                except Exception as error:
                    if not result.done():
                        result.set_exception(error)
                else:
                    if not result.done():
                        result.set_result(value)
            if not self._to_record and self._to_claim is None:
                continue
            if not self._round_now.is_set() and not self._stopping and self.linger > 0:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.linger):
                        await self._round_now.wait()
            await asyncio.sleep(0)  # what else became ready in this same turn joins too
            self._round_now.clear()
            waiting, self._to_record = self._to_record, []
            asked, self._to_claim = self._to_claim, None
            groups = [fates for fates, _ in waiting]
            fates = [f for group in groups for f in group]
            limit = 0 if asked is None else asked[0]
            claimed: list[ClaimedMessage] | None
            try:
                claimed = await self._in_db(
                    functools.partial(
                        outbox.record_and_claim,
                        self.uow_factory,
                        [fate for fate, _ in fates],
                        {fate.message_id: token for fate, token in fates},
                        limit=limit,
                        channels=self.channels,
                    )
                )
            except Exception:
                # Nothing of it was written: each part again, on its own, once, so one bad
                # fate costs neither the others their record nor the claim its messages.
                log.exception(
                    "could not record %d outbox fates and claim %d messages", len(fates), limit
                )
                claimed = None
                for group in groups:
                    await self._commit(group)
                if asked is not None:
                    claimed = await self._claim_alone(limit)
            for group, done in waiting:
                for fate, _ in group:
                    # Recorded or not, no longer ours to renew: if the record failed, the
                    # lease runs out and the message is sent again (at least once).
                    self._claims.pop(fate.message_id, None)
                    self._lost.discard(fate.message_id)
                if not done.done():  # (its awaiter may have been cancelled)
                    done.set_result(None)
            if asked is not None and not asked[1].done():
                asked[1].set_result(claimed)

    async def _in_rounds(self, call: Callable[[], T]) -> T:
        """Run `call` on the database between two rounds (never beside one)."""
        result: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._to_run.append((call, result))
        self._start_rounds(now=True)
        return await result

    async def _commit(self, fates: list[tuple[Fate, int]]) -> bool:
        tokens = {fate.message_id: token for fate, token in fates}
        try:
            await self._in_db(
                functools.partial(outbox.record, self.uow_factory, [f for f, _ in fates], tokens)
            )
        except Exception:
            log.exception("could not record the fate of %d outbox messages", len(fates))
            return False
        return True

    async def _claim_alone(self, limit: int) -> list[ClaimedMessage] | None:
        try:
            return await self._in_db(
                functools.partial(
                    outbox.claim, self.uow_factory, limit=limit, channels=self.channels
                )
            )
        except Exception:
            log.exception("could not claim outbox messages")
            return None

    async def _keep_claims(self) -> None:
        """Renew the held claims every RENEW_EVERY while there are any."""
        while self._claims:
            await asyncio.sleep(self.renew_every)
            await self._renew()

    async def _renew(self) -> None:
        held = {message_id: claim.token for message_id, claim in self._claims.items()}
        if not held:
            return
        at = datetime.now(UTC)
        try:
            kept = await self._in_rounds(functools.partial(outbox.renew, self.uow_factory, held))
        except Exception:
            log.exception("could not renew the claims of %d outbox messages", len(held))
            return
        for message_id in held:
            claim = self._claims.get(message_id)
            if claim is None:
                continue  # recorded meanwhile
            if message_id in kept:
                claim.confirmed = max(claim.confirmed, at)
            else:
                log.warning("outbox message %s was taken over by another sender", message_id)
                del self._claims[message_id]
                self._lost.add(message_id)

    async def _still_ours(self, message: ClaimedMessage) -> bool | None:
        """True when the message's claim is confirmed recently enough to send it; None when it
        was taken over; False when it could not be confirmed (hand it back)."""
        claim = self._claims.get(message.id)
        if claim is not None and datetime.now(UTC) - claim.confirmed > LEASE_BUDGET:
            await self._renew()  # paced or slowed past half the lease: confirm it first
            claim = self._claims.get(message.id)
        if claim is None or message.id in self._lost:
            self._lost.discard(message.id)
            return None
        return datetime.now(UTC) - claim.confirmed <= LEASE_BUDGET

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

    async def _deliver(self, message: ClaimedMessage) -> Fate | None:
        """Send one message; None when its claim was lost before the call (nothing to record)."""
        sender = self.senders[message.channel]
        try:
            if self.pacer is not None:
                await self.pacer.wait(message)
            ours = await self._still_ours(message)
            if ours is None:
                return None
            if not ours:
                # Its claim could not be renewed: hand it back (not an attempt) rather than
                # risk another instance reclaiming it while it is sent here.
                return Deferred(message.id, 0, timedelta(0), "devolvida: reserva não renovada")
            return await sender.deliver(message)
        except Exception as exc:
            log.exception("sender %s crashed on outbox message %s", message.channel, message.id)
            error = f"{type(exc).__name__}: {exc}"[:MAX_ERROR]
            # bounded: after outbox.MAX_ATTEMPTS the row is recorded failed
            return Deferred(message.id, message.attempts, crash_delay(message.attempts), error)

    async def _in_db(self, call: Callable[[], T]) -> T:
        """Run `call` on the sender's own database threads (or on the loop, per `steps`)."""
        return await self.steps.run(call)


def _call_soon(loop: asyncio.AbstractEventLoop, callback: Callable[..., None], *args: Any) -> None:
    """`callback(*args)` on `loop`, soon: from the loop's own thread (a step run on it) as is;
    from a step `Steps` runs on a thread for that loop, once the step has returned there (its
    return wakes the loop: no second wake); from anywhere else with a wake of the loop."""
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        loop.call_soon(callback, *args)
    elif not after_return(loop, functools.partial(callback, *args)):
        loop.call_soon_threadsafe(callback, *args)


def crash_delay(attempts: int) -> timedelta:
    """How long a message waits after its `attempts`-th try failed unexpectedly."""
    return min(CRASH_DELAY * 2 ** max(attempts - 1, 0), MAX_CRASH_DELAY)
