"""`GET /metrics` (Prometheus) and `GET /` (a small status page), for operators.

/metrics answers only with `Authorization: Bearer METRICS_TOKEN` when a token is set, and
otherwise only to the machine itself (loopback), so a public deployment does not publish its
numbers. The status page shows the version, the channels, the outbox and the last run of each
scheduled job — nothing about any gestor, client or message.
"""

from __future__ import annotations

import html
import secrets
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from services.health import Status

PROMETHEUS_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
SAO_PAULO = ZoneInfo("America/Sao_Paulo")


def metrics_router(render: Callable[[], bytes], token: str | None) -> APIRouter:
    router = APIRouter()

    @router.get("/metrics", include_in_schema=False)
    def metrics(request: Request) -> Response:
        if token is not None:
            given = request.headers.get("Authorization", "")
            if not secrets.compare_digest(given.encode(), f"Bearer {token}".encode()):
                return Response(status_code=401, headers={"WWW-Authenticate": "Bearer"})
        elif request.client is None or request.client.host not in LOOPBACK:
            return Response(status_code=403)
        return Response(render(), media_type=PROMETHEUS_TYPE)

    return router


def status_router(status: Callable[[], Status]) -> APIRouter:
    router = APIRouter()

    @router.get("/", include_in_schema=False)
    def page() -> HTMLResponse:
        try:
            facts = status()
        except Exception:
            return HTMLResponse(_page("<p>⚠️ Banco de dados indisponível.</p>"), status_code=503)
        runs = "".join(
            f"<tr><td>{html.escape(job)}</td><td>{_when(at)}</td></tr>"
            for job, at in facts.last_runs.items()
        )
        body = (
            f"<p>Versão {html.escape(facts.version)}</p>"
            f"<p>Canais: {html.escape(', '.join(facts.channels) or 'nenhum')}</p>"
            f"<p>Fila de envio: {facts.outbox_pending} mensagem(ns); a mais antiga espera há "
            f"{facts.outbox_oldest_seconds:.0f} s.</p>"
            "<table><tr><th>Tarefa</th><th>Última execução (Brasília)</th></tr>"
            f"{runs}</table>"
            '<p><a href="/docs">API de integração</a> · <a href="/healthz">/healthz</a></p>'
        )
        return HTMLResponse(_page(body))

    return router


def _when(at: datetime | None) -> str:
    return at.astimezone(SAO_PAULO).strftime("%d/%m/%Y %H:%M") if at is not None else "nunca"


def _page(body: str) -> str:
    return (
        '<!doctype html><html lang="pt-BR"><head><meta charset="utf-8">'
        "<title>RevendaBot</title></head><body><h1>RevendaBot</h1>"
        f"{body}</body></html>"
    )
