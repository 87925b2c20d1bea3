"""Composition root: the only place concrete classes are built. Tests build it with overrides."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from importlib.metadata import PackageNotFoundError, version

import httpx
from fastapi import APIRouter, FastAPI
from pydantic import SecretStr
from sqlalchemy import Engine
from telegram.request import BaseRequest

from bot import scheduler as reminder_scheduler
from bot.channels import console, email_send, telegram, whatsapp, whatsapp_book
from bot.channels.telegram import TelegramChannel
from bot.channels.whatsapp import WhatsAppChannel
from bot.crypto import download_links, link_signer, secret_box
from bot.gateways.file_store import file_store
from bot.gateways.payments import billing_from_settings
from bot.gateways.sefaz import gateway_from_settings
from bot.jobs import JobWorkers, default_workers
from bot.notices import NoticeLoop
from bot.observability import Metrics
from bot.pacing import pacer_from_settings
from bot.scheduler import ReminderScheduler, pendencia_options
from bot.sefaz import capture_runner
from bot.sender import OutboxSender
from bot.settings import Settings
from bot.signup import link_options, signup_router_from
from bot.steps import Grouped, Steps
from bot.wakeup import Handoff, Wakeup
from handlers.core import DialogueConfig
from handlers.router import Dialogue
from services import (
    fiscal_exports,
    health,
    pacote,
    sefaz_consulta,
    sefaz_download,
    sefaz_manifest,
)
from services import scheduler as scheduler_jobs
from services.capabilities import Capabilities
from services.conversation import ConversationEngine
from services.files import FileStore
from services.fiscal_exports import ExportOptions
from services.jobs import JobRunner
from services.prepare_pool import PreparePool
from services.types import UnitOfWorkFactory
from storage.db import dispose_engine, make_engine, make_session_factory
from storage.migrations import upgrade
from web.api import api_router
from web.app import create_app
from web.backpressure import Admission
from web.downloads import downloads_router
from web.observability import metrics_router, status_router
from web.payments import payments_router
from web.software_access import software_access_router
from web.whatsapp import whatsapp_router

log = logging.getLogger(__name__)

try:
    VERSION = version("revendabot")
except PackageNotFoundError:  # run from a source tree without the package installed
    VERSION = "dev"

# What each channel can do, as the channels declare it (Telegram's upload limit also depends on
# the deployment: see `channel_capabilities`).
CHANNEL_CAPABILITIES: dict[str, Capabilities] = {
    telegram.CHANNEL: telegram.CAPABILITIES,
    whatsapp_book.CHANNEL: whatsapp.CAPABILITIES,
    console.CHANNEL: console.CAPABILITIES,
}


def channel_capabilities(settings: Settings) -> dict[str, Capabilities]:
    """Each channel's capabilities in this deployment (a local Bot API server takes 2000 MB)."""
    return {
        **CHANNEL_CAPABILITIES,
        telegram.CHANNEL: telegram.capabilities_for(settings.telegram_base_url),
    }


@dataclass
class App:
    settings: Settings
    db: Engine
    uow_factory: UnitOfWorkFactory
    conversation: ConversationEngine
    # Generated files (jobs write, channels stream, the retention sweep expires).
    files: FileStore
    # Worker processes for reading XMLs (API uploads, import-xml), started on first use.
    prepare_pool: PreparePool = field(default_factory=PreparePool)
    # Woken (from any thread) when messages were enqueued: the outbox sender.
    wakeup: Wakeup = field(default_factory=Wakeup)
    # Runs the durable jobs (ZIPs, reports, DANFEs): inline after each step, or by `serve`'s
    # workers when `background_jobs`.
    jobs: JobRunner | None = None
    # Woken when this process queued a job (the workers of `serve`).
    job_wakeup: Wakeup = field(default_factory=Wakeup)
    background_jobs: bool = False
    # Woken when a notice was published: the notice loop. Not at every chat event (they
    # rarely publish one): each wake is a look at the notices table.
    notice_wakeup: Wakeup = field(default_factory=Wakeup)
    # This process's outbox sender (attached by `serve`): an event's replies are claimed for
    # it in the event's transaction and handed over.
    handoff: Handoff = field(default_factory=Handoff)

    @property
    def invite_ttl(self) -> timedelta:
        return timedelta(hours=self.settings.invite_ttl_hours)

    def wake(self) -> None:
        """Messages were enqueued or notices published (outside a chat event)."""
        self.wakeup.wake()
        self.notice_wakeup.wake()

    def migrate(self) -> None:
        upgrade(self.db)

    def close(self) -> None:
        dispose_engine(self.db)

    def web_routers(self) -> list[APIRouter]:
        """The feature routers of the web app, built with their dependencies (one line each)."""
        routers: list[APIRouter] = [
            api_router(self.uow_factory, self.prepare_pool),
            software_access_router(self.uow_factory, link_signer(self.settings)),
            payments_router(self.uow_factory, _secret(self.settings.payments_callback_secret)),
            signup_router_from(self.settings, self.uow_factory, notify=self.wake),
            downloads_router(download_links(self.settings), self.files),
        ]
        return routers


