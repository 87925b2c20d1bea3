"""An event's replies claimed for this process's sender in the event's own transaction.

When the sender delivers the event's channel, the engine claims the chat's due messages (the
replies, after any older one still waiting) before its commit and hands them over after it:
the sender queues them at once, with no wake and no claim of its own. Otherwise (no sender
here, another channel, a full sender) the replies wait and the sender is woken, as before.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import event, text

from bot.app import App
from bot.sender import OutboxSender
from bot.wakeup import Handoff
from services import outbox
from services.conversation import ConversationEngine, Dialogue, Outcome, Result, Turn
from services.messages import Inbound, Text, TextBody
from services.outbox import BORN_CLAIM_LIMIT, enqueue_to
from storage.conversation import ClaimedMessage
from tests.integration.test_sender import FakeChannel, enqueue, rows


class RecordingHandoff:
    """A sender that takes the channels it is told and records what it was handed."""

    def __init__(self, channels: Sequence[str] = ("fake",), *, accepts: bool = True) -> None:
        self.channels = set(channels)
        self.accepts = accepts
        self.handed: list[tuple[list[ClaimedMessage], datetime]] = []

    def takes(self, channel: str) -> bool:
        return channel in self.channels

    def adopt(self, messages: Sequence[ClaimedMessage], claimed_at: datetime) -> bool:
        if not self.accepts:
            return False
        self.handed.append((list(messages), claimed_at))
        return True


def replying(*texts: str) -> Dialogue:
    def dialogue(turn: Turn) -> Outcome:
        return Outcome([Text(f"{turn.event.event_id}:{t}") for t in texts], None)

    return dialogue


class Wakes:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


def engine_for(
    app: App, handoff: outbox.Handoff | None, wakes: Wakes, *texts: str
) -> ConversationEngine:
    return ConversationEngine(
        app.uow_factory, replying(*texts), on_enqueued=wakes, handoff=handoff
    )


def said(identity: str, event_id: str, channel: str = "fake") -> Inbound:
    return Inbound(channel, identity, event_id, identity, TextBody("oi"), datetime.now(UTC))


async def taking(sender: OutboxSender, channel: str = "fake") -> None:
    """Wait until the sender takes hand-overs (it runs and has looked at the outbox)."""
    for _ in range(500):  # (it has no event to wait on: looked at every 10 ms, 5 s at most)
        if sender.takes(channel):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the sender never took hand-overs")


def texts(messages: Sequence[ClaimedMessage]) -> list[str]:
    return [message.payload["text"] for message in messages]


def test_the_replies_are_claimed_in_the_events_transaction_and_handed_over(app: App) -> None:
    handoff, wakes = RecordingHandoff(), Wakes()
    engine = engine_for(app, handoff, wakes, "r1", "r2")

    assert engine.handle(said("fake:a", "e1")) is Result.DONE

    [(messages, claimed_at)] = handoff.handed
    assert texts(messages) == ["e1:r1", "e1:r2"]
    assert wakes.count == 0  # nothing left for the sender to look for
    stored = rows(app.uow_factory)
    for message in messages:
        row = stored[message.payload["text"]]
        # claimed as the sender's own claim would: in flight, its token, stamped then
        assert (row.status, row.attempts) == ("sending", message.attempts) == ("sending", 1)
        assert row.claimed_at == claimed_at


def test_an_older_waiting_message_of_the_chat_goes_first_and_other_chats_are_left(
    app: App,
) -> None:
    enqueue(app.uow_factory, ("fake:a", "older"), ("fake:b", "someone else's"))
    handoff, wakes = RecordingHandoff(), Wakes()

    engine_for(app, handoff, wakes, "r1").handle(said("fake:a", "e1"))

    [(messages, _)] = handoff.handed
    assert texts(messages) == ["older", "e1:r1"]
    assert rows(app.uow_factory)["someone else's"].status == "pending"


def test_a_message_deferred_until_later_is_not_claimed_with_the_replies(app: App) -> None:
    enqueue(app.uow_factory, ("fake:a", "later"))
    with app.uow_factory() as uow:
        [later] = uow.outbox.claim(
            datetime.now(UTC), limit=1, lease=outbox.CLAIM_LEASE, channels=["fake"]
        )
        uow.outbox.retry_later(later.id, datetime.now(UTC) + timedelta(minutes=5), "slow")
        uow.commit()
    handoff = RecordingHandoff()

    engine_for(app, handoff, Wakes(), "r1").handle(said("fake:a", "e1"))

    [(messages, _)] = handoff.handed
    assert texts(messages) == ["e1:r1"]  # the sender holds it behind the deferred one
    assert rows(app.uow_factory)["later"].status == "pending"


@pytest.mark.parametrize(
    "handoff",
    [
        None,
        RecordingHandoff(channels=("other",)),  # this process sends other channels only
    ],
    ids=["no sender here", "another channel"],
)
def test_without_a_sender_for_the_channel_the_replies_wait_and_the_sender_is_woken(
    app: App, handoff: RecordingHandoff | None
) -> None:
    wakes = Wakes()
    engine_for(app, handoff, wakes, "r1").handle(said("fake:a", "e1"))

    assert wakes.count == 1
    row = rows(app.uow_factory)["e1:r1"]
    assert (row.status, row.attempts) == ("pending", 0)
    assert handoff is None or handoff.handed == []


def test_a_full_claim_is_handed_over_and_the_sender_woken_for_the_rest(app: App) -> None:
    enqueue(app.uow_factory, *[("fake:a", f"old{n}") for n in range(BORN_CLAIM_LIMIT)])
    handoff, wakes = RecordingHandoff(), Wakes()

    engine_for(app, handoff, wakes, "r1").handle(said("fake:a", "e1"))

    [(messages, _)] = handoff.handed
    assert texts(messages) == [f"old{n}" for n in range(BORN_CLAIM_LIMIT)]
    assert wakes.count == 1
    assert rows(app.uow_factory)["e1:r1"].status == "pending"  # the sender's own claim's


def test_a_step_that_also_enqueues_for_someone_else_wakes_the_sender_for_it(app: App) -> None:
    def mailing(turn: Turn) -> Outcome:
        now = datetime.now(UTC)
        enqueue_to(turn.uow, "email", "email:contador", "c@x.com.br", [Text("o pacote")], now)
        return Outcome([Text("enviado")], None)

    handoff, wakes = RecordingHandoff(), Wakes()
    engine = ConversationEngine(app.uow_factory, mailing, on_enqueued=wakes, handoff=handoff)
    engine.handle(said("fake:a", "e1"))

    [(messages, _)] = handoff.handed
    assert texts(messages) == ["enviado"]
    assert wakes.count == 1  # the e-mail is the sender's own claim's
    assert rows(app.uow_factory)["o pacote"].status == "pending"


def test_replies_handed_to_a_sender_that_is_gone_are_taken_over_after_the_lease(
    app: App,
) -> None:
    """The process died (or its sender stopped) between the commit and the hand-over: the
    replies stay claimed, and another sender takes them over once the lease runs out."""
    handoff, wakes = RecordingHandoff(accepts=False), Wakes()
    engine_for(app, handoff, wakes, "r1").handle(said("fake:a", "e1"))
    assert wakes.count == 1
    assert rows(app.uow_factory)["e1:r1"].status == "sending"

    assert outbox.claim(app.uow_factory, channels=["fake"]) == []  # held while the lease runs
    later = datetime.now(UTC) + outbox.CLAIM_LEASE + timedelta(seconds=1)
    with time_machine.travel(later, tick=False):
        [taken] = outbox.claim(app.uow_factory, channels=["fake"])
    assert (texts([taken]), taken.attempts) == (["e1:r1"], 2)


def test_a_failed_or_duplicate_event_claims_nothing(app: App) -> None:
    def broken(turn: Turn) -> Outcome:
        raise RuntimeError("boom")

    handoff, wakes = RecordingHandoff(), Wakes()
    engine = ConversationEngine(app.uow_factory, broken, on_enqueued=wakes, handoff=handoff)
    assert engine.handle(said("fake:a", "e1")) is Result.FAILED
    assert handoff.handed == []
    assert wakes.count == 1
    [error] = rows(app.uow_factory).values()
    assert error.status == "pending"  # the error reply, for the sender's own claim

    working = engine_for(app, handoff, wakes, "r1")
    assert working.handle(said("fake:a", "e2")) is Result.DONE
    assert working.handle(said("fake:a", "e2")) is Result.DUPLICATE
    assert len(handoff.handed) == 1


def test_the_chats_claim_reads_its_unsent_rows_only(app: App) -> None:
    """The claim by chat reads the partial index of unsent rows, not the chat's history."""
    enqueue(app.uow_factory, ("fake:a", "a1"))
    seen: list[tuple[str, object]] = []

    def capture(_conn: object, _cursor: object, sql: str, params: object, *_: object) -> None:
        if sql.lstrip().upper().startswith("UPDATE OUTBOX_MESSAGE"):
            seen.append((sql, params))

    event.listen(app.db, "before_cursor_execute", capture)
    try:
        with app.uow_factory() as uow:
            claimed = outbox.claim_born(uow, "fake", "fake:a", datetime.now(UTC))
            uow.commit()
    finally:
        event.remove(app.db, "before_cursor_execute", capture)
    assert texts(claimed) == ["a1"]
    [(sql, params)] = seen
    with app.uow_factory() as uow:
        raw = uow.session.connection().connection.driver_connection
        assert raw is not None
        cursor = raw.cursor()
        if app.db.dialect.name == "postgresql":
            # A table this small is cheaper to scan: say which plan is taken once it is not.
            uow.session.execute(text("SET LOCAL enable_seqscan = off"))
            cursor.execute(f"EXPLAIN {sql}", params)
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        plan = " ".join(str(row) for row in cursor.fetchall())
    assert "ix_outbox_unsent" in plan


