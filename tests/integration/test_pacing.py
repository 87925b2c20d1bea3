"""Delivery at scale (issue 7): pacing per chat and overall on a simulated clock, retries after
a flood reply, redelivery after a crash between claim and send."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import time_machine

from bot.app import App
from bot.pacing import RateLimit, RatePacer, pacer_from_settings
from bot.sender import OutboxSender
from bot.settings import Settings
from services import outbox
from services.conversation import enqueue_to
from services.messages import Text
from services.outbox import Deferred, Delivered, Fate
from services.types import UnitOfWorkFactory
from storage.conversation import ClaimedMessage


class SimulatedClock:
    """Time moves only when every paced task is asleep: to the earliest wake-up asked for."""

    def __init__(self) -> None:
        self.time = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._asleep = asyncio.Event()

    def now(self) -> float:
        return self.time

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.time + seconds, next(self._order), future))
        self._asleep.set()
        await future

    async def drive(self, done: asyncio.Task[object]) -> None:
        """Wake the sleepers in time order until `done` finishes."""
        while not done.done():
            for _ in range(50):  # let every woken task reach its next sleep or its end
                await asyncio.sleep(0)
            if self._sleepers:
                self.time, _, future = heapq.heappop(self._sleepers)
                future.set_result(None)
            else:
                self._asleep.clear()
                waiter = asyncio.ensure_future(self._asleep.wait())
                await asyncio.wait({waiter, done}, return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()


class StampingChannel:
    """A channel "telegram" stand-in that notes when (simulated) each message went out."""

    channel = "telegram"

    def __init__(self, clock: SimulatedClock) -> None:
        self.clock = clock
        self.sent: list[tuple[float, str]] = []

    async def deliver(self, message: ClaimedMessage) -> Fate:
        self.sent.append((self.clock.now(), message.identity_key))
        return Delivered(message.id, None)


def enqueue(uow_factory: UnitOfWorkFactory, chats: int, per_chat: int) -> None:
    uow = uow_factory()
    with uow:
        now = datetime.now(UTC)
        for n in range(per_chat):
            for chat in range(chats):
                key = f"tg:{chat}"
                enqueue_to(uow, "telegram", key, str(chat), [Text(f"{chat}-{n}")], now)
        uow.commit()


def most_in_one_second(stamps: list[float]) -> int:
    stamps = sorted(stamps)
    best, start = 0, 0
    for end, stamp in enumerate(stamps):
        while stamp - stamps[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


async def test_a_thousand_messages_to_ten_chats_respect_the_per_chat_and_global_pace(
    app: App,
) -> None:
    enqueue(app.uow_factory, chats=10, per_chat=100)
    clock = SimulatedClock()
    settings = Settings(_env_file=None, telegram_burst_per_chat=1)
    channel = StampingChannel(clock)
    sender = OutboxSender(
        app.uow_factory, [channel], batch=100, pacer=pacer_from_settings(settings, clock=clock)
    )

    sending = asyncio.ensure_future(sender.send_due())
    await clock.drive(sending)

    assert await sending == 1000
    by_chat: dict[str, list[float]] = defaultdict(list)
    for stamp, chat in channel.sent:
        by_chat[chat].append(stamp)
    assert sorted(len(stamps) for stamps in by_chat.values()) == [100] * 10
    gaps = [b - a for stamps in by_chat.values() for a, b in itertools.pairwise(stamps)]
    assert min(gaps) >= 1.0
    assert most_in_one_second([stamp for stamp, _ in channel.sent]) <= 10  # 10 chats at 1/s
    assert outbox.pending_count(app.uow_factory) == 0


async def test_many_chats_are_held_to_the_global_cap_and_reach_it(app: App) -> None:
    enqueue(app.uow_factory, chats=100, per_chat=3)
    clock = SimulatedClock()
    channel = StampingChannel(clock)
    pacer = RatePacer({"telegram": RateLimit(1.0, 30.0)}, clock=clock)
    sender = OutboxSender(app.uow_factory, [channel], batch=300, concurrency=100, pacer=pacer)

    sending = asyncio.ensure_future(sender.send_due())
    await clock.drive(sending)

    stamps = [stamp for stamp, _ in channel.sent]
    assert len(stamps) == 300
    assert most_in_one_second(stamps) == 30
    assert 10.0 < max(stamps) < 10.4  # 300 at 30/s (less 2.5% headroom): at the cap, not above


async def test_a_quiet_chat_gets_a_short_burst_then_the_interval() -> None:
    clock = SimulatedClock()
    pacer = RatePacer({"whatsapp": RateLimit(6.0, 80.0, per_chat_burst=3)}, clock=clock)
    message = ClaimedMessage(1, "whatsapp", "wa:1", "1", {}, None, 0)
    stamps: list[float] = []

    async def five() -> None:
        for _ in range(5):
            await pacer.wait(message)
            stamps.append(clock.now())

    sending = asyncio.ensure_future(five())
    await clock.drive(sending)

    # three at once (spaced only by the 80/s cap), then one per 6 s as the bucket refills
    assert [round(s, 3) for s in stamps] == [0.0, 0.013, 0.026, 6.0, 12.0]


async def test_channels_without_a_limit_are_not_paced() -> None:
    clock = SimulatedClock()
    pacer = RatePacer({"telegram": RateLimit(1.0, 30.0)}, clock=clock)
    message = ClaimedMessage(1, "email", "email:a", "a", {}, None, 0)
    for _ in range(3):
        await pacer.wait(message)
    assert clock.now() == 0.0


class FloodOnce:
    """Answers the first send with a flood reply (retry after 7 s), then delivers."""

    channel = "telegram"

    def __init__(self) -> None:
        self.calls = 0
        self.delivered: list[int] = []

    async def deliver(self, message: ClaimedMessage) -> Fate:
        self.calls += 1
        if self.calls == 1:
            return Deferred(message.id, message.attempts, timedelta(seconds=7), "telegram: flood")
        self.delivered.append(message.id)
        return Delivered(message.id, "1")


async def test_a_retry_after_reply_delays_the_message_then_delivers_it(app: App) -> None:
    enqueue(app.uow_factory, chats=1, per_chat=2)
    channel = FloodOnce()
    sender = OutboxSender(app.uow_factory, [channel])
    start = datetime.now(UTC)
    with time_machine.travel(start, tick=False):
        assert await sender.send_due() == 2
        assert channel.delivered == []  # the second waits behind the deferred first
        assert await sender.send_due() == 0
    with time_machine.travel(start + timedelta(seconds=6), tick=False):
        assert await sender.send_due() == 0  # not before the delay Telegram asked for
    with time_machine.travel(start + timedelta(seconds=9), tick=False):
        assert await sender.send_due() == 2
    assert len(channel.delivered) == 2
    assert outbox.pending_count(app.uow_factory) == 0


async def test_a_crash_after_claiming_and_before_sending_redelivers_after_the_lease(
    app: App,
) -> None:
    enqueue(app.uow_factory, chats=2, per_chat=1)
    start = datetime.now(UTC)
    with time_machine.travel(start, tick=False):
        claimed = outbox.claim(app.uow_factory, limit=10, channels=["telegram"])
        # … and the process dies here: nothing recorded.
    clock = SimulatedClock()
    channel = StampingChannel(clock)
    survivor = OutboxSender(app.uow_factory, [channel])
    with time_machine.travel(start + outbox.CLAIM_LEASE / 2, tick=False):
        assert await survivor.send_due() == 0  # still leased to the dead sender
    with time_machine.travel(start + outbox.CLAIM_LEASE + timedelta(seconds=1), tick=False):
        assert await survivor.send_due() == 2

    assert len(claimed) == 2
    assert sorted(chat for _, chat in channel.sent) == ["tg:0", "tg:1"]
    assert outbox.pending_count(app.uow_factory) == 0


async def test_a_paced_identity_renews_its_claims_and_sends_them_all_past_the_lease(
    app: App,
) -> None:
    enqueue(app.uow_factory, chats=1, per_chat=3)
    start = datetime.now(UTC)

    class SlowClock:
        """Each pacing wait takes 20 s of wall-clock time (the frozen clock jumps)."""

        def __init__(self) -> None:
            self.elapsed = 0.0

        def now(self) -> float:
            return self.elapsed

        async def sleep(self, seconds: float) -> None:
            self.elapsed += seconds

    clock = SlowClock()
    channel = StampingChannel(SimulatedClock())
    pacer = RatePacer({"telegram": RateLimit(20.0, 30.0)}, clock=clock)
    with time_machine.travel(start, tick=False) as traveller:

        class Jumping(RatePacer):
            async def wait(self, message: ClaimedMessage) -> None:
                await pacer.wait(message)
                traveller.move_to(start + timedelta(seconds=clock.elapsed))

        sender = OutboxSender(app.uow_factory, [channel], pacer=Jumping({}))
        await sender.send_due()

    # at 0, 20 and 40 s: past the lease, each claim renewed before its send, none handed back
    assert len(channel.sent) == 3
    assert outbox.pending_count(app.uow_factory) == 0
