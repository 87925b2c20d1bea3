"""Worker processes for CPU-bound work: ingest's half (parse, checks, signature, compression)
and printing DANFEs (the month's job and the background jobs).

One `ProcessPoolExecutor` per worker count for the whole process, started on first use and
reused by every later import or upload (starting workers costs more than a thousand notes),
shut down when the interpreter exits. Workers come from a fork server (spawn where there is
none), never from forking this process: the web app has threads and open database connections.
A worker exits as soon as this process is gone, however it went (a killed parent would otherwise
leave idle workers behind for good). A broken pool (a worker killed by the OS) is replaced on
the next call.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import lru_cache, partial
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# Below this many files a batch is read here: workers pay off only once they are warm and busy.
MIN_PARALLEL_FILES = 64
# Modules the fork server imports once, so each new worker starts with them loaded: ingest's
# half, and the DANFE task with its printer (brazilfiscalreport, fpdf2: ≈ 0.65 s of CPU a
# worker otherwise pays on its first DANFE).
_PRELOAD = ["services.fiscal_ingest", "services.fiscal_exports.danfe"]

_lock = threading.Lock()
_executors: dict[int, ProcessPoolExecutor] = {}


class PreparePool:
    """Where prepare runs: in `workers` processes when there are several, else in this one.

    `min_files` is the smallest batch worth sending to the workers (a bulk import that starts
    the pool pays for it once; the web app's pool stays warm).
    """

    def __init__(
        self,
        workers: int | None = None,
        *,
        min_files: int = MIN_PARALLEL_FILES,
    ) -> None:
        self.workers = max(1, workers if workers is not None else (os.cpu_count() or 1))
        self.min_files = min_files

    @property
    def parallel(self) -> bool:
        return self.workers > 1

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """`fn` over `items` in the workers, results in order; at most 2 × workers in flight,
        so a lazy stream of files is read only as fast as it is prepared."""
        window: deque[Future[R]] = deque()
        for item in items:
            window.append(self.submit(fn, item))
            if len(window) >= 2 * self.workers:
                yield self._result(window.popleft())
        while window:
            yield self._result(window.popleft())

    def submit(self, fn: Callable[..., R], /, *args: Any) -> Future[R]:
        try:
            return self._executor().submit(fn, *args)
        except BrokenProcessPool:
            self._forget()
            return self._executor().submit(fn, *args)

    async def run(self, fn: Callable[..., R], /, *args: Any, **kwargs: Any) -> R:
        """`fn(*args, **kwargs)` off the event loop: in a worker, or a thread with one core."""
        if not self.parallel:
            return await asyncio.to_thread(fn, *args, **kwargs)
        try:
            return await asyncio.wrap_future(self.submit(partial(fn, *args, **kwargs)))
        except BrokenProcessPool:
            self._forget()
            raise

    def _result(self, future: Future[R]) -> R:
        try:
            return future.result()
        except BrokenProcessPool:
            self._forget()
            raise

    def _executor(self) -> ProcessPoolExecutor:
        with _lock:
            executor = _executors.get(self.workers)
            if executor is None:
                executor = ProcessPoolExecutor(
                    self.workers, mp_context=_context(), initializer=_exit_with_parent
                )
                _executors[self.workers] = executor
            return executor

    def _forget(self) -> None:
        """Drop a broken executor: the next call starts a new one."""
        with _lock:
            _executors.pop(self.workers, None)


def _exit_with_parent() -> None:
    """In a worker: end this process when the one that started the pool ends."""
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_wait_then_exit, args=(parent,), daemon=True).start()


def _wait_then_exit(parent: BaseProcess) -> None:
    parent.join()
    os._exit(0)


@lru_cache(maxsize=1)
def _context() -> BaseContext:
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(_PRELOAD)
        return context
    return multiprocessing.get_context("spawn")