# -- the real sender ----------------------------------------------------------------------------


async def test_the_sender_delivers_handed_over_replies_without_a_wake_or_a_claim(
    app: App,
) -> None:
    fake = FakeChannel()
    # never woken and looking at the outbox once a minute: only the hand-over can bring them
    sender = OutboxSender(app.uow_factory, [fake], interval=60)
    handoff = Handoff()
    detach = handoff.attach(sender)
    wakes = Wakes()
    engine = engine_for(app, handoff, wakes, "r1", "r2")
    running = asyncio.create_task(sender.run())
    await taking(sender)

    await asyncio.to_thread(engine.handle, said("fake:a", "e1"))
    await fake.until(lambda: len(fake.sent) == 2)
    await asyncio.to_thread(engine.handle, said("fake:a", "e2"))
    await fake.until(lambda: len(fake.sent) == 4)

    sender.stop()
    await asyncio.wait_for(running, timeout=5)
    detach()
    assert fake.texts_of("fake:a") == ["e1:r1", "e1:r2", "e2:r1", "e2:r2"]
    assert wakes.count == 0
    stored = rows(app.uow_factory)
    assert {row.status for row in stored.values()} == {"sent"}
    assert stored["e2:r1"].external_ref == "ext-e2:r1"
    assert not handoff.takes("fake")  # detached


