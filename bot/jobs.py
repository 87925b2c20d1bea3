"""The job workers of `serve`: threads that take durable jobs (services/jobs.py) from the
database — the ones this instance's chats asked for, and any another instance left behind.

Each worker runs one job at a time; between jobs it waits until this process queues one
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
STOP_GRACE_SECONDS = 30.0


def default_workers() -> int:
    """One worker per CPU, at most MAX_DEFAULT_WORKERS."""
    return max(1, min(os.cpu_count() or 1, MAX_DEFAULT_WORKERS))


class JobWorkers:
    def __init__(
        self,
        runner: JobRunner,
        count: int,
        *,
        poll: float = POLL_SECONDS,
        on_finished: Callable[[str, str], None] | None = None,
    ) -> None:
        self.runner, self.count, self.poll = runner, count, poll
        # told each job's kind and how it ended (the metrics)
        self.on_finished = on_finished
        self._stopping = threading.Event()
        self._work = threading.Condition()
        self._pending_wakes = 0
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for number in range(1, self.count + 1):
            thread = threading.Thread(target=self._loop, name=f"job-{number}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def wake(self) -> None:
        """A job was queued here: one waiting worker takes it now (safe from any thread)."""
        with self._work:
            self._pending_wakes += 1
            self._work.notify()

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """No new job; running ones give themselves back at their next tick."""
        self._stopping.set()
        with self._work:
            self._work.notify_all()
        for thread in self._threads:
            thread.join(grace)
        self._threads.clear()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                finished = self.runner.run_next(stopping=self._stopping)
            except Exception:  # the database is away: try again after the poll
                log.exception("job worker could not take a job")
                finished = None
            if finished is None:
                self._wait()
            elif self.on_finished is not None:
                self.on_finished(finished.kind, finished.outcome)

    def _wait(self) -> None:
        with self._work:
            if self._pending_wakes == 0 and not self._stopping.is_set():
                self._work.wait(self.poll)
            self._pending_wakes = max(0, self._pending_wakes - 1)
