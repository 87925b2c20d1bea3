"""The job workers of `serve`: threads that take durable jobs (services/jobs.py) from the
database — the ones this instance's chats asked for, and any another instance left behind.

Each worker runs one job at a time (QUICK_JOB_WORKERS more take only the quick kinds, a SEFAZ
request a person waits for); between jobs it waits until this process queues one
(`wake`) or `POLL_SECONDS` pass (jobs queued by other instances, leases run out). On stop the
workers take no new job, and a job running gives itself back at its next tick, for another
worker (here after a restart, or on another instance) to finish; the DANFEs' CPU-heavy part
runs in worker processes (ExportOptions.cpu), so the threads mostly wait on I/O.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

from services.jobs import JobRunner

log = logging.getLogger(__name__)

POLL_SECONDS = 2.0
MAX_DEFAULT_WORKERS = 4
# Workers for the quick kinds alone: each mostly waits on a SEFAZ answer (up to its timeout),
# so two gestores asking at once are not served one after the other.
DEFAULT_QUICK_WORKERS = 2
STOP_GRACE_SECONDS = 30.0


def default_workers() -> int:
    """One worker per CPU, at most MAX_DEFAULT_WORKERS."""
    return max(1, min(os.cpu_count() or 1, MAX_DEFAULT_WORKERS))


class _Queue:
    """Where idle workers of one kind wait for a wake (a job queued here) or the poll."""

    def __init__(self) -> None:
        self.work = threading.Condition()
        self.pending = 0

    def wake(self) -> None:
        with self.work:
            self.pending += 1
            self.work.notify()

    def release_all(self) -> None:
        with self.work:
            self.work.notify_all()

    def wait(self, poll: float, stopping: threading.Event) -> None:
        with self.work:
            if self.pending == 0 and not stopping.is_set():
                self.work.wait(poll)
            self.pending = max(0, self.pending - 1)


class JobWorkers:
    """`count` workers for any job, and `quick` more for the quick kinds alone (a SEFAZ
    request a person waits for in the chat), so a consulta is not queued behind a month's
    DANFEs nor, for long, behind another gestor's consulta."""

    def __init__(
        self,
        runner: JobRunner,
        count: int,
        *,
        quick: int = DEFAULT_QUICK_WORKERS,
        poll: float = POLL_SECONDS,
        on_finished: Callable[[str, str], None] | None = None,
    ) -> None:
        self.runner, self.count, self.poll = runner, count, poll
        self.quick = quick
        # told each job's kind and how it ended (the metrics)
        self.on_finished = on_finished
        self._stopping = threading.Event()
        self._any, self._quick = _Queue(), _Queue()
        self._quick_kinds = runner.quick_kinds
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        loops: list[tuple[str, list[str] | None, _Queue]] = [
            (f"job-{n}", None, self._any) for n in range(1, self.count + 1)
        ]
        if self._quick_kinds:
            quick = self._quick_kinds
            loops += [(f"job-quick-{n}", quick, self._quick) for n in range(1, self.quick + 1)]
        for name, kinds, queue in loops:
            thread = threading.Thread(
                target=self._loop, args=(kinds, queue), name=name, daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def wake(self) -> None:
        """A job was queued here: one waiting worker takes it now (safe from any thread)."""
        self._any.wake()
        if self._quick_kinds:
            self._quick.wake()

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """No new job; running ones give themselves back at their next tick."""
        self._stopping.set()
        self._any.release_all()
        self._quick.release_all()
        for thread in self._threads:
            thread.join(grace)
        self._threads.clear()

    def _loop(self, kinds: list[str] | None, queue: _Queue) -> None:
        while not self._stopping.is_set():
            try:
                finished = self.runner.run_next(stopping=self._stopping, kinds=kinds)
            except Exception:  # the database is away: try again after the poll
                log.exception("job worker could not take a job")
                finished = None
            if finished is None:
                queue.wait(self.poll, self._stopping)
            elif self.on_finished is not None:
                self.on_finished(finished.kind, finished.outcome)
