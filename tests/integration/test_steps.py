"""Where `serve` runs an event's step and the sender's database rounds (bot/steps.py).

On SQLite, on the event loop itself while no other thread holds the one writer; on a thread
when one does (the loop never waits for someone else's transaction), and always on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, event, select
from telegram import Update

from bot.app import App, build_app, build_runtime
from bot.sender import OutboxSender
from bot.steps import Grouped, Steps, after_return
from services.conversation import ConversationEngine, Result
from services.messages import Inbound, TextBody
from services.types import UnitOfWork, UnitOfWorkFactory
from storage.db import writer_free
from storage.models import OutboxMessage
from tests.integration.fake_telegram import TOKEN, FakeBotApi, message_update
from tests.integration.test_born_claims import chat_of, replying, taking
from tests.integration.test_sender import FakeChannel, enqueue, rows
from tests.support import make_office

USER = 111


def on_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


@contextmanager
def writer_held_elsewhere(app: App) -> Iterator[threading.Event]:
    """Another thread's open transaction (it holds SQLite's writer) until the event is set."""
    taken, release = threading.Event(), threading.Event()

    def hold() -> None:
        uow = app.uow_factory()
        with uow:
            uow.connection  # noqa: B018 - BEGIN: the writer is this thread's
            taken.set()
            release.wait(10)
            uow.commit()

    holder = threading.Thread(target=hold)
    holder.start()
    assert taken.wait(10)
    try:
        yield release
    finally:
        release.set()
        holder.join()


class RecordingThreads(UnitOfWorkFactory):
    """A unit-of-work factory that notes the thread of each unit of work it makes."""

    def __init__(self, inner: UnitOfWorkFactory) -> None:
        super().__init__(inner.session_factory)
        self.threads: list[threading.Thread] = []

    def __call__(self) -> UnitOfWork:
        self.threads.append(threading.current_thread())
        return super().__call__()


async def test_a_step_runs_on_the_loop_on_sqlite_and_on_a_thread_on_postgresql(app: App) -> None:
    steps = Steps.for_engine(app.db)
    loop_thread = threading.current_thread()

    ran_on = await steps.run(threading.current_thread)

    assert (ran_on is loop_thread) == on_sqlite(app.db)
    assert writer_free(app.db) is (True if on_sqlite(app.db) else None)


async def test_while_another_thread_holds_the_writer_the_step_goes_to_a_thread(
    app: App,
) -> None:
    """The step then waits for the writer on its thread, and the loop goes on meanwhile."""
    steps = Steps.for_engine(app.db)
    loop_thread = threading.current_thread()
    ticks = 0

    async def ticking() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.005)

    def step() -> threading.Thread:
        uow = app.uow_factory()
        with uow:
            uow.connection  # noqa: B018 - waits here for the writer (SQLite)
            uow.commit()
        return threading.current_thread()

    ticker = asyncio.create_task(ticking())
    with writer_held_elsewhere(app) as release:
        if on_sqlite(app.db):
            assert writer_free(app.db) is False
        running = asyncio.ensure_future(steps.run(step))
        await asyncio.sleep(0.1)
        assert not running.done() or not on_sqlite(app.db)
        before = ticks
        await asyncio.sleep(0.05)
        assert ticks > before  # the loop was not held up by the step's wait
        release.set()
        ran_on = await asyncio.wait_for(running, 10)
    ticker.cancel()
    assert ran_on is not loop_thread


async def test_an_event_handled_on_the_loop_hands_its_replies_to_the_sender_there(
    app: App,
) -> None:
    """The engine's step on the loop, the sender on the same loop: the replies born claimed
    are queued without a wake from another thread, delivered and recorded."""
    channel = FakeChannel()
    steps = Steps.for_engine(app.db)
    sender = OutboxSender(app.uow_factory, [channel], steps=steps)
    engine = ConversationEngine(app.uow_factory, replying("r1", "r2"), handoff=sender)
    identity = chat_of(app)
    running = asyncio.create_task(sender.run())
    try:
        await taking(sender)
        event = Inbound("fake", identity, "e1", identity, TextBody("oi"), datetime.now(UTC))

        assert await steps.run(engine.handle, event) is Result.DONE

        await channel.until(lambda: len(channel.sent) == 2)
    finally:
        sender.stop()
        await asyncio.wait_for(running, 10)
    assert channel.texts_of(identity) == ["e1:r1", "e1:r2"]
    assert {row.status for row in rows(app.uow_factory).values()} == {"sent"}


async def test_the_senders_rounds_run_on_the_loop_on_sqlite(app: App) -> None:
    enqueue(app.uow_factory, ("fake:a", "um"), ("fake:b", "dois"), ("fake:a", "três"))
    channel = FakeChannel()
    recording = RecordingThreads(app.uow_factory)
    sender = OutboxSender(recording, [channel], steps=Steps.for_engine(app.db))
    loop_thread = threading.current_thread()

    assert await sender.send_due() == 3

    assert sorted(text for _, text in channel.sent) == ["dois", "três", "um"]
    assert {row.status for row in rows(app.uow_factory).values()} == {"sent"}
    on_loop = [thread is loop_thread for thread in recording.threads]
    assert on_loop  # (it made units of work)
    assert all(on_loop) == on_sqlite(app.db)
    assert any(on_loop) == on_sqlite(app.db)


async def test_serves_telegram_channel_runs_the_step_as_the_database_allows(app: App) -> None:
    """A message through the channel `serve` builds: its step on the loop on SQLite, on a
    thread on PostgreSQL; answered either way."""
    settings = app.settings.model_copy(update={"telegram_bot_token": SecretStr(TOKEN)})
    api = FakeBotApi()
    runtime = build_runtime(build_app(settings, db=app.db), telegram_request=api)
    channel = runtime.telegram
    assert channel is not None
    make_office(app.uow_factory, 1, identity_key=f"tg:{USER}")
    ran_on: list[threading.Thread] = []
    handle = channel.handle

    def noting(inbound: Inbound) -> object:
        ran_on.append(threading.current_thread())
        return handle(inbound)

    channel.handle = noting
    await channel.start()
    try:
        await channel.process(Update.de_json(message_update(1, USER, "/menu"), channel.bot))
    finally:
        await channel.stop()

    [thread] = ran_on
    assert (thread is threading.current_thread()) == on_sqlite(app.db)
    assert rows(app.uow_factory)  # the menu, in the outbox
    assert (runtime.sender.steps.inline is not None) == on_sqlite(app.db)


async def test_a_step_on_a_thread_hands_its_replies_over_once_it_has_returned(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hand-over waits for the step's return to the loop (which wakes it anyway) instead
    of waking the loop from the step's thread: one wake per step, not two."""
    channel = FakeChannel()
    sender = OutboxSender(app.uow_factory, [channel])
    engine = ConversationEngine(app.uow_factory, replying("r1"), handoff=sender)
    identity = chat_of(app)
    running = asyncio.create_task(sender.run())
    loop = asyncio.get_running_loop()
    try:
        await taking(sender)
        wakes: list[str] = []
        threadsafe = loop.call_soon_threadsafe

        def counting(callback: Any, *args: Any, **kwargs: Any) -> Any:
            wakes.append(getattr(callback, "__qualname__", repr(callback)))
            return threadsafe(callback, *args, **kwargs)

        monkeypatch.setattr(loop, "call_soon_threadsafe", counting)
        event = Inbound("fake", identity, "e1", identity, TextBody("oi"), datetime.now(UTC))

        assert await Steps().run(engine.handle, event) is Result.DONE

        monkeypatch.undo()
        assert len(wakes) == 1  # the step's own return, with the hand-over behind it
        await channel.until(lambda: len(channel.sent) == 1)
    finally:
        sender.stop()
        await asyncio.wait_for(running, 10)
    assert channel.texts_of(identity) == ["e1:r1"]


