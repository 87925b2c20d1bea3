"""Integration API, fiscal documents: send XMLs (one or a ZIP), list a month, fetch one XML.

Each document of a ZIP is accepted or refused on its own; the accepted ones are written in one
transaction at the end of the request (an unexpected failure writes none). The summary lists
every file with its status and, when refused, the reason in pt-BR.

No `from __future__ import annotations` here: FastAPI reads the route annotations at run time.
"""

from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from domain.fiscal import MAX_XML_BYTES, Modelo
from domain.fiscal.zipsafe import ZipLimits, ZipRefusedError, ZipTooLargeError
from services import fiscal_documents, fiscal_ingest
from services.errors import NotFound
from services.fiscal_documents import DocumentSummary, InvalidQuery
from services.fiscal_ingest import IngestReport
from services.fiscal_prepare import Status, TipoNota
from services.integration_keys import ApiClient
from services.types import UnitOfWorkFactory

MAX_ZIP_BODY = 50 * 1024 * 1024
XML_TYPES = frozenset({"application/xml", "text/xml"})
ZIP_TYPES = frozenset({"application/zip", "application/x-zip-compressed"})
ANY_TYPES = frozenset({"application/octet-stream"})
ATOMICITY = (
    "Cada documento é aceito ou recusado sozinho; os aceitos foram gravados juntos ao fim "
    "do envio. Reenviar é seguro: uma chave já guardada volta como duplicado."
)


class DocumentoResultado(BaseModel):
    arquivo: str
    status: Status
    chave: str | None = None
    tipo: TipoNota | None = None
    modelo: str | None = None
    situacao: str | None = None
    motivo: str | None = None
    codigo: str | None = None
    avisos: list[str] = []


class ResumoEnvio(BaseModel):
    carregados: int
    duplicados: int
    cancelamentos: int
    recusados: int
    ignorados: int
    gravacao: str = ATOMICITY
    documentos: list[DocumentoResultado]


class DocumentoOut(BaseModel):
    chave: str
    tipo: TipoNota
    modelo: str
    serie: int
    numero: int
    emitida_em: str
    competencia: str
    emitente_documento: str
    emitente_nome: str | None
    destinatario_documento: str | None
    destinatario_nome: str | None
    valor: Decimal
    situacao: str
    cancelada_em: str | None


class PaginaDocumentos(BaseModel):
    total: int
    pagina: int
    paginas: int
    documentos: list[DocumentoOut]


_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "Um XML (nfeProc ou procEventoNFe de cancelamento) ou um ZIP de XMLs.",
        "content": {
            "application/xml": {"schema": {"type": "string"}},
            "text/xml": {"schema": {"type": "string"}},
            "application/zip": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Chave de integração ausente, inválida ou substituída"},
    403: {"description": "Contrato do cliente bloqueado ou cancelado"},
}


def documentos_router(
    uow_factory: UnitOfWorkFactory, client_dependency: Callable[..., ApiClient]
) -> APIRouter:
    router = APIRouter(tags=["documentos fiscais"])
    Client = Annotated[ApiClient, Depends(client_dependency)]

    @router.post(
        "/documentos",
        summary="Enviar XMLs (um XML ou um ZIP de XMLs)",
        response_model=ResumoEnvio,
        openapi_extra=_UPLOAD_BODY,
        responses={
            201: {"model": ResumoEnvio, "description": "Um XML, guardado"},
            413: {"description": "Arquivo ou ZIP acima dos limites"},
            415: {"description": "Tipo de conteúdo não aceito"},
            422: {"description": "XML recusado (o motivo em `detail`) ou ZIP inválido"},
            **_ERRORS,
        },
    )
    async def enviar(request: Request, client: Client) -> JSONResponse:
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind not in XML_TYPES | ZIP_TYPES | ANY_TYPES:
            raise HTTPException(
                415, "Envie o XML (application/xml) ou um ZIP de XMLs (application/zip)."
            )
        limit = MAX_XML_BYTES if kind in XML_TYPES else MAX_ZIP_BODY
        body = await _read_body(request, limit)
        try:
            report = await run_in_threadpool(_ingest, uow_factory, client, body)
        except ZipTooLargeError as exc:
            raise HTTPException(413, exc.message) from exc
        except ZipRefusedError as exc:
            raise HTTPException(422, exc.message) from exc
        return _answer(report, single=not body.startswith(b"PK"))

    @router.get(
        "/documentos",
        summary="Listar as notas de um mês",
        response_model=PaginaDocumentos,
        responses={422: {"description": "Parâmetro inválido"}, **_ERRORS},
    )
    def listar(
        client: Client,
        competencia: Annotated[str, Query(description="Mês, AAAA-MM (ex. 2026-10)")],
        modelo: Annotated[str, Query(description="55 (NF-e) ou 65 (NFC-e)")],
        tipo: Annotated[str, Query(description="emitida ou fornecedor")] = "emitida",
        pagina: int = 1,
        por_pagina: Annotated[int, Query(description="Até 500")] = 100,
    ) -> PaginaDocumentos:
        try:
            page = fiscal_documents.api_list(
                uow_factory(),
                client,
                competencia=competencia,
                modelo=_modelo(modelo),
                tipo=_tipo(tipo),
                page=pagina,
                page_size=por_pagina,
            )
        except InvalidQuery as exc:
            raise HTTPException(422, exc.message) from exc
        return PaginaDocumentos(
            total=page.total,
            pagina=page.page,
            paginas=page.pages,
            documentos=[_out(item) for item in page.items],
        )

    @router.get(
        "/documentos/{chave}",
        summary="Baixar o XML de uma nota",
        response_class=Response,
        responses={
            200: {"content": {"application/xml": {}}, "description": "O XML guardado"},
            404: {"description": "Nota não encontrada para este cliente"},
            **_ERRORS,
        },
    )
    def baixar(chave: str, client: Client) -> Response:
        try:
            xml = fiscal_documents.api_xml(uow_factory(), client, chave)
        except NotFound as exc:
            raise HTTPException(404, exc.message) from exc
        return Response(
            xml.data,
            media_type="application/xml",
            headers={"Content-Disposition": f'attachment; filename="{xml.nome}"'},
        )

    return router


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, _too_large(limit))
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise HTTPException(413, _too_large(limit))
    if not body.strip():
        raise HTTPException(400, "O corpo da requisição está vazio: envie o XML ou o ZIP.")
    return bytes(body)


