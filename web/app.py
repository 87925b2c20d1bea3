"""The web app: health check and channel webhooks. Built by `create_app` from its dependencies.

Nothing is built at import time; `bot.serve` (or a test) passes the unit-of-work factory and,
in Telegram webhook mode, the channel that processes updates plus the secret Telegram sends.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse

from services.health import check_database
from services.types import UnitOfWorkFactory
from web import api_errors
from web.backpressure import Admission

log = logging.getLogger(__name__)

TELEGRAM_WEBHOOK_PATH = "/webhooks/telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name


class TelegramWebhook(Protocol):
    async def process_payload(self, payload: dict[str, Any]) -> dict[str, Any] | None:
        """Handle the update; return a Bot API call to put in the answer, or None."""
        ...


def create_app(
    uow_factory: UnitOfWorkFactory,
    *,
    telegram: TelegramWebhook | None = None,
    telegram_secret: str | None = None,
    routers: Sequence[APIRouter] = (),
    admission: Admission | None = None,
) -> FastAPI:
    """The FastAPI app; the Telegram webhook route exists only when a channel is given.

    `routers` are the feature routers (sign-up page, integration API, …) built by the
    composition root (bot/app.py `App.web_routers`) with their dependencies.
    """
    app = FastAPI(title="RevendaBot API", docs_url="/docs", redoc_url=None)
    api_errors.install(app)  # pt-BR JSON errors under /api/, a full Allow header on every 405
    # A request walks the routes in order until one matches, and webhooks are most requests:
    # theirs come first (`routers` puts the WhatsApp one first too).
    if telegram is not None:
        if not telegram_secret:
            raise ValueError("the Telegram webhook needs a secret token")
        app.include_router(_telegram_router(telegram, telegram_secret, admission or Admission()))
    for router in routers:
        app.include_router(router)
    app.include_router(_health_router(uow_factory))
    return app


def _health_router(uow_factory: UnitOfWorkFactory) -> APIRouter:
    router = APIRouter()

    @router.get("/healthz")
    def healthz() -> Response:
        try:
            check_database(uow_factory)
        except Exception:
            log.exception("health check: database unreachable")
            return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    return router


def _telegram_router(telegram: TelegramWebhook, secret: str, admission: Admission) -> APIRouter:
    """A plain Starlette route (see `webhook_route`)."""
    router = APIRouter()
    expected = secret.encode()

    async def telegram_webhook(request: Request) -> Response:
        token = request.headers.get(SECRET_HEADER)
        if token is None or not secrets.compare_digest(token.encode(), expected):
            return Response(status_code=403)
        try:
            payload = await request.json()
        except ValueError:
            return Response(status_code=400)
        if not isinstance(payload, dict):
            return Response(status_code=400)
        with admission.enter() as admitted:
            if not admitted:
                return admission.busy()
            # Processed before answering: a crash makes Telegram redeliver; dedupe makes it safe.
            call = await telegram.process_payload(payload)
        if call is not None:  # a Bot API call Telegram makes on reading the answer
            return JSONResponse(call)
        return Response(status_code=200)

    webhook_route(router, TELEGRAM_WEBHOOK_PATH, telegram_webhook)
    return router


def webhook_route(
    router: APIRouter, path: str, endpoint: Callable[[Request], Awaitable[Response]]
) -> None:
    """A channel's webhook POST as a plain Starlette route: FastAPI's request handling
    (dependencies, validation, serialization), which a webhook does not use, was half of the
    route's CPU, paid on the event loop's thread for every update (benchmarks/webhook_intake.py:
    63–65 → 30–33 µs a request). Nor is it in the OpenAPI document: the route is the
    platform's, not the integration API's."""
    router.add_route(path, endpoint, methods=["POST"], include_in_schema=False)
