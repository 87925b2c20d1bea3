"""The scheduler inside `revendabot serve`: APScheduler fires the reminder sweeps daily.

Every instance runs one; the database lease (services/scheduler.py) lets only one of them run
each firing. A sweep whose time passed while no instance was up runs at start-up (once the
lease shows nobody ran it since). Sweeps run in a thread (they are database work) and wake
the notice loop and the sender when done.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time as time_module
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, time, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler  # type: ignore[import-untyped]
from apscheduler.triggers.cron import CronTrigger  # type: ignore[import-untyped]
from apscheduler.triggers.interval import IntervalTrigger  # type: ignore[import-untyped]

from bot.settings import Settings
from domain.pendencias import PendenciaOptions
from services import scheduler as scheduler_service
from services.files import FileStore, content_prefix
from services.fiscal_exports import DANFE_CACHE
from services.pacote import PacoteOptions
from services.reminders import SAO_PAULO, ReminderOptions, SweepResult
from services.retention import RetentionPolicy
from services.sefaz_capture import CaptureReport
from services.types import UnitOfWorkFactory

log = logging.getLogger(__name__)

CAPTURE_JOB = "captura"

MISFIRE_GRACE = 3600  # seconds: a firing the loop missed (busy, suspended) still runs


def holder_name() -> str:
    """This process, as the lease table shows it."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def parse_time(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


