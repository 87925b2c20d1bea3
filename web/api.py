"""The integration REST API used by the clients' own software (OpenAPI at /docs).

Authentication: `Authorization: Bearer <chave de integração>`. Errors are JSON with a pt-BR
`detail`, shaped in one place (web/api_errors.py). Feature routes are added to the router
returned by `api_router` (one block each).

No `from __future__ import annotations` here: FastAPI reads the route annotations at run time.
"""

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from domain.documents import format_tax_id
from services import integration_keys
from services.integration_keys import ApiClient
from services.prepare_pool import PreparePool
from services.types import UnitOfWorkFactory
from web.api_documentos import documentos_router
from web.api_errors import error_responses

MISSING_KEY = "Envie a chave de integração do cliente no cabeçalho Authorization: Bearer <chave>."

# Declares the Bearer scheme in the OpenAPI document (the "Authorize" button at /docs); a missing
# or malformed header comes through as None so the refusal below is ours, in pt-BR.
bearer = HTTPBearer(
    auto_error=False,
    scheme_name="chave_de_integracao",
    description="A chave de integração do cliente (gerada no painel: Configurações → "
    "Chave de integração).",
)


class ClienteOut(BaseModel):
    """The client a key belongs to."""

    id: int
    documento: str
    razao_social: str


def client_dependency(
    uow_factory: UnitOfWorkFactory,
) -> Callable[..., Awaitable[ApiClient]]:
    """A FastAPI dependency resolving the Bearer key to its client (401/403 otherwise)."""

    async def current_client(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> ApiClient:
        if credentials is None or not credentials.credentials.strip():
            raise HTTPException(401, MISSING_KEY, headers={"WWW-Authenticate": "Bearer"})
        raw = credentials.credentials
        # A key seen a moment ago is answered from memory, without a thread or a transaction.
        found = integration_keys.cached(raw)
        if found is not None:
            return found
        return await run_in_threadpool(integration_keys.authenticate, uow_factory(), raw)

    return current_client


def api_router(uow_factory: UnitOfWorkFactory, pool: PreparePool) -> APIRouter:
    router = APIRouter(
        prefix="/api/v1", tags=["integração"], responses=error_responses(401, 403, 405)
    )
    current_client = client_dependency(uow_factory)
    Client = Annotated[ApiClient, Depends(current_client)]
    router.include_router(documentos_router(uow_factory, current_client, pool))

    @router.get("/cliente", response_model=ClienteOut, summary="O cliente desta chave")
    def who_am_i(client: Client) -> ClienteOut:
        return ClienteOut(
            id=client.client_id,
            documento=format_tax_id(client.documento),
            razao_social=client.razao_social,
        )

    return router
