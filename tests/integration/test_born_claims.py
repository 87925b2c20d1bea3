"""An event's replies born claimed for this process's sender in the event's own transaction.

When the sender delivers the event's channel and the chat has nothing waiting or in flight
(read with the state), the engine writes the replies already claimed for it and hands them over
after the commit: the sender queues them at once, with no wake and no claim of its own.
Otherwise (no sender here, another channel, a busy sender, older messages of the chat to send
first) the replies wait and the sender is woken, as before.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import event

from bot.app import App
from bot.sender import OutboxSender
from bot.wakeup import Handoff
from services import outbox
from services.conversation import ConversationEngine, Dialogue, Outcome, Result, Turn
from services.messages import Inbound, Text, TextBody
from services.outbox import enqueue_to
from storage.conversation import ClaimedMessage
from tests.integration.test_sender import FakeChannel, enqueue, rows
from tests.support import make_office, query_plan


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


def chat_of(app: App, identity: str = "fake:a", n: int = 1) -> str:
    """A gestor's chat (an identity: strangers' replies are never born claimed)."""
    make_office(app.uow_factory, n, identity_key=identity)
    return identity


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


def test_the_replies_are_born_claimed_and_handed_over(app: App) -> None:
    handoff, wakes = RecordingHandoff(), Wakes()
    engine = engine_for(app, handoff, wakes, "r1", "r2")

    assert engine.handle(said(chat_of(app), "e1")) is Result.DONE

    [(messages, claimed_at)] = handoff.handed
    assert texts(messages) == ["e1:r1", "e1:r2"]
    assert wakes.count == 0  # nothing left for the sender to look for
    stored = rows(app.uow_factory)
    for message in messages:
        row = stored[message.payload["text"]]
        # as the sender's own claim leaves them: in flight, its token, stamped then
        assert (row.status, row.attempts, row.id) == ("sending", 1, message.id)
        assert message.attempts == 1
        assert row.claimed_at == claimed_at
        assert (row.channel, row.identity_key, row.address) == (
            message.channel,
            message.identity_key,
            message.address,
        )
        assert row.payload == message.payload


def test_the_born_claimed_replies_are_sent_and_fenced_like_claimed_ones(app: App) -> None:
    handoff = RecordingHandoff()
    engine_for(app, handoff, Wakes(), "r1").handle(said(chat_of(app), "e1"))
    [([message], _)] = handoff.handed

    # another sender's takeover (the lease ran out) fences this one's record off
    later = datetime.now(UTC) + outbox.CLAIM_LEASE + timedelta(seconds=1)
    with time_machine.travel(later, tick=False):
        [taken] = outbox.claim(app.uow_factory, channels=["fake"])
    outbox.record(app.uow_factory, [outbox.Delivered(message.id, "late")], {message.id: 1})
    row = rows(app.uow_factory)["e1:r1"]
    assert (row.status, row.attempts, row.external_ref) == ("sending", 2, None)
    outbox.record(app.uow_factory, [outbox.Delivered(taken.id, "ok")], {taken.id: 2})
    assert rows(app.uow_factory)["e1:r1"].status == "sent"


@pytest.mark.parametrize("older", ["waiting", "deferred", "in flight"])
def test_a_chat_with_an_older_message_to_send_gets_no_hand_over(app: App, older: str) -> None:
    """Its replies wait behind that message for the sender's own claim (which keeps a chat's
    order), and the sender is woken."""
    enqueue(app.uow_factory, ("fake:a", "older"), ("fake:b", "someone else's"))
    if older != "waiting":
        with app.uow_factory() as uow:
            [row] = uow.outbox.claim(
                datetime.now(UTC),
                limit=1,
                lease=outbox.CLAIM_LEASE,
                channels=["fake"],
                identity_key="fake:a",
            )
            if older == "deferred":
                uow.outbox.retry_later(row.id, datetime.now(UTC) + timedelta(minutes=5), "slow")
            uow.commit()
    handoff, wakes = RecordingHandoff(), Wakes()

    engine_for(app, handoff, wakes, "r1").handle(said(chat_of(app), "e1"))

    assert handoff.handed == []
    assert wakes.count == 1
    assert (rows(app.uow_factory)["e1:r1"].status, rows(app.uow_factory)["e1:r1"].attempts) == (
        "pending",
        0,
    )


def test_another_chats_waiting_message_does_not_keep_a_chat_from_the_hand_over(
    app: App,
) -> None:
    enqueue(app.uow_factory, ("fake:b", "someone else's"))
    handoff = RecordingHandoff()
    engine_for(app, handoff, Wakes(), "r1").handle(said(chat_of(app), "e1"))
    [(messages, _)] = handoff.handed
    assert texts(messages) == ["e1:r1"]
    assert rows(app.uow_factory)["someone else's"].status == "pending"


def test_a_stranger_gets_no_hand_over(app: App) -> None:
    """Someone with no identity yet (before an invite): not asked about the chat's messages."""
    handoff, wakes = RecordingHandoff(), Wakes()
    engine_for(app, handoff, wakes, "r1").handle(said("fake:stranger", "e1"))
    assert handoff.handed == []
    assert wakes.count == 1
    assert rows(app.uow_factory)["e1:r1"].status == "pending"


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
    engine_for(app, handoff, wakes, "r1").handle(said(chat_of(app), "e1"))

    assert wakes.count == 1
    row = rows(app.uow_factory)["e1:r1"]
    assert (row.status, row.attempts) == ("pending", 0)
    assert handoff is None or handoff.handed == []