async def test_once_its_caller_stopped_waiting_a_step_must_wake_the_loop_itself() -> None:
    loop = asyncio.get_running_loop()
    started, go_on = threading.Event(), threading.Event()
    taken: list[bool] = []

    def step() -> None:
        started.set()
        go_on.wait(5)
        taken.append(after_return(loop, lambda: None))

    waiting = asyncio.create_task(Steps().run(step))
    assert await asyncio.to_thread(started.wait, 5)
    waiting.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await waiting
    go_on.set()
    for _ in range(500):
        if taken:
            break
        await asyncio.sleep(0.01)
    assert taken == [False]
    assert after_return(loop, lambda: None) is False  # not inside a step at all


async def test_what_a_step_leaves_for_the_loop_runs_there_and_a_failure_stays_there() -> None:
    """The step's result is its own: a callback it left that fails is the loop's to report."""
    loop = asyncio.get_running_loop()
    ran: list[threading.Thread] = []
    reported: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: reported.append(context))

    def failing() -> None:
        raise ZeroDivisionError

    def step() -> str:
        assert after_return(loop, failing)
        assert after_return(loop, lambda: ran.append(threading.current_thread()))
        return "feito"

    try:
        assert await Steps().run(step) == "feito"
        for _ in range(3):
            await asyncio.sleep(0)
    finally:
        loop.set_exception_handler(None)
    assert ran == [threading.current_thread()]
    assert [type(context.get("exception")) for context in reported] == [ZeroDivisionError]


