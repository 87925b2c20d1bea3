"""Acessar software do cliente, web side: the demo landing page a link opens and the
verification endpoint a client's software calls server-to-server with the link's token.

No `from __future__ import annotations` here: FastAPI reads the route annotations at run time.
"""

from html import escape

from fastapi import APIRouter, HTTPException
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from domain.documents import format_tax_id
from services import software_access
from services.software_access import (
    AccessGrant,
    LinkAccessCut,
    LinkExpired,
    LinkRefused,
    LinkSigner,
    LinkUsed,
)
from services.types import UnitOfWorkFactory
from web.api_errors import error_responses


class VerifyIn(BaseModel):
    token: str = Field(max_length=200, description="O token que veio no link /acesso/{token}.")


class AccessOut(BaseModel):
    """Who the link signs in as."""

    cliente_id: int
    documento: str
    razao_social: str
    software: str
    emitido_por: str


def _status(exc: LinkRefused) -> int:
    if isinstance(exc, LinkExpired):
        return 410
    if isinstance(exc, LinkUsed):
        return 409
    if isinstance(exc, LinkAccessCut):
        return 403
    return 401


def _page(title: str, body: str, status: int) -> HTMLResponse:
    html = (
        '<!doctype html><html lang="pt-BR"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title></head>"
        '<body style="font-family: sans-serif; max-width: 36rem; margin: 3rem auto">'
        f"<h1>{escape(title)}</h1><p>{escape(body)}</p></body></html>"
    )
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


def _out(grant: AccessGrant) -> AccessOut:
    return AccessOut(
        cliente_id=grant.client_id,
        documento=format_tax_id(grant.documento),
        razao_social=grant.razao_social,
        software=grant.software,
        emitido_por=grant.issued_by,
    )


def software_access_router(uow_factory: UnitOfWorkFactory, signer: LinkSigner) -> APIRouter:
    router = APIRouter(tags=["acesso ao software"])

    @router.get("/acesso/{token}", response_class=HTMLResponse, include_in_schema=False)
    def landing(token: str) -> HTMLResponse:
        try:
            grant = software_access.redeem(uow_factory(), token, signer=signer)
        except LinkRefused as exc:
            return _page("Acesso não liberado", exc.message, _status(exc))
        return _page(
            f"{grant.software}: você entrou",
            f"Você entrou como {grant.razao_social} (CNPJ/CPF {format_tax_id(grant.documento)}).",
            200,
        )

    @router.post(
        "/api/v1/acesso/verificar",
        response_model=AccessOut,
        summary="Confere um link de acesso (uso único, 5 minutos) e diz quem entra",
        responses=error_responses(
            401,
            403,
            409,
            410,
            422,
            descriptions={
                401: "Link de acesso inválido",
                403: "Contrato do cliente bloqueado ou cancelado",
                409: "Link de acesso já usado",
                410: "Link de acesso expirado",
            },
        ),
    )
    def verify(payload: VerifyIn) -> AccessOut:
        try:
            grant = software_access.redeem(uow_factory(), payload.token, signer=signer)
        except LinkRefused as exc:
            raise HTTPException(_status(exc), exc.message) from exc
        return _out(grant)

    return router