def test_a_step_that_also_enqueues_for_someone_else_wakes_the_sender_for_it(app: App) -> None:
    def mailing(turn: Turn) -> Outcome:
        now = datetime.now(UTC)
        enqueue_to(turn.uow, "email", "email:contador", "c@x.com.br", [Text("o pacote")], now)
        return Outcome([Text("enviado")], None)

    handoff, wakes = RecordingHandoff(), Wakes()
    engine = ConversationEngine(app.uow_factory, mailing, on_enqueued=wakes, handoff=handoff)
    engine.handle(said(chat_of(app), "e1"))

    [(messages, _)] = handoff.handed
    assert texts(messages) == ["enviado"]
    assert wakes.count == 1  # the e-mail is the sender's own claim's
    assert rows(app.uow_factory)["o pacote"].status == "pending"


def test_a_step_that_wrote_to_its_own_chat_first_gets_no_hand_over(app: App) -> None:
    """What the step put in the outbox for this chat before its replies goes first."""
    chat = chat_of(app)

    def noting(turn: Turn) -> Outcome:
        enqueue_to(turn.uow, "fake", chat, chat, [Text("antes")], datetime.now(UTC))
        return Outcome([Text("depois")], None)

    handoff, wakes = RecordingHandoff(), Wakes()
    engine = ConversationEngine(app.uow_factory, noting, on_enqueued=wakes, handoff=handoff)
    engine.handle(said(chat, "e1"))

    assert handoff.handed == []
    assert wakes.count == 1
    assert texts(outbox.claim(app.uow_factory, channels=["fake"])) == ["antes", "depois"]


def test_replies_handed_to_a_sender_that_is_gone_are_taken_over_after_the_lease(
    app: App,
) -> None:
    """The process died (or its sender stopped) between the commit and the hand-over: the
    replies stay claimed, and another sender takes them over once the lease runs out."""
    handoff, wakes = RecordingHandoff(accepts=False), Wakes()
    engine_for(app, handoff, wakes, "r1").handle(said(chat_of(app), "e1"))
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

    chat = chat_of(app)
    handoff, wakes = RecordingHandoff(), Wakes()
    engine = ConversationEngine(app.uow_factory, broken, on_enqueued=wakes, handoff=handoff)
    assert engine.handle(said(chat, "e1")) is Result.FAILED
    assert handoff.handed == []
    assert wakes.count == 1
    [error] = rows(app.uow_factory).values()
    assert error.status == "pending"  # the error reply, for the sender's own claim
    outbox.record(app.uow_factory, [outbox.Failed(error.id, "gone")])  # (the chat is idle)

    working = engine_for(app, handoff, wakes, "r1")
    assert working.handle(said(chat, "e2")) is Result.DONE
    assert working.handle(said(chat, "e2")) is Result.DUPLICATE
    assert len(handoff.handed) == 1