class ReminderScheduler:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        times: Mapping[str, time],
        options: ReminderOptions,
        *,
        holder: str | None = None,
        on_done: Callable[[], None] | None = None,
        retention: RetentionPolicy | None = None,
        on_job: Callable[[str, str, float | None], None] | None = None,
        capture: Callable[..., CaptureReport] | None = None,
        capture_minutes: int = 60,
        pacote: PacoteOptions | None = None,
    ) -> None:
        self.on_job = on_job
        # The SEFAZ capture (bot/sefaz.py): every `capture_minutes`, not daily.
        self.capture = capture
        self.capture_minutes = capture_minutes
        self.pacote = pacote
        self.uow_factory = uow_factory
        self.times = dict(times)
        self.options = options
        self.retention = retention
        self.holder = holder or holder_name()
        self.on_done = on_done
        self._scheduler: AsyncIOScheduler | None = None

    def start(self, now: datetime | None = None) -> None:
        """Schedule each job daily at its São Paulo time; catch up on today's missed ones."""
        now = now or datetime.now(UTC)
        # Every job, the catch-ups and the capture's first run at start-up included: APScheduler
        # drops a firing it reaches more than a second late by default, as a loop busy at
        # start-up makes it, and today's sweep would then wait for tomorrow.
        scheduler = AsyncIOScheduler(
            timezone=SAO_PAULO,
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": MISFIRE_GRACE,
            },
        )
        for job, at in self.times.items():
            scheduler.add_job(
                self.fire,
                CronTrigger(hour=at.hour, minute=at.minute, timezone=SAO_PAULO),
                args=[job],
                id=job,
            )
            if self.missed_today(job, now):
                scheduler.add_job(self.fire, args=[job], id=f"{job}:catch-up")
        if self.capture is not None:
            scheduler.add_job(
                self.fire_capture,
                IntervalTrigger(minutes=self.capture_minutes),
                id=CAPTURE_JOB,
                next_run_time=now,
            )
        scheduler.start()
        self._scheduler = scheduler

    def missed_today(self, job: str, now: datetime) -> bool:
        """True when today's time for `job` has passed and no instance has run it since."""
        local = now.astimezone(SAO_PAULO)
        due = datetime.combine(local.date(), self.times[job], tzinfo=SAO_PAULO)
        if local < due:
            return False
        last = scheduler_service.last_run(self.uow_factory, job)
        return last is None or last < due

    async def fire(self, job: str) -> SweepResult | None:
        """Run `job` now if this instance takes its lease."""
        began = time_module.perf_counter()
        try:
            result = await asyncio.to_thread(
                scheduler_service.run_job,
                self.uow_factory,
                job,
                now=datetime.now(UTC),
                options=self.options,
                holder=self.holder,
                retention=self.retention,
                pacote=self.pacote,
            )
        except Exception:
            log.exception("scheduled job %s failed; it runs again at its next time", job)
            self._observe(job, "failed", None)
            return None
        if result is None:
            log.info("job %s skipped: another instance holds it", job)
            self._observe(job, "skipped", None)
            return None
        self._observe(job, "ran", time_module.perf_counter() - began)
        log.info(
            "job %s: %d lembrete(s), %d aviso(s), %d e-mail(s), %d registro(s) apagado(s)",
            job,
            result.reminders,
            result.notices,
            result.emails,
            result.removed,
        )
        if self.on_done is not None and (result.notices or result.emails):
            self.on_done()
        return result

    async def fire_capture(self) -> CaptureReport | None:
        """Run the SEFAZ capture if this instance takes the `captura` lease (each CNPJ has its
        own lease too, so an overlap would still query a CNPJ once)."""
        if self.capture is None:
            return None
        now = datetime.now(UTC)
        ttl = timedelta(minutes=max(1, self.capture_minutes // 2))
        began = time_module.perf_counter()
        try:
            taken = await asyncio.to_thread(
                scheduler_service.take_lease, self.uow_factory, CAPTURE_JOB, self.holder,
                now=now, ttl=ttl,
            )  # fmt: skip
            if not taken:
                self._observe(CAPTURE_JOB, "skipped", None)
                return None
            result = await asyncio.to_thread(self.capture, now=now, holder=self.holder)
        except Exception:
            log.exception("SEFAZ capture failed; it runs again at its next time")
            self._observe(CAPTURE_JOB, "failed", None)
            return None
        self._observe(CAPTURE_JOB, "ran", time_module.perf_counter() - began)
        # A capture tells people something only by its notices (new notes); one that published
        # none must not wake the sender, or the next events' replies wait for its claim round.
        if self.on_done is not None and result.avisos:
            self.on_done()
        return result

    def _observe(self, job: str, state: str, seconds: float | None) -> None:
        if self.on_job is not None:
            self.on_job(job, state, seconds)

    def jobs(self) -> list[str]:
        return [job.id for job in self._scheduler.get_jobs()] if self._scheduler else []

    def shutdown(self) -> None:
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        self._scheduler = None


def from_settings(
    settings: Settings,
    uow_factory: UnitOfWorkFactory,
    *,
    on_done: Callable[[], None],
    on_job: Callable[[str, str, float | None], None] | None = None,
    files: FileStore | None = None,
    capture: Callable[..., CaptureReport] | None = None,
) -> ReminderScheduler:
    notice_time = parse_time(settings.notice_sweep_time)
    return ReminderScheduler(
        uow_factory,
        {
            "certificados": parse_time(settings.cert_sweep_time),
            "faturas": notice_time,
            "links": notice_time,
            "limpeza": parse_time(settings.retention_sweep_time),
            "pendencias": parse_time(settings.pendencias_time),
            # daily; it builds only on PACOTE_DIA
            "pacote": parse_time(settings.pacote_time),
        },
        options_from(settings),
        on_done=on_done,
        retention=retention_from(settings, files),
        on_job=on_job,
        capture=capture,
        capture_minutes=settings.sefaz_capture_minutes,
        pacote=PacoteOptions(dia=settings.pacote_dia),
    )


def retention_from(settings: Settings, files: FileStore | None = None) -> RetentionPolicy:
    return RetentionPolicy(
        events_days=settings.event_retention_days,
        outbox_days=settings.outbox_retention_days,
        whatsapp_raw_days=settings.whatsapp_raw_retention_days,
        files=files,
        files_days=settings.file_ttl_days,
        cache_days={content_prefix(DANFE_CACHE): settings.danfe_cache_days},
    )


def options_from(settings: Settings) -> ReminderOptions:
    return ReminderOptions(
        digest_threshold=settings.reminder_digest_threshold,
        email=bool(settings.smtp_host),
        pendencias=pendencia_options(settings),
    )


def pendencia_options(settings: Settings) -> PendenciaOptions:
    return PendenciaOptions(
        teste_alerta_dias=settings.teste_alerta_dias,
        sem_emissao_dia=settings.pendencias_sem_emissao_dia,
    )
