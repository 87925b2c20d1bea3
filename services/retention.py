"""What is not kept forever: old processed-event ids, delivered outbox rows, finished jobs,
unreadable updates, generated files (ZIPs, reports) in the file store.

A scheduled job (the same lease as the reminder sweeps) deletes in small batches, one short
transaction each, oldest first, so the conversation's hot path never waits behind a long delete:
a duplicate update arriving after `events_days` is long past any redelivery. What the law or
the product keeps (notes, audit, reminder_sent, faturas) is never touched here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from services.files import FileStore
from services.reminders import SweepResult
from services.types import UnitOfWork, UnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    events_days: int = 30
    outbox_days: int = 30
    whatsapp_raw_days: int = 7
    batch: int = 2000
    # The generated files' store and how long a file lives (FILE_TTL_DAYS); a button pressed
    # later runs its job again, which writes a new file under a new key.
    files: FileStore | None = None
    files_days: int = 7
    # Cached files that live longer than the rest, by key prefix: the DANFEs printed ahead
    # must still be there when the month is asked for (DANFE_CACHE_DAYS).
    cache_days: Mapping[str, int] = field(default_factory=dict)


def sweep_retention(
    uow_factory: UnitOfWorkFactory, *, now: datetime, policy: RetentionPolicy | None = None
) -> SweepResult:
    """Delete what is past its retention; returns how many rows went (in `removed`)."""
    policy = policy or RetentionPolicy()
    removed = 0
    removed += _in_batches(
        uow_factory,
        policy.batch,
        lambda uow, n: uow.conversations.forget_events_before(
            now - timedelta(days=policy.events_days), n
        ),
    )
    removed += _in_batches(
        uow_factory,
        policy.batch,
        lambda uow, n: uow.outbox.forget_done_before(now - timedelta(days=policy.outbox_days), n),
    )
    # a finished job is kept as long as the messages it sent (its row says how it ended)
    removed += _in_batches(
        uow_factory,
        policy.batch,
        lambda uow, n: uow.jobs.forget_done_before(now - timedelta(days=policy.outbox_days), n),
    )
    removed += _in_batches(
        uow_factory,
        policy.batch,
        lambda uow, n: uow.whatsapp.forget_raw_before(
            now - timedelta(days=policy.whatsapp_raw_days), n
        ),
    )
    if policy.files is not None:
        store = policy.files
        cached = tuple(policy.cache_days)
        removed += _files_in_batches(
            lambda n: store.delete_older_than(
                now - timedelta(days=policy.files_days), n, keep=cached
            ),
            policy.batch,
        )
        for prefix, days in policy.cache_days.items():
            cutoff = now - timedelta(days=days)
            removed += _files_in_batches(
                partial(store.delete_older_than, cutoff, prefix=prefix), policy.batch
            )
    return SweepResult("limpeza", 0, 0, 0, 0, removed=removed)


def _files_in_batches(delete: Callable[[int], int], batch: int) -> int:
    total = 0
    while gone := delete(batch):
        total += gone
        if gone < batch:
            break
    return total


def _in_batches(
    uow_factory: UnitOfWorkFactory, batch: int, delete: Callable[[UnitOfWork, int], int]
) -> int:
    total = 0
    while True:
        uow = uow_factory()
        with uow:
            gone = delete(uow, batch)
            uow.commit()
        total += gone
        if gone < batch:
            return total
