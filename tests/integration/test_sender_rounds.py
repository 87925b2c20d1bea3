"""The sender's database round: the fates waiting and the next claim in one transaction.

`outbox.record_and_claim` writes fenced fates and claims in one commit, all or nothing; the
sender uses it whenever both are waiting, and falls back to each part alone when it fails,
losing nothing and sending nothing twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest

from bot.app import App
from bot.sender import OutboxSender
from services import outbox
from services.messages import Text
from services.outbox import Deferred, Delivered, Failed, Fate, enqueue_to
from services.types import UnitOfWorkFactory
from storage.conversation import ClaimedMessage, OutboxRepository
from tests.integration.test_driver_statements import sent_statements
from tests.integration.test_sender import FakeChannel, enqueue, rows, stale_and_newer_claim


def test_record_and_claim_records_the_fates_and_claims_what_is_due(app: App) -> None:
    enqueue(app.uow_factory, ("fake:a", "a1"), ("fake:b", "b1"), ("fake:c", "c1"))
    first = outbox.claim(app.uow_factory, limit=2, channels=["fake"])
    assert [m.payload["text"] for m in first] == ["a1", "b1"]
    enqueue(app.uow_factory, ("fake:a", "a2"))
    a1, b1 = first

    claimed = outbox.record_and_claim(
        app.uow_factory,
        [Delivered(a1.id, "ext-a1"), Deferred(b1.id, b1.attempts, timedelta(minutes=1), "slow")],
        {a1.id: a1.attempts, b1.id: b1.attempts},
        limit=10,
        channels=["fake"],
    )

    # the deferred b1 is not due again yet: only the ones waiting, oldest first
    assert [m.payload["text"] for m in claimed] == ["c1", "a2"]
    stored = rows(app.uow_factory)
    assert (stored["a1"].status, stored["a1"].external_ref) == ("sent", "ext-a1")
    assert (stored["b1"].status, stored["b1"].error) == ("pending", "slow")
    assert {stored[t].status for t in ("c1", "a2")} == {"sending"}
    assert stored["c1"].attempts == claimed[0].attempts == 1


def test_record_and_claim_with_no_room_only_records(app: App) -> None:
    enqueue(app.uow_factory, ("fake:a", "a1"), ("fake:a", "a2"))
    [a1] = outbox.claim(app.uow_factory, limit=1, channels=["fake"])
    claimed = outbox.record_and_claim(
        app.uow_factory, [Failed(a1.id, "no")], {a1.id: a1.attempts}, limit=0
    )
    assert claimed == []
    stored = rows(app.uow_factory)
    assert (stored["a1"].status, stored["a2"].status) == ("failed", "pending")


def test_record_and_claim_is_fenced_by_the_claims_tokens(app: App) -> None:
    with stale_and_newer_claim(app) as (stale, newer):
        # the stale sender's round: its fate is not written, and the claim takes nothing held
        claimed = outbox.record_and_claim(
            app.uow_factory,
            [Delivered(stale.id, "stale")],
            {stale.id: stale.attempts},
            limit=10,
            channels=["fake"],
        )
    assert claimed == []
    row = rows(app.uow_factory)["a1"]
    assert (row.status, row.attempts, row.external_ref) == ("sending", newer.attempts, None)


def test_a_round_records_several_deliveries_each_fenced_by_its_own_claim(app: App) -> None:
    """A round's deliveries are written together (on PostgreSQL one UPDATE joined to the
    fates, not one statement per row): each row gets its own platform ref and is redacted
    if it carried a secret, and a row another sender has taken over since is left alone."""
    with stale_and_newer_claim(app) as (stale, newer):
        uow = app.uow_factory()
        with uow:
            now = datetime.now(UTC)
            enqueue_to(uow, "fake", "fake:b", "b", [Text("b1 segredo", sensitive=True)], now)
            uow.commit()
        enqueue(app.uow_factory, ("fake:c", "c1"), ("fake:d", "d1"))
        claimed = outbox.claim(app.uow_factory, channels=["fake"])
        b1, c1, d1 = sorted(claimed, key=lambda m: m.id)
        sent = [stale, b1, c1, d1]
        with sent_statements(app.db) as statements:
            outbox.record_and_claim(
                app.uow_factory,
                [Delivered(m.id, f"ext-{m.id}") for m in sent],
                {m.id: m.attempts for m in sent},
                limit=0,
            )

    stored = rows(app.uow_factory)
    # the stale sender's fate is not written: the newer claim still holds the row
    assert (stored["a1"].status, stored["a1"].attempts, stored["a1"].external_ref) == (
        "sending",
        newer.attempts,
        None,
    )
    assert stored["[redacted]"].status == "sent"
    assert stored["[redacted]"].external_ref == f"ext-{b1.id}"
    for text, message in (("c1", c1), ("d1", d1)):
        assert (stored[text].status, stored[text].external_ref) == ("sent", f"ext-{message.id}")
        assert stored[text].sent_at is not None
        assert stored[text].error is None
    if app.db.dialect.name == "postgresql":  # one UPDATE joined to the fates, not one per row
        [update] = [sql for sql in statements if sql.lstrip().upper().startswith("UPDATE")]
        assert "unnest(" in update


@pytest.mark.parametrize("failing", ["claim", "record"])
def test_record_and_claim_rolls_back_as_a_whole(
    app: App, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    enqueue(app.uow_factory, ("fake:a", "a1"), ("fake:b", "b1"))
    [a1] = outbox.claim(app.uow_factory, limit=1, channels=["fake"])
    before = rows(app.uow_factory)

    def boom(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("the database went away")

    if failing == "claim":  # after the fates were written in the transaction
        monkeypatch.setattr(OutboxRepository, "claim", boom)
    else:  # after the claim would have run (the record is first): nothing at all
        monkeypatch.setattr(OutboxRepository, "mark_sent_many", boom)
    with pytest.raises(RuntimeError):
        outbox.record_and_claim(
            app.uow_factory,
            [Delivered(a1.id, "ext-a1")],
            {a1.id: a1.attempts},
            limit=10,
            channels=["fake"],
        )

    after = rows(app.uow_factory)
    for text in ("a1", "b1"):  # neither the fate nor a claim was kept
        old, new = before[text], after[text]
        assert (new.status, new.attempts, new.claimed_at, new.external_ref) == (
            old.status,
            old.attempts,
            old.claimed_at,
            old.external_ref,
        )
    assert (after["a1"].status, after["b1"].status) == ("sending", "pending")


class Rounds:
    """Wraps `outbox.record_and_claim`: notes each round; can fail the first `fail` rounds
    that carry fates (after writing them: the rollback must undo it)."""

    def __init__(self, fail: int = 0) -> None:
        self.calls: list[tuple[int, int]] = []  # (fates, limit) of each round
        self.fail = fail
        self.real = outbox.record_and_claim

    def __call__(
        self, uow_factory: Any, fates: Sequence[Fate], tokens: Any, **kwargs: Any
    ) -> list[ClaimedMessage]:
        self.calls.append((len(fates), kwargs["limit"]))
        if fates and self.fail:  # (the sender then records each group alone)
            self.fail -= 1
            uow = uow_factory()
            with uow:
                joined = cast(UnitOfWorkFactory, lambda: uow)  # joins: written, not committed
                outbox.record(joined, fates, tokens)
                raise RuntimeError("commit failed")
        return self.real(uow_factory, fates, tokens, **kwargs)


async def test_fates_waiting_share_the_next_claims_transaction(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    rounds = Rounds()
    monkeypatch.setattr(outbox, "record_and_claim", rounds)
    fake = FakeChannel()
    gate = fake.hold("a1")
    enqueue(app.uow_factory, ("fake:a", "a1"), ("fake:b", "b1"))
    # the fates of b1 and a1 (nothing more to send for either) wait for the next claim
    sender = OutboxSender(app.uow_factory, [fake], interval=60, gather=0, linger=30)
    running = asyncio.create_task(sender.run())
    await asyncio.wait_for(fake.entered["a1"].wait(), timeout=5)
    await fake.until(lambda: ("fake:b", "b1") in fake.sent)

    enqueue(app.uow_factory, ("fake:b", "b2"), ("fake:a", "a2"))
    sender.wake()
    gate.set()
    await fake.until(lambda: len(fake.sent) == 4)
    sender.stop()
    await asyncio.wait_for(running, timeout=5)

    # b1's and a1's fates with the claim (of up to the batch less the two still held)
    assert (2, 98) in rounds.calls, rounds.calls
    assert fake.texts_of("fake:a") == ["a1", "a2"]
    assert fake.texts_of("fake:b") == ["b1", "b2"]
    assert {row.status for row in rows(app.uow_factory).values()} == {"sent"}


async def test_a_failed_round_loses_nothing_and_sends_nothing_twice(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    rounds = Rounds(fail=3)
    monkeypatch.setattr(outbox, "record_and_claim", rounds)
    fake = FakeChannel()
    texts = [(f"fake:{who}", f"{who}{n}") for n in range(1, 4) for who in "abc"]
    enqueue(app.uow_factory, *texts)
    sender = OutboxSender(app.uow_factory, [fake], batch=4)

    assert await sender.send_due() == 9

    assert rounds.fail == 0  # the failures did happen
    assert sorted(fake.sent) == sorted(texts)  # each once
    for who in "abc":
        assert fake.texts_of(f"fake:{who}") == [f"{who}1", f"{who}2", f"{who}3"]
    stored = rows(app.uow_factory)
    assert {row.status for row in stored.values()} == {"sent"}
    assert all(row.external_ref == f"ext-{text}" for text, row in stored.items())


async def test_a_lingering_fate_does_not_hold_up_a_sender_with_no_room(app: App) -> None:
    fake = FakeChannel()
    enqueue(app.uow_factory, ("fake:a", "a1"), ("fake:b", "b1"), ("fake:c", "c1"))
    # one identity at a time: each fate must be recorded at once for the next one to go
    sender = OutboxSender(
        app.uow_factory, [fake], concurrency=1, gather=0, linger=30, renew_every=3600
    )
    running = asyncio.create_task(sender.run())
    await fake.until(lambda: len(fake.sent) == 3, timeout=5)
    sender.stop()
    await asyncio.wait_for(running, timeout=2)

    assert fake.sent == [("fake:a", "a1"), ("fake:b", "b1"), ("fake:c", "c1")]
    assert {row.status for row in rows(app.uow_factory).values()} == {"sent"}


async def test_stop_records_a_lingering_fate_at_once(app: App) -> None:
    fake = FakeChannel()
    enqueue(app.uow_factory, ("fake:a", "a1"))
    sender = OutboxSender(app.uow_factory, [fake], interval=60, linger=30, renew_every=3600)
    running = asyncio.create_task(sender.run())
    await fake.until(lambda: len(fake.sent) == 1)
    await asyncio.sleep(0.05)
    assert rows(app.uow_factory)["a1"].status == "sending"  # its fate waits for a claim

    sender.stop()
    await asyncio.wait_for(running, timeout=2)
    row = rows(app.uow_factory)["a1"]
    assert (row.status, row.external_ref) == ("sent", "ext-a1")


async def test_send_due_does_not_linger(app: App) -> None:
    """No claim comes after the last one of `send_due`: its fates are recorded at once."""
    fake = FakeChannel()
    enqueue(app.uow_factory, ("fake:a", "a1"))
    sender = OutboxSender(app.uow_factory, [fake], linger=30, renew_every=3600)
    assert await asyncio.wait_for(sender.send_due(), timeout=2) == 1
    assert rows(app.uow_factory)["a1"].status == "sent"
