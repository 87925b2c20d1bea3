"""Composition root: the only place concrete classes are built. Tests build it with overrides."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from fastapi import APIRouter
from pydantic import SecretStr
from sqlalchemy import Engine

from bot.channels import console, telegram, whatsapp, whatsapp_book
from bot.crypto import link_signer, secret_box
from bot.gateways.file_store import file_store
from bot.gateways.payments import billing_from_settings
from bot.settings import Settings
from bot.signup import link_options, signup_router_from
from handlers.core import DialogueConfig
from handlers.router import Dialogue
from services.capabilities import Capabilities
from services.conversation import ConversationEngine
from services.files import FileStore
from services.fiscal_exports import ExportOptions, deployment_upload_limits
from services.prepare_pool import PreparePool
from services.types import UnitOfWorkFactory
from storage.db import make_engine, make_session_factory
from storage.migrations import upgrade
from web.api import api_router
from web.payments import payments_router
from web.software_access import software_access_router

log = logging.getLogger(__name__)

# What each channel can do, as the channels declare it.
CHANNEL_CAPABILITIES: dict[str, Capabilities] = {
    telegram.CHANNEL: telegram.CAPABILITIES,
    whatsapp_book.CHANNEL: whatsapp.CAPABILITIES,
    console.CHANNEL: console.CAPABILITIES,
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
    # Called (from any thread) when messages were enqueued: wakes the outbox sender.
    wake_listeners: list[Callable[[], None]] = field(default_factory=list)

    @property
    def invite_ttl(self) -> timedelta:
        return timedelta(hours=self.settings.invite_ttl_hours)

    def wake(self) -> None:
        for listener in list(self.wake_listeners):
            listener()

    def migrate(self) -> None:
        upgrade(self.db)

    def close(self) -> None:
        self.db.dispose()

    def web_routers(self) -> list[APIRouter]:
        """The feature routers of the web app, built with their dependencies (one line each)."""
        routers: list[APIRouter] = [
            api_router(self.uow_factory, self.prepare_pool),
            software_access_router(self.uow_factory, link_signer(self.settings)),
            payments_router(self.uow_factory, _secret(self.settings.payments_callback_secret)),
            signup_router_from(self.settings, self.uow_factory, notify=self.wake),
        ]
        return routers


def build_app(
    settings: Settings | None = None,
    *,
    db: Engine | None = None,
    dialogue: Callable[..., object] | None = None,
    run_job: Callable[[Callable[[], None]], None] | None = None,
    prepare_pool: PreparePool | None = None,
    files: FileStore | None = None,
) -> App:
    """Wire settings → engine → units of work → conversation engine."""
    settings = settings or Settings()
    db = db or make_engine(settings.database_url)
    uow_factory = UnitOfWorkFactory(make_session_factory(db))
    files = files or files_from(settings)
    holder: list[App] = []
    conversation = ConversationEngine(
        uow_factory,
        dialogue  # type: ignore[arg-type]
        or Dialogue(
            DialogueConfig(
                support_contact=settings.support_contact,
                secret_box=secret_box(settings),
                link_signer=link_signer(settings),
                billing=billing_from_settings(settings),
                links=link_options(settings),
                # a local Bot API server takes 2000 MB instead of 50 MB
                exports=ExportOptions(
                    deployment_upload_limits(settings.telegram_base_url),
                    channels=CHANNEL_CAPABILITIES,
                    progress_interval=settings.export_progress_seconds,
                    files=files,
                ),
            )
        ),
        on_enqueued=lambda: holder[0].wake(),
        run_job=run_job,
        files=files,
    )
    app = App(settings, db, uow_factory, conversation, files, prepare_pool or PreparePool())
    holder.append(app)
    return app


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
