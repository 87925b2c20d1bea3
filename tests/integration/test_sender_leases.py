"""The sender as a pipeline with short, renewed, fenced claims: a slow chat delays only itself,
a dead sender's messages are taken over within the short lease, a live one keeps its claims
however long a send takes, and a sender that lost a claim neither sends nor records over it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import time_machine

from bot.app import App
from bot.sender import OutboxSender
from services import outbox
from services.outbox import Delivered
from services.types import UnitOfWorkFactory
from tests.integration.test_sender import FakeChannel, enqueue, rows, stale_and_newer_claim


async def stamped(uow_factory: UnitOfWorkFactory, text: str, after: datetime) -> None:
    """Wait until the row of `text` was claimed or renewed at `after` or later."""
    for _ in range(500):  # the database is polled: the renewal runs on another thread
        if rows(uow_factory)[text].claimed_at >= after:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{text} was not renewed")


async def test_a_slow_identity_does_not_delay_the_next_claim_for_another(app: App) -> None:
    fake = FakeChannel()
    gate = fake.hold("a1")
    enqueue(app.uow_factory, ("fake:a", "a1"), ("fake:b", "b1"), ("fake:b", "b2"))
    # batch=2: b2 is not in the first claim; it must be claimed while a1 is still at work.
    sending = asyncio.create_task(OutboxSender(app.uow_factory, [fake], batch=2).send_due())

    await fake.until(lambda: fake.texts_of("fake:b") == ["b1", "b2"])
    assert fake.texts_of("fake:a") == []
    gate.set()
    assert await asyncio.wait_for(sending, timeout=5) == 3
    assert {row.status for row in rows(app.uow_factory).values()} == {"sent"}


async def test_a_message_claimed_while_its_identity_is_at_work_waits_behind_it(
    app: App,
) -> None:
    fake = FakeChannel()
    gate = fake.hold("a1")
    enqueue(app.uow_factory, ("fake:a", "a1"))
    sender = OutboxSender(app.uow_factory, [fake], interval=60)
    running = asyncio.create_task(sender.run())
    await asyncio.wait_for(fake.entered["a1"].wait(), timeout=5)

    enqueue(app.uow_factory, ("fake:a", "a2"), ("fake:b", "b1"))
    sender.wake()
    await fake.until(lambda: ("fake:b", "b1") in fake.sent)
    assert fake.texts_of("fake:a") == []  # a2 is claimed, and queued behind a1
    assert rows(app.uow_factory)["a2"].status == "sending"
    gate.set()
    await fake.until(lambda: len(fake.sent) == 3)
    sender.stop()
    await asyncio.wait_for(running, timeout=5)
    assert fake.texts_of("fake:a") == ["a1", "a2"]


async def test_a_dead_senders_messages_are_taken_over_after_the_short_lease(app: App) -> None:
    enqueue(app.uow_factory, ("fake:a", "a1"), ("fake:b", "b1"))
    start = datetime.now(UTC)
    with time_machine.travel(start, tick=False):
        assert len(outbox.claim(app.uow_factory, channels=["fake"])) == 2
        # … and that process dies here: nothing recorded, nothing renewed.
    fake = FakeChannel()
    survivor = OutboxSender(app.uow_factory, [fake])
    with time_machine.travel(start + timedelta(seconds=10), tick=False):
        assert await survivor.send_due() == 0  # still within the dead sender's lease
    with time_machine.travel(start + timedelta(seconds=21), tick=False):
        assert await survivor.send_due() == 2  # seconds later, not a minute
    assert sorted(fake.sent) == [("fake:a", "a1"), ("fake:b", "b1")]


async def test_a_send_longer_than_the_lease_keeps_its_claim_while_its_sender_lives(
    app: App,
) -> None:
    fake = FakeChannel()
    gate = fake.hold("a1")
    enqueue(app.uow_factory, ("fake:a", "a1"), ("fake:a", "a2"))
    start = datetime.now(UTC)
    with time_machine.travel(start, tick=True) as traveller:
        sender = OutboxSender(app.uow_factory, [fake], renew_every=0.01)
        sending = asyncio.create_task(sender.send_due())
        await asyncio.wait_for(fake.entered["a1"].wait(), timeout=5)

        traveller.shift(2 * outbox.CLAIM_LEASE)  # a long upload: twice the lease already
        await stamped(app.uow_factory, "a1", start + 2 * outbox.CLAIM_LEASE)
        await stamped(app.uow_factory, "a2", start + 2 * outbox.CLAIM_LEASE)
        other = FakeChannel()
        assert await OutboxSender(app.uow_factory, [other]).send_due() == 0
        gate.set()
        assert await asyncio.wait_for(sending, timeout=5) == 2

    assert other.sent == []
    assert fake.texts_of("fake:a") == ["a1", "a2"]  # each once
    assert {row.status for row in rows(app.uow_factory).values()} == {"sent"}


async def test_a_stale_sender_can_neither_renew_nor_record_over_a_newer_claim(
    app: App,
) -> None:
    with stale_and_newer_claim(app) as (stale, newer):
        assert newer.attempts > stale.attempts

        assert outbox.renew(app.uow_factory, {stale.id: stale.attempts}) == set()
        outbox.record(app.uow_factory, [Delivered(stale.id, "stale")], {stale.id: stale.attempts})
        row = rows(app.uow_factory)["a1"]
        assert (row.status, row.attempts, row.external_ref) == ("sending", newer.attempts, None)

        outbox.record(app.uow_factory, [Delivered(newer.id, "newer")], {newer.id: newer.attempts})
    row = rows(app.uow_factory)["a1"]
    assert (row.status, row.external_ref) == ("sent", "newer")


async def test_a_sender_that_lost_its_claims_sends_no_more_and_records_nothing(
    app: App,
) -> None:
    fake = FakeChannel()
    gate = fake.hold("a1")
    enqueue(app.uow_factory, ("fake:a", "a1"), ("fake:a", "a2"))
    start = datetime.now(UTC)
    with time_machine.travel(start, tick=True) as traveller:
        # It stalls (no renewal runs) past the lease while a1 is at work …
        sender = OutboxSender(app.uow_factory, [fake], renew_every=3600)
        sending = asyncio.create_task(sender.send_due())
        await asyncio.wait_for(fake.entered["a1"].wait(), timeout=5)
        traveller.shift(outbox.CLAIM_LEASE + timedelta(seconds=1))
        # … and another sender takes both over.
        taken = outbox.claim(app.uow_factory, channels=["fake"], identity_key="fake:a")
        assert [m.payload["text"] for m in taken] == ["a1", "a2"]
        gate.set()
        await asyncio.wait_for(sending, timeout=5)

    # a1 was already at work (the one repeat a stall allows); a2 is the other sender's now
    assert fake.sent == [("fake:a", "a1")]
    stored = rows(app.uow_factory)
    for message in taken:  # nothing the stale sender wrote over the newer claims
        row = stored[message.payload["text"]]
        assert (row.status, row.attempts, row.external_ref) == ("sending", message.attempts, None)
