"""Long chat work (a month's ZIP, a report, the DANFEs) on a small thread pool, so an event's
transaction and answer never wait for it. Used by `serve`; tests and the scripted console run
jobs inline, which keeps their transcripts deterministic."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

log = logging.getLogger(__name__)

WORKERS = 2  # building ZIPs is I/O and zlib-light; two keep one long DANFE job from blocking


class BackgroundJobs:
    """`run_job` for the conversation engine: submit, and on close finish what is running."""

    def __init__(self, workers: int = WORKERS) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="job")

    def __call__(self, job: Callable[[], None]) -> None:
        self._pool.submit(job)

    def close(self) -> None:
        """Wait for the jobs running now; drop those not started (their step already answered
        "Gerando…", and asking again after a restart is safe)."""
        self._pool.shutdown(wait=True, cancel_futures=True)