async def test_a_handed_over_reply_waits_behind_the_chats_message_in_flight(app: App) -> None:
    fake = FakeChannel()
    gate = fake.hold("first")
    enqueue(app.uow_factory, ("fake:a", "first"))
    sender = OutboxSender(app.uow_factory, [fake])
    handoff = Handoff()
    handoff.attach(sender)
    running = asyncio.create_task(sender.run())
    await asyncio.wait_for(fake.entered["first"].wait(), timeout=5)

    await asyncio.to_thread(engine_for(app, handoff, Wakes(), "r1").handle, said("fake:a", "e1"))
    await asyncio.sleep(0.05)
    assert fake.sent == []  # behind "first", still being sent
    gate.set()
    await fake.until(lambda: len(fake.sent) == 2)
    sender.stop()
    await asyncio.wait_for(running, timeout=5)
    assert fake.texts_of("fake:a") == ["first", "e1:r1"]
    assert {row.status for row in rows(app.uow_factory).values()} == {"sent"}


async def test_a_reply_handed_over_while_the_chats_last_fate_lingers_does_not_wait_for_it(
    app: App,
) -> None:
    """The chat's last message was sent and its fate waits (`linger`) for a claim to share its
    round; a reply handed over meanwhile is sent once that fate is recorded, so the round goes
    at once instead of lingering (here the linger and the sender's idle look at the outbox are
    far longer than the test)."""
    fake = FakeChannel()
    enqueue(app.uow_factory, ("fake:a", "first"))
    sender = OutboxSender(app.uow_factory, [fake], linger=60, interval=60)
    handoff = Handoff()
    handoff.attach(sender)
    running = asyncio.create_task(sender.run())
    await fake.until(lambda: len(fake.sent) == 1)  # its fate now lingers

    await asyncio.to_thread(engine_for(app, handoff, Wakes(), "r1").handle, said("fake:a", "e1"))
    await fake.until(lambda: len(fake.sent) == 2)
    sender.stop()
    await asyncio.wait_for(running, timeout=5)
    assert fake.texts_of("fake:a") == ["first", "e1:r1"]
    assert {row.status for row in rows(app.uow_factory).values()} == {"sent"}


