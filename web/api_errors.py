"""The integration API's one error handler: every refusal leaves as pt-BR JSON `{"detail": ...}`.

FastAPI's exception handlers are app-wide, so `install` registers them on the whole app but they
only rewrite answers under `/api/`; the other pages keep FastAPI's default answers. Route code
raises service errors or `HTTPException` with a pt-BR detail and never maps them itself.

A 405 anywhere carries an `Allow` header listing every method of the path: Starlette's own lists
only the methods of the first route whose path matched (POST alone for /api/v1/documentos).
Parameter hints and allowed methods are read from the OpenAPI document, so the errors say what
/docs says; the methods of routes left out of it (a channel's webhook POST) are added by asking
the routes themselves.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any, cast

from fastapi import FastAPI, Request
from fastapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException
from starlette.routing import Match

from domain.fiscal.zipsafe import ZipRefusedError, ZipTooLargeError
from services.errors import NotFound
from services.fiscal_documents import InvalidQuery
from services.integration_keys import AccessCut, KeyRefused

API_PREFIX = "/api/"
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"})
FORM_FIELD = "arquivo"
BAD_FORM = (
    f"O formulário multipart não pôde ser lido. Envie um único arquivo no campo {FORM_FIELD} "
    f"(ex. curl -F {FORM_FIELD}=@nota.xml)."
)

# The errors the API's routes let through, with their status; the message is the error's own
# (pt-BR, safe to show) unless one is given here.
STATUS_OF: Mapping[type[Exception], tuple[int, str | None]] = {
    KeyRefused: (401, None),
    AccessCut: (403, None),
    NotFound: (404, None),
    ZipTooLargeError: (413, None),
    ZipRefusedError: (422, None),
    InvalidQuery: (422, None),
    MultiPartException: (422, BAD_FORM),  # its own text is English
}

# FastAPI's 400 for a JSON body it cannot even decode (not UTF-8); a body that decodes but is not
# JSON is a 422 (`json_invalid`), and this one is answered the same way.
FASTAPI_UNREADABLE_BODY = "There was an error parsing the body"
UNREADABLE_BODY = "O corpo não é um JSON válido em UTF-8. Envie um objeto JSON."

# pt-BR details for the errors Starlette raises itself (no route, wrong method, …).
DEFAULT_DETAIL: Mapping[int, str] = {
    404: "Endereço não encontrado na API. Confira o caminho; as rotas estão em /docs.",
    405: "Método HTTP não aceito neste endereço. Use um dos métodos do cabeçalho Allow.",
}


class Erro(BaseModel):
    """Every error answer of the integration API."""

    detail: str = Field(description="O que houve e o que fazer, em português")


_DESCRIPTION: Mapping[int, str] = {
    401: "Chave de integração ausente, inválida ou substituída",
    403: "Contrato do cliente bloqueado ou cancelado",
    404: "Não encontrado",
    405: "Método não aceito neste endereço (o cabeçalho Allow lista os aceitos)",
    409: "Já usado",
    410: "Expirado",
    413: "Envio acima dos limites de tamanho",
    415: "Tipo de conteúdo não aceito",
    422: "Parâmetro ou conteúdo inválido (o motivo em `detail`)",
}
_HEADERS: Mapping[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"description": "Bearer", "schema": {"type": "string"}}},
    405: {"Allow": {"description": "Os métodos aceitos", "schema": {"type": "string"}}},
}


def error_responses(
    *codes: int, descriptions: Mapping[int, str] | None = None
) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these statuses, each with the pt-BR error schema."""
    described = {**_DESCRIPTION, **(descriptions or {})}
    return {
        code: {"model": Erro, "description": described[code]}
        | ({"headers": _HEADERS[code]} if code in _HEADERS else {})
        for code in codes
    }