def _ingest(uow_factory: UnitOfWorkFactory, client: ApiClient, body: bytes) -> IngestReport:
    uow = uow_factory()
    with uow:  # one transaction for the whole request (the service's chunks join it)
        report = fiscal_ingest.ingest_upload(
            uow,
            client,
            body,
            nome="documento.xml",
            via="api",
            limits=ZipLimits(),
            check_xsd=True,
        )
        uow.commit()
    return report


def _answer(report: IngestReport, *, single: bool) -> JSONResponse:
    resumo = ResumoEnvio(
        carregados=report.carregados,
        duplicados=report.duplicados,
        cancelamentos=report.cancelamentos,
        recusados=report.recusados,
        ignorados=report.ignorados,
        documentos=[
            DocumentoResultado(
                arquivo=outcome.nome,
                status=outcome.status,
                chave=outcome.chave,
                tipo=outcome.tipo,
                modelo=outcome.modelo,
                situacao=outcome.situacao.value if outcome.situacao else None,
                motivo=outcome.motivo,
                codigo=outcome.codigo,
                avisos=list(outcome.avisos),
            )
            for outcome in report.outcomes
        ],
    )
    content = resumo.model_dump(mode="json")
    if single and report.recusados:
        refusal = report.refusals[0]
        status = 413 if refusal.codigo == "muito_grande" else 422
        return JSONResponse(
            {"detail": refusal.motivo, "codigo": refusal.codigo, **content}, status
        )
    return JSONResponse(content, 201 if single and report.carregados else 200)


def _modelo(value: str) -> Modelo:
    try:
        return Modelo(value.strip())
    except ValueError:
        raise InvalidQuery(f"Modelo inválido: {value!r}. Use 55 (NF-e) ou 65 (NFC-e).") from None


def _tipo(value: str) -> TipoNota:
    try:
        return TipoNota(value.strip().lower())
    except ValueError:
        raise InvalidQuery(f"Tipo inválido: {value!r}. Use emitida ou fornecedor.") from None


def _out(item: DocumentSummary) -> DocumentoOut:
    return DocumentoOut(
        chave=item.chave,
        tipo=item.tipo,
        modelo=item.modelo.value,
        serie=item.serie,
        numero=item.numero,
        emitida_em=item.emitida_em.isoformat(),
        competencia=item.competencia,
        emitente_documento=item.emitente_documento,
        emitente_nome=item.emitente_nome,
        destinatario_documento=item.destinatario_documento,
        destinatario_nome=item.destinatario_nome,
        valor=item.valor,
        situacao=item.situacao.value,
        cancelada_em=item.cancelada_em.isoformat() if item.cancelada_em else None,
    )


def _too_large(limit: int) -> str:
    return (
        f"O envio passa do limite de {limit // (1024 * 1024)} MB. Divida o lote em ZIPs menores."
    )
