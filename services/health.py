"""Liveness checks and the status page's facts, as the web app exposes them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from services import outbox, scheduler
from services.types import UnitOfWorkFactory
from storage.repositories import ping


def check_database(uow_factory: UnitOfWorkFactory) -> None:
    """Run a trivial query; raises when the database cannot be reached."""
    uow = uow_factory()
    with uow:
        ping(uow.connection)


@dataclass(frozen=True, slots=True)
class Status:
    """What the status page shows: nothing about any gestor, client or message."""

    version: str
    channels: tuple[str, ...]
    outbox_pending: int
    outbox_oldest_seconds: float
    last_runs: dict[str, datetime | None]


def status(
    uow_factory: UnitOfWorkFactory, *, version: str, channels: Sequence[str], jobs: Sequence[str]
) -> Status:
    pending, oldest = outbox.depth(uow_factory)
    age = (datetime.now(UTC) - oldest).total_seconds() if oldest is not None else 0.0
    return Status(
        version=version,
        channels=tuple(channels),
        outbox_pending=pending,
        outbox_oldest_seconds=max(age, 0.0),
        last_runs={job: scheduler.last_run(uow_factory, job) for job in jobs},
    )
