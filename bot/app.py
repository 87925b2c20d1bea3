"""Composition root: the only place concrete classes are built. Tests build it with overrides."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from fastapi import APIRouter
from sqlalchemy import Engine

from bot.settings import Settings
from handlers.core import DialogueConfig
from handlers.router import Dialogue
from services.conversation import ConversationEngine
from services.types import UnitOfWorkFactory
from storage.db import make_engine, make_session_factory
from storage.migrations import upgrade
from web.api import api_router

log = logging.getLogger(__name__)


@dataclass
class App:
    settings: Settings
    db: Engine
    uow_factory: UnitOfWorkFactory
    conversation: ConversationEngine
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
            api_router(self.uow_factory),
        ]
        return routers


def build_app(
    settings: Settings | None = None,
    *,
    db: Engine | None = None,
    dialogue: Callable[..., object] | None = None,
    run_job: Callable[[Callable[[], None]], None] | None = None,
) -> App:
    """Wire settings → engine → units of work → conversation engine."""
    settings = settings or Settings()
    db = db or make_engine(settings.database_url)
    uow_factory = UnitOfWorkFactory(make_session_factory(db))
    holder: list[App] = []
    conversation = ConversationEngine(
        uow_factory,
        dialogue or Dialogue(DialogueConfig(support_contact=settings.support_contact)),  # type: ignore[arg-type]
        on_enqueued=lambda: holder[0].wake(),
        run_job=run_job,
    )
    app = App(settings, db, uow_factory, conversation)
    holder.append(app)
    return app


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Bot API URLs carry the token: never log requests.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    # Alembic narrates every migration at INFO on each start; only its problems matter here.
    logging.getLogger("alembic").setLevel(logging.WARNING)