def test_the_chats_unsent_messages_are_read_with_its_state(app: App) -> None:
    chat = chat_of(app)

    def unsent() -> bool | None:
        with app.uow_factory() as uow:
            return uow.conversations.load_with_identity(chat).unsent

    assert unsent() is False
    enqueue(app.uow_factory, (chat, "a1"), ("fake:b", "b1"))
    assert unsent() is True  # waiting
    [a1] = outbox.claim(app.uow_factory, channels=["fake"], identity_key=chat)
    assert unsent() is True  # in flight
    outbox.record(app.uow_factory, [outbox.Delivered(a1.id, "x")], {a1.id: a1.attempts})
    assert unsent() is False  # sent (another chat's waiting message is not this chat's)
    with app.uow_factory() as uow:
        assert uow.conversations.load_with_identity("fake:nobody").unsent is None


def test_the_chats_unsent_messages_are_read_from_the_partial_index(app: App) -> None:
    """Not the chat's history: the index of the rows still to deliver."""
    chat = chat_of(app)
    seen: list[tuple[str, object]] = []

    def capture(_conn: object, _cursor: object, sql: str, params: object, *_: object) -> None:
        if "EXISTS" in sql.upper():
            seen.append((sql, params))

    event.listen(app.db, "before_cursor_execute", capture)
    try:
        with app.uow_factory() as uow:
            uow.conversations.load_with_identity(chat)
    finally:
        event.remove(app.db, "before_cursor_execute", capture)
    [(sql, params)] = seen
    plan = query_plan(app.uow_factory, sql, params)
    assert "ix_outbox_unsent" in plan


# -- the real sender ----------------------------------------------------------------------------


async def all_sent(app: App) -> None:
    """Wait until every outbox row is recorded sent (a fate is committed after its send)."""
    for _ in range(500):
        if {row.status for row in (await asyncio.to_thread(rows, app.uow_factory)).values()} == {
            "sent"
        }:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("outbox rows left unsent")


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
    chat = chat_of(app)
    running = asyncio.create_task(sender.run())
    await taking(sender)

    await asyncio.to_thread(engine.handle, said(chat, "e1"))
    await fake.until(lambda: len(fake.sent) == 2)
    await all_sent(app)  # (the chat idle again: the next replies are born claimed too)
    await asyncio.to_thread(engine.handle, said(chat, "e2"))
    await fake.until(lambda: len(fake.sent) == 4)

    sender.stop()
    await asyncio.wait_for(running, timeout=5)
    detach()
    assert fake.texts_of(chat) == ["e1:r1", "e1:r2", "e2:r1", "e2:r2"]
    assert wakes.count == 0
    stored = rows(app.uow_factory)
    assert {row.status for row in stored.values()} == {"sent"}
    assert stored["e2:r1"].external_ref == "ext-e2:r1"
    assert not handoff.takes("fake")  # detached


async def test_a_reply_of_a_chat_with_a_message_in_flight_goes_after_it(app: App) -> None:
    fake = FakeChannel()
    gate = fake.hold("first")
    chat = chat_of(app)
    enqueue(app.uow_factory, (chat, "first"))
    sender = OutboxSender(app.uow_factory, [fake])
    handoff = Handoff()
    handoff.attach(sender)
    engine = ConversationEngine(
        app.uow_factory, replying("r1"), on_enqueued=sender.wake, handoff=handoff
    )
    running = asyncio.create_task(sender.run())
    await asyncio.wait_for(fake.entered["first"].wait(), timeout=5)

    await asyncio.to_thread(engine.handle, said(chat, "e1"))
    await asyncio.sleep(0.05)
    assert fake.sent == []  # behind "first", still being sent
    gate.set()
    await fake.until(lambda: len(fake.sent) == 2)
    sender.stop()
    await asyncio.wait_for(running, timeout=5)
    assert fake.texts_of(chat) == ["first", "e1:r1"]
    assert {row.status for row in rows(app.uow_factory).values()} == {"sent"}


