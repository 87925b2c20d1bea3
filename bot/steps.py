"""Where `serve` runs an event's step (and a channel its own database calls for a message),
and the outbox sender its database rounds.

All are blocking calls made from the event loop. On PostgreSQL they go to threads (the
default executor for the steps, the sender's own database thread for its rounds), so that
the loop keeps answering webhooks and delivering while they wait on the server.

On SQLite every transaction of the process takes the one writer (storage/db.py's writer
gate) anyway, so threads add no concurrency to events; what they add is a hand-over of the
GIL and a wake of another thread at each step, each round and each reply handed to the
sender. There, a call runs on the loop itself when the writer is free at that moment: the
step, its transaction and the delivery of its replies then happen on one thread, as in the
bare python-telegram-bot echo. When another thread holds the writer (a job, a sweep, the
integration API), the call goes to a thread as on PostgreSQL, so the loop never waits for
someone else's transaction (at worst for one begun in the instant between the look and the
call).
A step that is slow by itself (an argon2 password check, a certificate's decryption) holds
the loop that long; on SQLite it holds the writer, so every other event, that long too.

Calls on the loop take turns with the rest of it: once those run in one turn of the loop have
taken TURN (2 ms), the next waits for a later turn, first come first served, and what else is
ready runs in between (the sender's deliveries and rounds, requests being read). Without
that, at saturation every ready step ran before each of the sender's turns, one delivery
took several turns, and the replies trailed the events by most of a second
(benchmarks/conversation.py, SQLite, closed loop, without and with turns back to back, three
pairs: to delivery p50 0.90–1.05 s → 8–10 ms; CPU per update 0.93, 0.83, 0.80 → 0.76, 0.89,
0.73 ms, within this VM's noise, though the sender, keeping up, commits smaller rounds). The
price is a step's wait for its turn: handle() p99 at half saturation 2.9 → 7.6 ms in one pair,
where to delivery p99 went 265 → 32 ms.
The sender's own rounds run on a `Steps` of their own (`with_executor`): they never wait
behind the steps.

An event's step given as a `Grouped` call shares its transaction with the other events given
in the same turn of the loop (services/conversation.py `handle_many`, at most GROUP of them;
past that, the next group runs beside it on another thread, or after it on the loop): one
claim, one BEGIN, one COMMIT and one connection from the pool serve them all. On SQLite the
WAL pages they share are written once; on PostgreSQL a group of k events makes 3 round trips
where k events alone made 3k, and the thread waits on the server k times fewer.

A call sent to a thread may leave work for the loop to do once it has returned there
(`after_return`): the outbox sender's hand-over and wake, which would otherwise wake the loop
from the step's thread a moment before the step's own return wakes it again.

Measured with benchmarks/conversation.py (SQLite, closed loop, old and new code back to back,
two pairs): the process's CPU per update 1.07–1.20 ms with the steps and rounds on threads,
0.70 ms with both on the loop; 9 context switches per update → 0.1; handle() p99 17–19 →
1.2–1.3 ms.
"""

from __future__ import annotations

import asyncio
import functools
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Engine

from storage.db import writer_free

T = TypeVar("T")
A = TypeVar("A")

# Seconds of calls on the loop in one turn of it, after which the next call waits for a later
# turn (see the module docstring).
TURN = 0.002
# At most this many events share a transaction (about 3 ms of ordinary steps on the loop).
# benchmarks/conversation.py, SQLite, closed loop (6 steps in flight), two pairs: the
# process's CPU per update 0.459-0.498 ms with 4, 0.433-0.437 ms with 8.
GROUP = 8


@dataclass(frozen=True, slots=True)
class Grouped(Generic[A, T]):
    """A call on one item (`one`) that can also take several at once (`many`, their results
    in order), for `Steps.run` to group the items given in one turn of the loop."""

    one: Callable[[A], T]
    many: Callable[[Sequence[A]], list[T]]

    def __call__(self, item: A) -> T:
        return self.one(item)