def build_app(
    settings: Settings | None = None,
    *,
    db: Engine | None = None,
    dialogue: Callable[..., object] | None = None,
    prepare_pool: PreparePool | None = None,
    background_jobs: bool = False,
    files: FileStore | None = None,
) -> App:
    """Wire settings → engine → units of work → conversation engine and job runner.

    `background_jobs` (`serve`, the long-running server): long chat work is left to its job
    workers (any instance), and a SQLite file is checkpointed by a thread of its own instead of
    by the commit that fills the WAL; otherwise jobs run inline right after the step (tests,
    the scripted console, one-shot commands).
    """
    settings = settings or Settings()
    db = db or make_engine(settings.database_url, background_checkpoints=background_jobs)
    uow_factory = UnitOfWorkFactory(make_session_factory(db))
    wakeup, job_wakeup, notice_wakeup = Wakeup(), Wakeup(), Wakeup()
    handoff = Handoff()

    def wake_all() -> None:  # a job's messages, and the notices it may have published
        wakeup.wake()
        notice_wakeup.wake()

    files = files or files_from(settings)
    prepare_pool = prepare_pool or PreparePool()
    exports = ExportOptions(
        channels=channel_capabilities(settings),
        progress_interval=settings.export_progress_seconds,
        files=files,
        # DANFEs are printed in worker processes where jobs run in the background
        cpu=prepare_pool if background_jobs else None,
        prerender=settings.danfe_prerender,
    )
    sefaz = gateway_from_settings(settings)
    box = secret_box(settings)
    pacotes = pacote_options(settings, files)
    runner = JobRunner(
        uow_factory,
        {
            **fiscal_exports.kinds(exports),
            **sefaz_manifest.job_kinds(sefaz, box),
            **sefaz_consulta.job_kinds(sefaz, box),
            **sefaz_download.job_kinds(sefaz, box),
            **pacote.kinds(pacotes),
        },
        lease=timedelta(seconds=settings.job_lease_seconds),
        on_enqueued=wake_all,
    )
    chat = dialogue or Dialogue(
        DialogueConfig(
            support_contact=settings.support_contact,
            secret_box=box,
            link_signer=link_signer(settings),
            billing=billing_from_settings(settings),
            links=link_options(settings),
            exports=exports,
            pendencias=pendencia_options(settings),
            sefaz=sefaz,
            pacote=pacotes,
        )
    )
    conversation = ConversationEngine(
        uow_factory,
        chat,  # type: ignore[arg-type]
        reads_photo=chat.takes_photo if isinstance(chat, Dialogue) else None,
        on_enqueued=wakeup.wake,
        handoff=handoff,
        on_published=notice_wakeup.wake,
        run_jobs=(lambda _ids: job_wakeup.wake()) if background_jobs else runner.run_now,
        files=files,
    )
    return App(
        settings,
        db,
        uow_factory,
        conversation,
        files,
        prepare_pool,
        wakeup,
        runner,
        job_wakeup,
        background_jobs,
        notice_wakeup,
        handoff,
    )


def pacote_options(settings: Settings, files: FileStore) -> pacote.PacoteOptions:
    """Pacote do mês: the day, the store, e-mail when SMTP is set, the accountant's links."""
    return pacote.PacoteOptions(
        dia=settings.pacote_dia,
        files=files,
        email=bool(settings.smtp_host),
        email_max_bytes=settings.pacote_email_max_mb * 1024 * 1024,
        links=download_links(settings),
        link_ttl=timedelta(days=settings.pacote_link_days),
        channels=channel_capabilities(settings),
    )


def files_from(settings: Settings) -> FileStore:
    """FILE_STORE_URL: a folder, or s3://bucket/prefix (the FILE_STORE_S3_* settings win over
    the AWS_* variables obstore reads by itself)."""
    return file_store(
        settings.file_store_url,
        endpoint=settings.file_store_s3_endpoint,
        region=settings.file_store_s3_region,
        access_key_id=settings.file_store_s3_access_key_id,
        secret_access_key=_secret(settings.file_store_s3_secret_access_key),
    )