def install(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    for error in STATUS_OF:
        app.add_exception_handler(error, _refusal)


def _error(status: int, detail: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status, headers=headers)


def _in_api(request: Request) -> bool:
    return _route_path(request).startswith(API_PREFIX)


def _route_path(request: Request) -> str:
    """The path as the routes see it (without the prefix a proxy mounts the app under)."""
    root = request.scope.get("root_path", "")
    return request.url.path.removeprefix(root) if root else request.url.path


async def _http_error(request: Request, error: Exception) -> Response:
    exc = cast(StarletteHTTPException, error)  # registered for this class only
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = _allowed_methods(request, headers.get("Allow", ""))
    if not _in_api(request):
        plain = StarletteHTTPException(exc.status_code, exc.detail, headers)
        return await http_exception_handler(request, plain)
    if exc.status_code == 400 and exc.detail == FASTAPI_UNREADABLE_BODY:
        return _error(422, UNREADABLE_BODY)
    detail = exc.detail
    if not isinstance(detail, str) or detail == HTTPStatus(exc.status_code).phrase:
        detail = DEFAULT_DETAIL.get(
            exc.status_code, f"A requisição não pôde ser atendida (HTTP {exc.status_code})."
        )
    return _error(exc.status_code, detail, headers)


async def _validation_error(request: Request, error: Exception) -> Response:
    exc = cast(RequestValidationError, error)  # registered for this class only
    if not _in_api(request):
        return await request_validation_exception_handler(request, exc)
    return _error(422, _validation_detail(request, exc))


async def _refusal(request: Request, exc: Exception) -> Response:
    if not _in_api(request):
        raise exc  # other pages handle their own errors; anything left is a server error
    status, message = next(STATUS_OF[kind] for kind in type(exc).__mro__ if kind in STATUS_OF)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return _error(status, message or getattr(exc, "message", None) or str(exc), headers)


def _validation_detail(request: Request, exc: RequestValidationError) -> str:
    """One sentence per wrong parameter or body field, followed by its description from /docs."""
    hints = _descriptions(request)
    sentences: dict[str, None] = {}
    for problem in exc.errors():
        where, *path = [str(part) for part in problem.get("loc", ())] or [""]
        name = ".".join(path)
        noun = "campo" if where == "body" else "parâmetro"
        if problem.get("type") == "json_invalid":
            sentence = UNREADABLE_BODY
        elif where == "body" and not name:
            sentence = "Envie o corpo da requisição em JSON."
        elif problem.get("type") == "missing":
            sentence = f"Informe o {noun} {name}."
        else:
            sentence = f"{noun.capitalize()} {name} inválido: {_shown(problem.get('input'))}."
        sentences[f"{sentence} {hints.get(name, '')}".strip()] = None
    return " ".join(sentences) or "Requisição inválida. Confira os parâmetros em /docs."


def _descriptions(request: Request) -> dict[str, str]:
    """What /docs says of each query/path parameter and JSON body field of this operation."""
    operation = _path_item(request).get(request.method.lower(), {})
    found = {p["name"]: p.get("description", "") for p in operation.get("parameters", [])}
    body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    ref = body.get("schema", {}).get("$ref", "")
    schemas = request.app.openapi().get("components", {}).get("schemas", {})
    for field, spec in schemas.get(ref.rsplit("/", 1)[-1], {}).get("properties", {}).items():
        found.setdefault(field, spec.get("description", ""))
    return found


def _allowed_methods(request: Request, fallback: str) -> str:
    """The methods the OpenAPI document lists for this path, and those of the plain routes
    left out of it on the same path (a channel's webhook POST beside its GET); a path with
    neither keeps Starlette's own list."""
    methods = {m.upper() for m in _path_item(request) if m.upper() in HTTP_METHODS}
    routes = request.app.router.routes
    methods |= {
        method
        for method in HTTP_METHODS - methods
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes
        )
    }
    return ", ".join(sorted(methods)) or fallback


def _path_item(request: Request) -> dict[str, Any]:
    """The OpenAPI path item whose template matches the request path ({} when none does).

    Templates are tried in the document's order, which is the routes' order, as routing does.
    """
    path = _route_path(request)
    paths: dict[str, dict[str, Any]] = request.app.openapi()["paths"]
    for template, item in paths.items():
        pattern = "".join(
            "[^/]+" if part.startswith("{") else re.escape(part)
            for part in re.split(r"(\{[^/}]+\})", template)
        )
        if re.fullmatch(pattern, path):
            return item
    return {}


def _shown(value: object) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 40 else text[:39] + "…"