async def test_a_reply_while_the_chats_last_fate_lingers_does_not_wait_for_it(
    app: App,
) -> None:
    """The chat's last message was sent and its fate waits (`linger`) for a claim to share its
    round: the chat is not idle, so the new reply is the sender's own claim, which takes the
    lingering fate along at once (here the linger and the sender's idle look at the outbox are
    far longer than the test)."""
    fake = FakeChannel()
    chat = chat_of(app)
    enqueue(app.uow_factory, (chat, "first"))
    sender = OutboxSender(app.uow_factory, [fake], linger=60, interval=60)
    handoff = Handoff()
    handoff.attach(sender)
    engine = ConversationEngine(
        app.uow_factory, replying("r1"), on_enqueued=sender.wake, handoff=handoff
    )
    running = asyncio.create_task(sender.run())
    await fake.until(lambda: len(fake.sent) == 1)  # its fate now lingers

    await asyncio.to_thread(engine.handle, said(chat, "e1"))
    await fake.until(lambda: len(fake.sent) == 2)
    sender.stop()
    await asyncio.wait_for(running, timeout=5)
    assert fake.texts_of(chat) == ["first", "e1:r1"]
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


async def test_while_older_messages_wait_for_its_claim_the_sender_takes_only_half_its_room(
    app: App,
) -> None:
    """A wake says messages wait (another process's event, a job, an error reply): until the
    sender has claimed them, events hand theirs over only into the first half of its room, so
    the claim of the older ones keeps the other half; one wake does not stop the hand-overs."""
    fake = FakeChannel()
    gates = [fake.hold(text) for text in ("a1", "b1", "c1")]
    sender = OutboxSender(app.uow_factory, [fake], concurrency=4, interval=60)
    running = asyncio.create_task(sender.run())
    await taking(sender)

    enqueue(app.uow_factory, ("fake:a", "a1"))
    sender.wake()
    await asyncio.wait_for(fake.entered["a1"].wait(), timeout=5)  # 1 of 4 in flight
    enqueue(app.uow_factory, ("fake:b", "b1"))
    sender.wake()
    assert sender.takes("fake")  # "b1" waits, but 3 of 4 are free

    await asyncio.wait_for(fake.entered["b1"].wait(), timeout=5)  # claimed: 2 of 4
    await taking(sender)  # nothing waits any more: all the room is the events'
    enqueue(app.uow_factory, ("fake:c", "c1"))
    sender.wake()
    assert not sender.takes("fake")  # "c1" waits, and only half the room is free
    await asyncio.wait_for(fake.entered["c1"].wait(), timeout=5)

    for gate in gates:
        gate.set()
    await fake.until(lambda: len(fake.sent) == 3)
    await taking(sender)
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


def test_the_apps_engine_hands_the_events_replies_to_the_attached_sender(app: App) -> None:
    """The app's engine is built with the app's hand-over: what `serve` attaches its sender to."""
    assert app.conversation.handoff is app.handoff
    seen = threading.Event()

    class Sender(RecordingHandoff):
        def adopt(self, messages: Sequence[ClaimedMessage], claimed_at: datetime) -> bool:
            seen.set()
            return super().adopt(messages, claimed_at)

    chat_of(app, "tg:5")
    detach = app.handoff.attach(Sender(channels=("telegram",)))
    try:
        app.conversation.handle(
            Inbound("telegram", "tg:5", "u1", "5", TextBody("/start"), datetime.now(UTC))
        )
    finally:
        detach()
    assert seen.is_set()