def configure_logging(level: str, fmt: str = "text") -> None:
    """Root logging: plain lines or JSON (LOG_FORMAT), with the event id and an identity hash
    while an event is handled; never a message's content."""
    from bot.observability import ContextFormatter, JsonFormatter

    handler = logging.StreamHandler()
    handler.setFormatter(
        JsonFormatter()
        if fmt == "json"
        else ContextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    if not root.handlers:  # as logging.basicConfig: a host that configured logging keeps it
        root.addHandler(handler)
    root.setLevel(level.upper())
    # Bot API URLs carry the token: never log requests.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    # Alembic narrates every migration at INFO on each start; only its problems matter here.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # APScheduler narrates adding and scheduling each job; it would bury the console's dialogue.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # At DEBUG python-telegram-bot logs every update it fetches and every call's parameters,
    # typed certificate passwords included: never below INFO.
    logging.getLogger("telegram").setLevel(max(logging.INFO, logging.getLogger().level))


def _secret(value: SecretStr | None) -> str | None:
    """A secret's text, or None when unset or empty (the payments callback)."""
    return value.get_secret_value() or None if value is not None else None


@dataclass
class Runtime:
    """What `serve` runs for an app: the channels, the web app, the sender, the scheduler and
    the notice loop, built here from the settings (serve only starts and stops them)."""

    metrics: Metrics
    telegram: TelegramChannel | None
    whatsapp: WhatsAppChannel | None
    web: FastAPI
    sender: OutboxSender
    scheduler: ReminderScheduler | None
    notice_loop: NoticeLoop
    # The durable jobs' workers, when jobs run in the background.
    job_workers: JobWorkers | None = None

    @property
    def channel_names(self) -> list[str]:
        return [
            name
            for name, channel in (("telegram", self.telegram), ("whatsapp", self.whatsapp))
            if channel is not None
        ]


def build_runtime(
    app: App,
    *,
    telegram_request: BaseRequest | None = None,
    whatsapp_session: httpx.AsyncClient | None = None,
) -> Runtime:
    """Build everything `serve` runs; tests pass a fake Bot API request or Graph session."""
    settings = app.settings
    metrics = Metrics(app.uow_factory)
    conversation = app.conversation
    # an event alone, or with those that arrive in the same turn of the loop
    handle = Grouped(
        metrics.observe_handle(conversation.handle),
        metrics.observe_many(conversation.handle_many),
    )
    steps = Steps.for_engine(app.db)  # a thread per step, or the loop on SQLite
    telegram_ch = None
    if settings.telegram_enabled:
        telegram_ch = telegram.from_settings(
            settings,
            handle,
            app.uow_factory,
            request=telegram_request,
            files=app.files,
            wants_photo=app.conversation.wants_photo,
            steps=steps,
        )
    whatsapp_ch = None
    if settings.whatsapp_enabled:  # webhook at /webhooks/whatsapp
        whatsapp_ch = whatsapp.from_settings(
            settings,
            handle,
            app.uow_factory,
            session=whatsapp_session,
            on_enqueued=app.wake,
            files=app.files,
            wants_photo=app.conversation.wants_photo,
            steps=steps,
        )
    email = email_send.from_settings(settings, app.files)  # reminders, links, packages
    sender = OutboxSender(
        app.uow_factory,
        [c for c in (telegram_ch, whatsapp_ch, email) if c is not None],
        batch=settings.sender_batch,
        concurrency=settings.sender_concurrency,
        pacer=pacer_from_settings(settings),
        on_fate=metrics.count_fate,
        steps=steps,
    )
    scheduler = (  # daily sweeps, one instance per firing (database lease)
        reminder_scheduler.from_settings(
            settings,
            app.uow_factory,
            on_done=app.wake,
            on_job=metrics.job_done,
            files=app.files,
            capture=capture_runner(settings, app.uow_factory),
        )
        if settings.scheduler_enabled
        else None
    )
    workers = None
    if app.background_jobs and app.jobs is not None:
        count = settings.job_workers or default_workers()
        workers = JobWorkers(
            app.jobs,
            count,
            quick=settings.quick_job_workers,
            on_finished=metrics.background_done,
        )
    runtime = Runtime(
        metrics=metrics,
        telegram=telegram_ch,
        whatsapp=whatsapp_ch,
        web=FastAPI(),
        sender=sender,
        scheduler=scheduler,
        notice_loop=NoticeLoop(
            app.uow_factory,
            app.conversation.handle,
            app.notice_wakeup,
            capabilities=channel_capabilities(settings),
        ),
        job_workers=workers,
    )
    runtime.web = _web_app(app, runtime)
    return runtime


def _web_app(app: App, runtime: Runtime) -> FastAPI:
    settings = app.settings
    metrics = runtime.metrics
    webhook = runtime.telegram if runtime.telegram is not None else None
    if webhook is not None and not webhook.webhook_mode:
        webhook = None
    # One admission gate for both webhooks: the events in progress share this process.
    admission = Admission(
        settings.webhook_max_in_flight,
        settings.webhook_retry_after_seconds,
        on_refused=metrics.webhook_refused.inc,
    )
    token = settings.metrics_token.get_secret_value() if settings.metrics_token else None
    channels = runtime.channel_names or ["console"]
    return create_app(
        app.uow_factory,
        telegram=webhook,
        telegram_secret=webhook.webhook_secret if webhook else None,
        routers=[  # (the webhook first: see create_app)
            *([whatsapp_router(runtime.whatsapp, admission)] if runtime.whatsapp else []),
            *app.web_routers(),
            metrics_router(metrics.render, token),
            status_router(
                lambda: health.status(
                    app.uow_factory, version=VERSION, channels=channels, jobs=scheduler_jobs.JOBS
                )
            ),
        ],
        admission=admission,
    )
