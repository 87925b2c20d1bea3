"""The integration REST API used by the clients' own software (OpenAPI at /docs).

Authentication: `Authorization: Bearer <chave de integração>`. Errors are JSON with a pt-BR
`detail`. Feature routes are added to the router returned by `api_router` (one block each).

No `from __future__ import annotations` here: FastAPI reads the route annotations at run time.
"""

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException
from pydantic import BaseModel

from domain.documents import format_tax_id
from services import integration_keys
from services.integration_keys import AccessCut, ApiClient, KeyRefused
from services.types import UnitOfWorkFactory
from web.api_documentos import documentos_router  # issue 3

MISSING_KEY = "Envie a chave de integração do cliente no cabeçalho Authorization: Bearer <chave>."


class ClienteOut(BaseModel):
    """The client a key belongs to."""

    id: int
    documento: str
    razao_social: str


def client_dependency(uow_factory: UnitOfWorkFactory) -> Callable[..., ApiClient]:
    """A FastAPI dependency resolving the Bearer key to its client (401/403 otherwise)."""

    def current_client(
        authorization: Annotated[str | None, Header()] = None,
    ) -> ApiClient:
        scheme, _, key = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise HTTPException(401, MISSING_KEY, headers={"WWW-Authenticate": "Bearer"})
        try:
            return integration_keys.authenticate(uow_factory(), key)
        except KeyRefused as exc:
            raise HTTPException(401, exc.message, headers={"WWW-Authenticate": "Bearer"}) from exc
        except AccessCut as exc:
            raise HTTPException(403, exc.message) from exc

    return current_client


def api_router(uow_factory: UnitOfWorkFactory) -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["integração"])
    current_client = client_dependency(uow_factory)
    Client = Annotated[ApiClient, Depends(current_client)]
    router.include_router(documentos_router(uow_factory, current_client))  # issue 3

    @router.get("/cliente", response_model=ClienteOut, summary="O cliente desta chave")
    def who_am_i(client: Client) -> ClienteOut:
        return ClienteOut(
            id=client.client_id,
            documento=format_tax_id(client.documento),
            razao_social=client.razao_social,
        )

    return router
