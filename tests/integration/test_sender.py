"""The outbox sender: order per identity, concurrency across identities, crashes, clean stop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import time_machine
from sqlalchemy import Row, select

from bot.app import App
from bot.sender import OutboxSender
from services import outbox
from services.conversation import enqueue_to
from services.messages import Text
from services.outbox import Delivered, Fate
from services.types import UnitOfWorkFactory
from storage.conversation import ClaimedMessage
from storage.models import OutboxMessage


class FakeChannel:
    """Records what it delivered; can crash once on a text or hold a text until released."""

    channel = "fake"

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.crash_once: set[str] = set()
        self.gates: dict[str, asyncio.Event] = {}
        self.entered: dict[str, asyncio.Event] = {}
        self._changed = asyncio.Event()

    def hold(self, text: str) -> asyncio.Event:
        self.entered[text] = asyncio.Event()
        self.gates[text] = asyncio.Event()
        return self.gates[text]

    async def deliver(self, message: ClaimedMessage) -> Fate:
        text = message.payload["text"]
        if text in self.gates:
            self.entered[text].set()
            await self.gates[text].wait()
        if text in self.crash_once:
            self.crash_once.discard(text)
            raise RuntimeError("boom")
        self.sent.append((message.identity_key, text))
        self._changed.set()
        return Delivered(message.id, f"ext-{text}")

    async def until(self, condition: Callable[[], bool], timeout: float = 5.0) -> None:  # noqa: ASYNC109
        async def wait() -> None:
            while True:
                self._changed.clear()
                if condition():
                    return
                await self._changed.wait()

        await asyncio.wait_for(wait(), timeout)

    def texts_of(self, identity: str) -> list[str]:
        return [text for key, text in self.sent if key == identity]


def enqueue(uow_factory: UnitOfWorkFactory, *items: tuple[str, str]) -> None:
    """Put (identity, text) messages in the outbox of channel "fake", in this order."""
    uow = uow_factory()
    with uow:
        for identity, text in items:
            enqueue_to(uow, "fake", identity, identity, [Text(text)], datetime.now(UTC))
        uow.commit()


@contextmanager
def stale_and_newer_claim(app: App) -> Iterator[tuple[ClaimedMessage, ClaimedMessage]]:
    """One message claimed, then claimed again by another sender once the first claim's
    lease ran out; the clock stays past that lease while the block runs."""
    enqueue(app.uow_factory, ("fake:a", "a1"))
    start = datetime.now(UTC)
    with time_machine.travel(start, tick=False):
        [stale] = outbox.claim(app.uow_factory, channels=["fake"])
    with time_machine.travel(start + outbox.CLAIM_LEASE + timedelta(seconds=1), tick=False):
        [newer] = outbox.claim(app.uow_factory, channels=["fake"])
        yield stale, newer


def rows(uow_factory: UnitOfWorkFactory) -> dict[str, Row[Any]]:
    uow = uow_factory()
    with uow:
        found = uow.session.execute(select(OutboxMessage.__table__)).all()
    return {row.payload["text"]: row for row in found}


async def test_each_identitys_messages_are_delivered_in_order(app: App) -> None:
    fake = FakeChannel()
    enqueue(
        app.uow_factory,
        ("fake:a", "a1"),
        ("fake:b", "b1"),
        ("fake:a", "a2"),
        ("fake:b", "b2"),
        ("fake:a", "a3"),
    )
    sender = OutboxSender(app.uow_factory, [fake], batch=2)
    running = asyncio.create_task(sender.run())
    await fake.until(lambda: len(fake.sent) == 5)
    sender.stop()
    await asyncio.wait_for(running, timeout=5)

    assert fake.texts_of("fake:a") == ["a1", "a2", "a3"]
    assert fake.texts_of("fake:b") == ["b1", "b2"]
    stored = rows(app.uow_factory)
    assert {row.status for row in stored.values()} == {"sent"}
    assert stored["a3"].external_ref == "ext-a3"


async def test_a_wake_from_another_thread_sends_without_waiting_for_the_next_round(
    app: App,
) -> None:
    fake = FakeChannel()
    sender = OutboxSender(app.uow_factory, [fake], interval=60)
    app.wakeup.subscribe(sender.wake)
    running = asyncio.create_task(sender.run())
    enqueue(app.uow_factory, ("fake:a", "first"))
    await fake.until(lambda: len(fake.sent) == 1)

    enqueue(app.uow_factory, ("fake:a", "second"))
    waker = threading.Thread(target=app.wake)
    waker.start()
    waker.join()
    await fake.until(lambda: len(fake.sent) == 2, timeout=5)
    sender.stop()
    await asyncio.wait_for(running, timeout=5)
    assert fake.texts_of("fake:a") == ["first", "second"]


async def test_a_sender_with_no_channel_runs_until_stopped(app: App) -> None:
    """With only the console (it prints its own messages) the sender has nothing to deliver,
    and must still run until `stop()`: `serve` reads its end as a crash."""
    sender = OutboxSender(app.uow_factory, [], interval=0.01)
    running = asyncio.create_task(sender.run())
    enqueue(app.uow_factory, ("fake:a", "for nobody here"))
    sender.wake()
    await asyncio.sleep(0.2)

    assert not running.done()
    sender.stop()
    await asyncio.wait_for(running, timeout=5)


async def test_a_crashing_deliver_defers_the_message_and_those_behind_it(app: App) -> None:
    fake = FakeChannel()
    fake.crash_once.add("a1")
    enqueue(app.uow_factory, ("fake:a", "a1"), ("fake:a", "a2"), ("fake:b", "b1"))
    sender = OutboxSender(app.uow_factory, [fake])

    await sender.send_due()
    assert fake.sent == [("fake:b", "b1")]
    stored = rows(app.uow_factory)
    assert (stored["a1"].status, stored["a1"].error) == ("pending", "RuntimeError: boom")
    assert stored["a2"].status == "pending"
    assert stored["a2"].not_before >= stored["a1"].not_before

    with time_machine.travel(datetime.now(UTC) + timedelta(seconds=10), tick=True):
        await sender.send_due()
    assert fake.texts_of("fake:a") == ["a1", "a2"]
    assert {row.status for row in rows(app.uow_factory).values()} == {"sent"}


async def test_a_message_queued_after_a_deferred_one_does_not_overtake_it(app: App) -> None:
    fake = FakeChannel()
    fake.crash_once.add("a1")
    enqueue(app.uow_factory, ("fake:a", "a1"))
    sender = OutboxSender(app.uow_factory, [fake])
    await sender.send_due()
    enqueue(app.uow_factory, ("fake:a", "a2"), ("fake:b", "b1"))

    await sender.send_due()
    assert fake.sent == [("fake:b", "b1")]
    assert rows(app.uow_factory)["a2"].status == "pending"

    with time_machine.travel(datetime.now(UTC) + timedelta(seconds=10), tick=True):
        await sender.send_due()
    assert fake.texts_of("fake:a") == ["a1", "a2"]


async def test_a_slow_identity_does_not_hold_up_the_others(app: App) -> None:
    fake = FakeChannel()
    gate = fake.hold("a1")
    enqueue(app.uow_factory, ("fake:a", "a1"), ("fake:b", "b1"))
    sending = asyncio.create_task(OutboxSender(app.uow_factory, [fake]).send_due())

    await fake.until(lambda: ("fake:b", "b1") in fake.sent)
    assert fake.texts_of("fake:a") == []
    gate.set()
    assert await asyncio.wait_for(sending, timeout=5) == 2
    assert fake.texts_of("fake:a") == ["a1"]


async def test_stop_finishes_the_send_in_flight_and_leaves_the_rest_for_later(app: App) -> None:
    fake = FakeChannel()
    gate = fake.hold("a1")
    enqueue(app.uow_factory, ("fake:a", "a1"), ("fake:a", "a2"))
    sender = OutboxSender(app.uow_factory, [fake])
    running = asyncio.create_task(sender.run())
    await asyncio.wait_for(fake.entered["a1"].wait(), timeout=5)

    sender.stop()
    gate.set()
    await asyncio.wait_for(running, timeout=5)

    assert fake.sent == [("fake:a", "a1")]
    stored = rows(app.uow_factory)
    assert stored["a1"].status == "sent"
    assert stored["a2"].status == "pending"  # released at once, not left "sending"
    assert stored["a2"].not_before <= datetime.now(UTC)


async def test_messages_of_channels_without_a_sender_are_left_alone(app: App) -> None:
    fake = FakeChannel()
    uow = app.uow_factory()
    with uow:
        enqueue_to(uow, "console", "console:demo", "demo", [Text("oi")], datetime.now(UTC))
        uow.commit()
    assert await OutboxSender(app.uow_factory, [fake]).send_due() == 0
    assert rows(app.uow_factory)["oi"].status == "pending"