class Steps:
    """Runs blocking calls for the loop: on it when `inline()` says so, else on `executor`
    (None: the loop's default executor, as `asyncio.to_thread`)."""

    def __init__(
        self, inline: Callable[[], bool] | None = None, executor: Executor | None = None
    ) -> None:
        self.inline = inline
        self.executor = executor
        self._turns = _Turns()
        # per Grouped call: the items given to it in this turn of the loop, not yet taken
        self._groups: dict[
            tuple[asyncio.AbstractEventLoop, Grouped[Any, Any]],
            list[tuple[Any, asyncio.Future[Any]]],
        ] = {}
        self._group_tasks: set[asyncio.Task[None]] = set()

    @classmethod
    def for_engine(cls, engine: Engine) -> Steps:
        """On the loop when the engine's writer is free (SQLite); on threads otherwise."""
        if writer_free(engine) is None:
            return cls()
        return cls(functools.partial(_free, engine))

    def with_executor(self, executor: Executor | None) -> Steps:
        """The same placement on `executor`, taking turns on the loop of its own."""
        return Steps(self.inline, executor)

    async def run(self, call: Callable[..., T], /, *args: object) -> T:
        if isinstance(call, Grouped):
            return await self._grouped(call, *args)
        inline = self.inline
        # (after a wait for its turn, the writer may have been taken meanwhile)
        if inline is not None and inline() and (await self._turns.take() or inline()):
            return self._turns.spend(call, *args)
        loop = asyncio.get_running_loop()
        returning = _Returning(loop)
        on_thread = functools.partial(returning.run, call, *args)
        try:
            if self.executor is None:
                return await asyncio.to_thread(on_thread)
            return await loop.run_in_executor(self.executor, on_thread)
        finally:
            # queued as the thread would have queued them (the loop runs each, and reports
            # one that fails), but from the loop's own thread: no wake
            for callback in returning.close():
                loop.call_soon(callback)

    async def _grouped(self, call: Grouped[Any, T], item: object) -> T:
        """`call.many` on this item and the others given to `call` in this turn of the loop:
        the first one's task takes them once the turn is over. A group takes at most GROUP
        items; the next item starts another, which runs beside it (on threads) or after it
        (on the loop)."""
        loop = asyncio.get_running_loop()
        waiting = self._groups.get((loop, call))
        if waiting is None or len(waiting) >= GROUP:
            waiting = self._groups[loop, call] = []
            task = loop.create_task(self._run_group(loop, call, waiting))  # (in the next turn)
            self._group_tasks.add(task)  # (a task nothing refers to may be collected)
            task.add_done_callback(self._group_tasks.discard)
        result: asyncio.Future[T] = loop.create_future()
        waiting.append((item, result))
        return await result

    async def _run_group(
        self,
        loop: asyncio.AbstractEventLoop,
        call: Grouped[Any, Any],
        waiting: list[tuple[Any, asyncio.Future[Any]]],
    ) -> None:
        if self._groups.get((loop, call)) is waiting:  # (no more items join it)
            del self._groups[loop, call]
        items = [item for item, _ in waiting]
        try:
            if len(items) == 1:
                results = [await self.run(call.one, items[0])]
            else:
                results = await self.run(call.many, items)
            answered = list(zip(waiting, results, strict=True))
        except asyncio.CancelledError:
            for _, result in waiting:
                result.cancel()
            raise
        except Exception as error:  # (no caller is left waiting, whatever went wrong)
            for _, result in waiting:
                if not result.done():
                    result.set_exception(error)
            return
        for (_, result), value in answered:
            if not result.done():  # (its caller may have been cancelled)
                result.set_result(value)


class _Turns:
    """Turns of the loop for the calls run on it: up to TURN seconds of them in one turn, then
    the next one waits for a later turn, first come first served."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None  # whose turns these are
        self.taken = False  # a call ran on the loop in this turn (or was handed the next one)
        self.spent = 0.0  # seconds those calls took
        self.waiting: deque[asyncio.Future[None]] = deque()

    async def take(self) -> bool:
        """Until the caller may run on the loop: True at once, False after waiting."""
        loop = asyncio.get_running_loop()
        if loop is not self.loop:  # (what an earlier loop left undone went with it)
            self.loop, self.taken, self.spent, self.waiting = loop, False, 0.0, deque()
        if not self.taken:
            self.taken = True
            loop.call_soon(self._next, loop)  # runs once the loop has taken its turn
            return True
        if self.spent < TURN and not self.waiting:
            return True
        turn = loop.create_future()
        self.waiting.append(turn)
        # (cancelled while waiting: `_next` passes it over; cancelled once handed the turn:
        # the `_next` scheduled with it frees the turn all the same)
        await turn
        return False

    def spend(self, call: Callable[..., T], *args: object) -> T:
        started = time.perf_counter()
        try:
            return call(*args)
        finally:
            self.spent += time.perf_counter() - started

    def _next(self, loop: asyncio.AbstractEventLoop) -> None:
        """A new turn: hand it to the first caller still waiting."""
        if loop is not self.loop:
            return
        self.taken, self.spent = False, 0.0
        while self.waiting:
            turn = self.waiting.popleft()
            if not turn.done():
                self.taken = True
                turn.set_result(None)
                loop.call_soon(self._next, loop)
                return


# The call a `Steps` sent to this thread, while it runs (see `after_return`).
_current = threading.local()


class _Returning:
    """What a call run on a thread leaves for its loop to do once it has returned there."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.callbacks: list[Callable[[], None]] = []
        self.open = True
        self.lock = threading.Lock()

    def run(self, call: Callable[..., T], *args: object) -> T:
        _current.returning = self
        try:
            return call(*args)
        finally:
            _current.returning = None

    def add(self, callback: Callable[[], None]) -> bool:
        with self.lock:
            if self.open:
                self.callbacks.append(callback)
            return self.open

    def close(self) -> list[Callable[[], None]]:
        with self.lock:
            self.open = False
            return self.callbacks


def after_return(loop: asyncio.AbstractEventLoop, callback: Callable[[], None]) -> bool:
    """From inside a call `Steps.run` sent to a thread from `loop`: run `callback` on `loop` as
    soon as the call has returned there, without a wake of its own (the return wakes the loop
    anyway). False anywhere else, or once the caller stopped waiting (it was cancelled): then
    the caller must wake the loop itself."""
    returning: _Returning | None = getattr(_current, "returning", None)
    return returning is not None and returning.loop is loop and returning.add(callback)


def _free(engine: Engine) -> bool:
    return bool(writer_free(engine))
