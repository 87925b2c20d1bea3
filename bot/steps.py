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

Measured with benchmarks/conversation.py (SQLite, closed loop, old and new code back to back,
two pairs): the process's CPU per update 1.07–1.20 ms with the steps and rounds on threads,
0.70 ms with both on the loop; 9 context switches per update → 0.1; handle() p99 17–19 →
1.2–1.3 ms.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import Executor
from typing import TypeVar

from sqlalchemy import Engine

from storage.db import writer_free

T = TypeVar("T")


class Steps:
    """Runs blocking calls for the loop: on it when `inline()` says so, else on `executor`
    (None: the loop's default executor, as `asyncio.to_thread`)."""

    def __init__(
        self, inline: Callable[[], bool] | None = None, executor: Executor | None = None
    ) -> None:
        self.inline = inline
        self.executor = executor

    @classmethod
    def for_engine(cls, engine: Engine, executor: Executor | None = None) -> Steps:
        """On the loop when the engine's writer is free (SQLite); on threads otherwise."""
        if writer_free(engine) is None:
            return cls(None, executor)
        return cls(functools.partial(_free, engine), executor)

    def with_executor(self, executor: Executor | None) -> Steps:
        return Steps(self.inline, executor)

    async def run(self, call: Callable[..., T], /, *args: object) -> T:
        if self.inline is not None and self.inline():
            return call(*args)
        if self.executor is None:
            return await asyncio.to_thread(call, *args)
        return await asyncio.get_running_loop().run_in_executor(
            self.executor, functools.partial(call, *args)
        )


def _free(engine: Engine) -> bool:
    return bool(writer_free(engine))