async def test_the_sender_takes_only_while_it_runs_its_channel_with_room(app: App) -> None:
    fake = FakeChannel()
    gate = fake.hold("a1")
    sender = OutboxSender(app.uow_factory, [fake], batch=1)
    assert not sender.takes("fake")  # not running yet
    running = asyncio.create_task(sender.run())
    await taking(sender)  # once it has looked at the outbox
    assert not sender.takes("telegram")  # not a channel it delivers

    enqueue(app.uow_factory, ("fake:a", "a1"))
    sender.wake()
    await asyncio.wait_for(fake.entered["a1"].wait(), timeout=5)
    assert not sender.takes("fake")  # its one claim is held: full
    gate.set()
    await fake.until(lambda: len(fake.sent) == 1)

    sender.stop()
    assert not sender.takes("fake")
    assert not sender.adopt([], datetime.now(UTC))
    await asyncio.wait_for(running, timeout=5)


async def test_the_sender_takes_nothing_while_older_messages_wait_for_its_own_claim(
    app: App,
) -> None:
    """A wake says messages wait (another process's event, a job, an error reply): until the
    sender has claimed them, an event's replies are not handed over ahead of them."""
    fake = FakeChannel()
    sender = OutboxSender(app.uow_factory, [fake], interval=60)
    running = asyncio.create_task(sender.run())
    await taking(sender)

    enqueue(app.uow_factory, ("fake:b", "older"))
    sender.wake()
    assert not sender.takes("fake")
    await fake.until(lambda: len(fake.sent) == 1)
    await taking(sender)  # claimed: events hand theirs over again

    sender.stop()
    await asyncio.wait_for(running, timeout=5)


def test_handoff_with_no_sender_attached_takes_nothing(app: App) -> None:
    handoff = Handoff()
    sender = RecordingHandoff()
    assert not handoff.takes("fake")
    assert not handoff.adopt([], datetime.now(UTC))
    detach = handoff.attach(sender)
    assert handoff.takes("fake")
    assert handoff.adopt([], datetime.now(UTC))
    detach()
    assert not handoff.takes("fake")


def test_serve_hands_the_events_replies_to_its_sender(app: App) -> None:
    """The app's engine is built with the app's hand-over: what `serve` attaches its sender to."""
    assert app.conversation.handoff is app.handoff
    seen = threading.Event()

    class Sender(RecordingHandoff):
        def adopt(self, messages: Sequence[ClaimedMessage], claimed_at: datetime) -> bool:
            seen.set()
            return super().adopt(messages, claimed_at)

    detach = app.handoff.attach(Sender(channels=("telegram",)))
    try:
        app.conversation.handle(
            Inbound("telegram", "tg:5", "u1", "5", TextBody("/start"), datetime.now(UTC))
        )
    finally:
        detach()
    assert seen.is_set()
