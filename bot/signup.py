"""Builds the contracting-link pieces from settings: the dialogue's options and the web page."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import timedelta

from fastapi import APIRouter

from bot.gateways.email import SmtpEmailGateway
from bot.gateways.sms import NoSmsGateway
from bot.settings import PLACEHOLDER, Settings
from services.links import LinkOptions
from services.types import UnitOfWorkFactory
from web.ratelimit import SlidingWindowLimiter
from web.signup import signup_router

log = logging.getLogger(__name__)


def email_gateway(settings: Settings) -> SmtpEmailGateway | None:
    """The SMTP gateway, or None when SMTP_HOST is unset (the bot then says so)."""
    if not settings.smtp_host:
        return None
    return SmtpEmailGateway(
        host=settings.smtp_host,
        port=settings.smtp_port,
        sender=settings.smtp_from,
        username=settings.smtp_username or None,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        starttls=settings.smtp_starttls,
        timeout=settings.smtp_timeout_seconds,
    )


def link_options(settings: Settings) -> LinkOptions:
    return LinkOptions(
        base_url=settings.web_base_url,
        ttl=timedelta(days=settings.link_ttl_days),
        email=email_gateway(settings),
        sms=NoSmsGateway(),
    )


def signup_router_from(
    settings: Settings, uow_factory: UnitOfWorkFactory, *, notify: Callable[[], None]
) -> APIRouter:
    secret = settings.signup_secret.get_secret_value()
    if secret in ("", PLACEHOLDER):
        # Development only (production refuses the placeholder): forms die with the process.
        secret = secrets.token_urlsafe(32)
    window = float(settings.signup_rate_window_seconds)
    return signup_router(
        uow_factory,
        secret=secret,
        notify=notify,
        per_ip=SlidingWindowLimiter(limit=settings.signup_rate_per_ip, window=window),
        per_token=SlidingWindowLimiter(limit=settings.signup_rate_per_token, window=window),
        secure_cookies=settings.web_base_url.startswith("https://"),
    )
