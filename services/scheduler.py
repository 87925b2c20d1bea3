"""Which instance runs a scheduled job: a lease row per job, taken with one atomic UPDATE.

`UPDATE scheduler_lease SET holder = me … WHERE job = ? AND (expires_at <= now OR holder = me)`
succeeds for one instance only; the lease is not released when the job ends, so an instance
whose clock fires a little later finds it held and skips. The sweeps are idempotent anyway
(reminder_sent), so the lease saves work and noise; it is not the only guard.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from services.errors import ServiceError
from services.pacote import PacoteOptions, sweep_pacote
from services.pendencias import sweep_digest
from services.reminders import JOBS as REMINDER_JOBS
from services.reminders import ReminderOptions, SweepResult
from services.retention import RetentionPolicy, sweep_retention
from services.types import UnitOfWorkFactory

RETENTION_JOB = "limpeza"
PENDENCIAS_JOB = "pendencias"
PACOTE_JOB = "pacote"
JOBS = (*REMINDER_JOBS, RETENTION_JOB, PENDENCIAS_JOB, PACOTE_JOB)

LEASE_TTL = timedelta(minutes=30)


class UnknownJob(ServiceError):
    def __init__(self, job: str) -> None:
        super().__init__(f"Tarefa desconhecida: {job}. Use uma de: {', '.join(sorted(JOBS))}.")


def take_lease(
    uow_factory: UnitOfWorkFactory,
    job: str,
    holder: str,
    *,
    now: datetime,
    ttl: timedelta = LEASE_TTL,
) -> bool:
    """True when this holder may fire `job` now (and holds it until now + ttl)."""
    uow = uow_factory()
    with uow:
        taken = uow.scheduler_leases.take(job, holder, now, ttl)
        uow.commit()
        return taken


def run_job(
    uow_factory: UnitOfWorkFactory,
    job: str,
    *,
    now: datetime,
    options: ReminderOptions,
    holder: str | None = None,
    retention: RetentionPolicy | None = None,
    pacote: PacoteOptions | None = None,
) -> SweepResult | None:
    """Run `job` as of `now`; with a holder, only if it takes the lease (else None)."""
    if job not in JOBS:
        raise UnknownJob(job)
    if holder is not None and not take_lease(uow_factory, job, holder, now=now):
        return None
    if job == RETENTION_JOB:
        return sweep_retention(uow_factory, now=now, policy=retention)
    if job == PENDENCIAS_JOB:
        return sweep_digest(uow_factory, now=now, options=options)
    if job == PACOTE_JOB:  # queues the packages; the job workers build them
        dia = (pacote or PacoteOptions()).dia
        swept = sweep_pacote(uow_factory, now=now, dia=dia)
        return SweepResult(PACOTE_JOB, swept.queued, 0, 0, 0)
    return REMINDER_JOBS[job](uow_factory, now=now, options=options)


def last_run(uow_factory: UnitOfWorkFactory, job: str) -> datetime | None:
    """When any instance last fired `job` (None: never)."""
    uow = uow_factory()
    with uow:
        lease = uow.scheduler_leases.get(job)
        return lease.last_run_at if lease is not None else None