# -- turns of the loop ----------------------------------------------------------------------------


def _on_loop() -> Steps:
    return Steps(inline=lambda: True)


async def _together(steps: Steps, count: int, order: list[str]) -> list[asyncio.Task[str]]:
    """`count` calls made in one turn of the loop; each, as it runs, leaves the loop a
    callback (as a step hands its replies to the sender)."""
    loop = asyncio.get_running_loop()

    def step(number: int) -> str:
        order.append(f"step {number}")
        loop.call_soon(order.append, f"loop after {number}")
        return f"done {number}"

    tasks = [asyncio.create_task(steps.run(step, n)) for n in range(count)]
    await asyncio.sleep(0)  # every task starts in this one turn
    return tasks


async def test_past_a_turns_worth_the_next_step_waits_for_the_loop_to_run_what_is_ready(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("bot.steps.TURN", 0.0)
    order: list[str] = []
    tasks = await _together(_on_loop(), 3, order)
    assert await asyncio.gather(*tasks) == ["done 0", "done 1", "done 2"]
    await asyncio.sleep(0)
    # first come, first served, and what the step before left for the loop ran in between
    assert order == ["step 0", "loop after 0", "step 1", "loop after 1", "step 2", "loop after 2"]


async def test_short_steps_share_one_turn_of_the_loop() -> None:
    order: list[str] = []
    tasks = await _together(_on_loop(), 3, order)  # far less than TURN between them
    await asyncio.gather(*tasks)
    await asyncio.sleep(0)
    assert order == ["step 0", "step 1", "step 2", "loop after 0", "loop after 1", "loop after 2"]


async def test_a_caller_that_stops_waiting_for_its_turn_holds_nobody_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("bot.steps.TURN", 0.0)
    order: list[str] = []
    tasks = await _together(_on_loop(), 4, order)
    tasks[1].cancel()  # while it waits
    assert (await asyncio.gather(*tasks, return_exceptions=True))[2:] == ["done 2", "done 3"]
    assert [line for line in order if line.startswith("step")] == ["step 0", "step 2", "step 3"]


async def test_a_caller_cancelled_once_handed_the_turn_passes_it_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("bot.steps.TURN", 0.0)
    loop = asyncio.get_running_loop()
    steps, ran = _on_loop(), []
    second: asyncio.Task[None] | None = None

    def first() -> None:
        ran.append("first")
        # runs in the next turn right after the turn was handed to the second caller
        loop.call_soon(lambda: second is not None and second.cancel())

    one = asyncio.create_task(steps.run(first))
    second = asyncio.create_task(steps.run(ran.append, "second"))
    third = asyncio.create_task(steps.run(ran.append, "third"))
    await one
    with contextlib.suppress(asyncio.CancelledError):
        await second
    await asyncio.wait_for(third, 5)
    assert ran == ["first", "third"]


async def test_a_step_that_waited_for_its_turn_goes_to_a_thread_if_the_writer_was_taken(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("bot.steps.TURN", 0.0)
    free = [True]
    steps = Steps(inline=lambda: free[0])
    threads: list[threading.Thread] = []

    def step() -> None:
        threads.append(threading.current_thread())
        free[0] = False  # another thread's transaction begins meanwhile

    await asyncio.gather(steps.run(step), steps.run(step))
    assert threads[0] is threading.current_thread()
    assert threads[1] is not threading.current_thread()


async def test_the_senders_rounds_never_wait_behind_the_steps_turns(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("bot.steps.TURN", 0.0)
    steps = _on_loop()
    rounds = steps.with_executor(None)  # as the sender makes its own (bot/sender.py)
    order: list[str] = []
    tasks = await _together(steps, 2, order)
    await rounds.run(order.append, "round")
    await asyncio.gather(*tasks)
    assert order.index("round") < order.index("step 1")


def test_a_turn_left_taken_by_a_loop_that_stopped_holds_up_no_later_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("bot.steps.TURN", 0.0)
    steps = _on_loop()
    first = asyncio.new_event_loop()
    try:
        took = first.create_task(steps.run(lambda: None))
        first.call_soon(first.stop)  # stops before the turn it took is handed on
        first.run_forever()
        assert took.done()
    finally:
        first.close()

    async def later() -> str:
        return await asyncio.wait_for(steps.run(lambda: "ok"), 5)

    assert asyncio.run(later()) == "ok"


# -- events given together share a call ----------------------------------------------------------


class Recorder:
    """A Grouped call's two sides, noting what each was given (and on which thread)."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.calls: list[tuple[str, list[str]]] = []
        self.threads: list[threading.Thread] = []
        self.fail_on = fail_on
        self.grouped = Grouped(self.one, self.many)

    def one(self, item: str) -> str:
        self.calls.append(("one", [item]))
        self.threads.append(threading.current_thread())
        return f"{item}!"

    def many(self, items: Sequence[str]) -> list[str]:
        self.calls.append(("many", list(items)))
        self.threads.append(threading.current_thread())
        if self.fail_on in items:
            raise ValueError(self.fail_on)
        return [f"{item}!" for item in items]


async def test_items_given_in_one_turn_of_the_loop_go_together() -> None:
    recorder = Recorder()
    steps = _on_loop()

    results = await asyncio.gather(*(steps.run(recorder.grouped, f"e{n}") for n in range(3)))

    assert results == ["e0!", "e1!", "e2!"]
    assert recorder.calls == [("many", ["e0", "e1", "e2"])]
    assert recorder.threads == [threading.current_thread()]  # on the loop


async def test_at_most_a_group_of_items_go_together_in_their_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("bot.steps.GROUP", 2)
    recorder = Recorder()
    steps = _on_loop()

    results = await asyncio.gather(*(steps.run(recorder.grouped, f"e{n}") for n in range(5)))

    assert results == ["e0!", "e1!", "e2!", "e3!", "e4!"]
    assert recorder.calls == [("many", ["e0", "e1"]), ("many", ["e2", "e3"]), ("one", ["e4"])]


async def test_an_item_given_alone_goes_to_the_one_item_call() -> None:
    recorder = Recorder()
    steps = _on_loop()

    assert await steps.run(recorder.grouped, "e0") == "e0!"
    assert await steps.run(recorder.grouped, "e1") == "e1!"  # a later turn: a group of its own

    assert recorder.calls == [("one", ["e0"]), ("one", ["e1"])]


async def test_items_for_threads_go_together_on_a_thread() -> None:
    """On PostgreSQL (steps on threads) the events given in one turn share a transaction too."""
    recorder = Recorder()
    steps = Steps()

    results = await asyncio.gather(*(steps.run(recorder.grouped, f"e{n}") for n in range(3)))

    assert results == ["e0!", "e1!", "e2!"]
    assert recorder.calls == [("many", ["e0", "e1", "e2"])]
    assert threading.current_thread() not in recorder.threads


async def test_on_threads_the_groups_of_one_turn_run_side_by_side(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Past GROUP items, the next group does not wait for the first: each waits on the
    database on a thread of its own."""
    monkeypatch.setattr("bot.steps.GROUP", 2)
    both_running = threading.Barrier(2, timeout=5)
    recorder = Recorder()

    def many(items: Sequence[str]) -> list[str]:
        both_running.wait()  # (broken, and so raising, unless the other group runs meanwhile)
        return recorder.many(items)

    grouped = Grouped(recorder.one, many)
    steps = Steps()
    results = await asyncio.gather(*(steps.run(grouped, f"e{n}") for n in range(4)))

    assert results == ["e0!", "e1!", "e2!", "e3!"]
    assert sorted(recorder.calls) == [("many", ["e0", "e1"]), ("many", ["e2", "e3"])]
    assert len(set(recorder.threads)) == 2


async def test_a_group_that_fails_fails_its_own_callers_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("bot.steps.GROUP", 2)
    recorder = Recorder(fail_on="e1")
    steps = _on_loop()

    results = await asyncio.gather(
        *(steps.run(recorder.grouped, f"e{n}") for n in range(4)),
        return_exceptions=True,
    )

    assert [type(r).__name__ if isinstance(r, Exception) else r for r in results] == [
        "ValueError",
        "ValueError",
        "e2!",
        "e3!",
    ]


async def test_a_caller_that_stops_waiting_leaves_its_group_to_the_others() -> None:
    recorder = Recorder()
    steps = _on_loop()
    tasks = [asyncio.create_task(steps.run(recorder.grouped, f"e{n}")) for n in range(3)]
    await asyncio.sleep(0)  # each has given its item
    tasks[1].cancel()

    results = await asyncio.gather(*tasks, return_exceptions=True)

    assert results[0] == "e0!"
    assert isinstance(results[1], asyncio.CancelledError)
    assert results[2] == "e2!"
    assert recorder.calls == [("many", ["e0", "e1", "e2"])]  # (its event was handled)


async def test_serves_channels_handle_events_arriving_together_in_one_transaction(
    app: App,
) -> None:
    """Several people's messages at once through the Telegram channel `serve` builds share
    one transaction (one COMMIT), on SQLite on the loop, on PostgreSQL on a thread; every one
    is answered."""
    settings = app.settings.model_copy(update={"telegram_bot_token": SecretStr(TOKEN)})
    runtime = build_runtime(build_app(settings, db=app.db), telegram_request=FakeBotApi())
    channel = runtime.telegram
    assert channel is not None
    people = [USER + n for n in range(3)]
    for n, person in enumerate(people):
        make_office(app.uow_factory, n + 1, identity_key=f"tg:{person}")
    commits: list[int] = []
    event.listen(app.db, "commit", lambda _connection: commits.append(1))
    await channel.start()
    try:
        await asyncio.gather(
            *(
                channel.process(Update.de_json(message_update(n, person, "/menu"), channel.bot))
                for n, person in enumerate(people)
            )
        )
    finally:
        await channel.stop()

    assert len(commits) == 1
    with app.uow_factory() as uow:
        answered = uow.session.scalars(select(OutboxMessage.identity_key).distinct()).all()
    assert sorted(answered) == [f"tg:{person}" for person in people]


async def test_events_given_together_while_the_writer_is_taken_share_a_thread(
    app: App,
) -> None:
    """SQLite: another thread holds the writer, so the group goes to a thread and waits there
    for it; the loop goes on, and the events are handled together once it is free."""
    if not on_sqlite(app.db):
        pytest.skip("one writer: SQLite")
    steps = Steps.for_engine(app.db)
    engine = ConversationEngine(app.uow_factory, replying("r"))
    handled_on: list[threading.Thread] = []

    def many(events: Sequence[Inbound]) -> list[Result]:
        handled_on.append(threading.current_thread())
        return engine.handle_many(events)

    grouped = Grouped(engine.handle, many)
    events = [
        Inbound("fake", f"fake:{n}", f"e{n}", str(n), TextBody("oi"), datetime.now(UTC))
        for n in range(3)
    ]
    with writer_held_elsewhere(app) as release:
        running = asyncio.gather(*(steps.run(grouped, event) for event in events))
        await asyncio.sleep(0.1)
        assert not running.done()  # waiting for the writer, on a thread
        release.set()
        results = await asyncio.wait_for(running, 10)

    assert results == [Result.DONE] * 3
    [thread] = handled_on
    assert thread is not threading.current_thread()
    with app.uow_factory() as uow:
        answered = uow.session.scalars(select(OutboxMessage.identity_key)).all()
    assert sorted(answered) == ["fake:0", "fake:1", "fake:2"]


async def test_a_group_call_that_answers_wrong_leaves_no_caller_waiting() -> None:
    def short(items: Sequence[str]) -> list[str]:
        return [f"{items[0]}!"]  # one result for two items

    grouped = Grouped(lambda item: f"{item}!", short)
    steps = _on_loop()

    results = await asyncio.wait_for(
        asyncio.gather(*(steps.run(grouped, f"e{n}") for n in range(2)), return_exceptions=True),
        5,
    )

    assert [type(result) for result in results] == [ValueError, ValueError]
