"""Integration API, fiscal documents: send XMLs (one or a ZIP), list a month, fetch one XML.

An upload comes as the raw body (its Content-Type says XML, ZIP or octet-stream) or as a
multipart form with the file in the `arquivo` field; both are size-capped while being read and
then processed the same way.

Each document of a ZIP is accepted or refused on its own; the accepted ones are written in one
transaction at the end of the request (an unexpected failure writes none). The summary lists
every file with its status and, when refused, the reason in pt-BR.

Reading the XMLs (parse, checks, compression) is CPU work done in the prepare pool's worker
processes, off the event loop, so concurrent senders overlap; a single XML's transaction
then holds only its few statements.

No `from __future__ import annotations` here: FastAPI reads the route annotations at run time.
"""

from collections.abc import AsyncGenerator, Awaitable, Callable
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartParser

from domain.fiscal import MAX_XML_BYTES, Modelo
from domain.fiscal.chave import parse_chave
from domain.fiscal.errors import InvalidKeyError
from domain.fiscal.zipsafe import ZipLimits, looks_like_zip
from services import fiscal_documents, fiscal_ingest
from services.fiscal_documents import MAX_PAGE_SIZE, DocumentSummary, InvalidQuery
from services.fiscal_group import NoteWriter
from services.fiscal_ingest import IngestReport
from services.fiscal_prepare import PreparedNote, Status, TipoNota
from services.integration_keys import ApiClient
from services.prepare_pool import PreparePool
from services.types import UnitOfWorkFactory
from web.api_errors import FORM_FIELD, Erro, error_responses

MAX_ZIP_BODY = 50 * 1024 * 1024
# Room for the multipart boundaries and part headers around a file of MAX_ZIP_BODY.
FORM_OVERHEAD = 64 * 1024
MAX_PAGE = 1_000_000
XML_TYPES = frozenset({"application/xml", "text/xml"})
ZIP_TYPES = frozenset({"application/zip", "application/x-zip-compressed"})
ANY_TYPES = frozenset({"application/octet-stream"})
FORM_TYPE = "multipart/form-data"
WRONG_TYPE = (
    "Envie o XML (application/xml), um ZIP de XMLs (application/zip) ou um formulário "
    f"multipart com o arquivo no campo {FORM_FIELD} (curl -F {FORM_FIELD}=@nota.xml)."
)
EMPTY = "O envio está vazio: envie o XML ou o ZIP."
NO_FILE = (
    f"O formulário não tem o campo {FORM_FIELD} com um arquivo. Envie o XML ou o ZIP nele "
    f"(ex. curl -F {FORM_FIELD}=@nota.xml)."
)
CHAVE_HINT = (
    "A chave de acesso da nota: os 44 caracteres da tag chNFe do XML, sem espaços (letras "
    "maiúsculas só nas posições 7 a 18, as do CNPJ alfanumérico)."
)
CHAVE_PATTERN = r"^[0-9]{6}[A-Z0-9]{12}[0-9]{26}$"
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


class XmlRecusado(ResumoEnvio):
    """A single XML refused: the reason in `detail`, its code, and the usual summary."""

    detail: str
    codigo: str


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


_BINARY = {"schema": {"type": "string", "format": "binary"}}
_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": (
            "Um XML (nfeProc ou procEventoNFe de cancelamento) ou um ZIP de XMLs: no corpo, "
            f"com o Content-Type do arquivo, ou num formulário multipart no campo {FORM_FIELD} "
            f"(curl -F {FORM_FIELD}=@nota.xml). Limites: 5 MB por XML, 50 MB por envio."
        ),
        "content": {
            "application/xml": {"schema": {"type": "string"}},
            "text/xml": {"schema": {"type": "string"}},
            "application/zip": _BINARY,
            "application/octet-stream": _BINARY,
            FORM_TYPE: {
                "schema": {
                    "type": "object",
                    "required": [FORM_FIELD],
                    "properties": {
                        FORM_FIELD: {
                            "type": "string",
                            "format": "binary",
                            "description": "O XML ou o ZIP de XMLs",
                        }
                    },
                }
            },
        },
    }
}
# A refused upload is a plain error, or (a single XML) the error plus the usual summary.
_UPLOAD_REFUSED = Erro | XmlRecusado


def documentos_router(
    uow_factory: UnitOfWorkFactory,
    client_dependency: Callable[..., Awaitable[ApiClient]],
    pool: PreparePool,
) -> APIRouter:
    router = APIRouter(tags=["documentos fiscais"])
    writer = NoteWriter(uow_factory)  # concurrent single-XML requests commit together
    Client = Annotated[ApiClient, Depends(client_dependency)]

    @router.post(
        "/documentos",
        summary="Enviar XMLs (um XML ou um ZIP de XMLs)",
        response_model=ResumoEnvio,
        openapi_extra=_UPLOAD_BODY,
        responses={
            200: {"description": "Um ZIP, ou um XML já guardado (duplicado)"},
            201: {"model": ResumoEnvio, "description": "Um XML, guardado"},
            **error_responses(415),
            413: {"model": _UPLOAD_REFUSED, "description": "Arquivo ou ZIP acima dos limites"},
            422: {
                "model": _UPLOAD_REFUSED,
                "description": "XML recusado (o motivo em `detail`), ZIP inválido ou envio vazio",
            },
        },
    )
    async def enviar(request: Request, client: Client) -> JSONResponse:
        data = await _upload(request)
        if looks_like_zip(data):
            report = await run_in_threadpool(_ingest_zip, uow_factory, pool, client, data)
            return _answer(report, single=False)
        report = await _ingest_one(uow_factory, pool, writer, client, data)
        return _answer(report, single=True)

    @router.get(
        "/documentos",
        summary="Listar as notas de um mês",
        response_model=PaginaDocumentos,
        responses=error_responses(422, descriptions={422: "Parâmetro inválido ou ausente"}),
    )
    def listar(
        client: Client,
        competencia: Annotated[
            str,
            Query(
                description="Mês das notas, no formato AAAA-MM (ex. 2026-10).",
                pattern=r"^2[0-9]{3}-(0[1-9]|1[0-2])$",
            ),
        ],
        modelo: Annotated[Modelo, Query(description="Modelo: 55 (NF-e) ou 65 (NFC-e).")],
        tipo: Annotated[
            TipoNota,
            Query(description="Notas emitidas ou recebidas: emitida ou fornecedor."),
        ] = TipoNota.EMITIDA,
        pagina: Annotated[
            int, Query(description=f"Página, de 1 a {MAX_PAGE}.", ge=1, le=MAX_PAGE)
        ] = 1,
        por_pagina: Annotated[
            int,
            Query(
                description=f"Notas por página, de 1 a {MAX_PAGE_SIZE}.", ge=1, le=MAX_PAGE_SIZE
            ),
        ] = 100,
    ) -> PaginaDocumentos:
        page = fiscal_documents.api_list(
            uow_factory(),
            client,
            competencia=competencia,
            modelo=modelo,
            tipo=tipo,
            page=pagina,
            page_size=por_pagina,
        )
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
            **error_responses(404, 422, descriptions={404: "Nota não guardada para este cliente"}),
        },
    )
    def baixar(
        chave: Annotated[str, Path(description=CHAVE_HINT, pattern=CHAVE_PATTERN)],
        client: Client,
    ) -> Response:
        xml = fiscal_documents.api_xml(uow_factory(), client, _chave(chave))
        return Response(
            xml.data,
            media_type="application/xml",
            headers={"Content-Disposition": f'attachment; filename="{xml.nome}"'},
        )

    return router


async def _upload(request: Request) -> bytes:
    """The file sent: the raw body, or the `arquivo` field of a multipart form; size-capped."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == FORM_TYPE:
        data = await _form_file(request)
    elif kind in XML_TYPES:
        data = b"".join([chunk async for chunk in _capped(request, MAX_XML_BYTES)])
    elif kind in ZIP_TYPES | ANY_TYPES:
        data = b"".join([chunk async for chunk in _capped(request, MAX_ZIP_BODY)])
    else:
        raise HTTPException(415, WRONG_TYPE)
    if not data.strip():
        raise HTTPException(422, EMPTY)
    return data


async def _form_file(request: Request) -> bytes:
    # The parser reads the capped stream and spools the file (to disk beyond 1 MB), so an
    # oversized form stops at the cap instead of being held in memory.
    stream = _capped(request, MAX_ZIP_BODY + FORM_OVERHEAD)
    form = await MultiPartParser(request.headers, stream, max_files=1, max_fields=10).parse()
    try:
        upload = form.get(FORM_FIELD)
        if not isinstance(upload, UploadFile):
            raise HTTPException(422, NO_FILE)
        data = await upload.read(MAX_ZIP_BODY + 1)
    finally:
        await form.close()
    if len(data) > MAX_ZIP_BODY:
        raise HTTPException(413, _too_large(MAX_ZIP_BODY))
    return data


async def _capped(request: Request, limit: int) -> AsyncGenerator[bytes]:
    """The request body in chunks, refused with 413 as soon as it passes `limit` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, _too_large(limit))
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, _too_large(limit))
        yield chunk


async def _ingest_one(
    uow_factory: UnitOfWorkFactory,
    pool: PreparePool,
    writer: NoteWriter,
    client: ApiClient,
    body: bytes,
) -> IngestReport:
    """One XML: read in a worker process, then written (a note with the concurrent ones)."""
    prepared = await pool.run(
        fiscal_ingest.prepare_file, "documento.xml", body, client.documento, check_xsd=True
    )
    if isinstance(prepared, PreparedNote):
        return await run_in_threadpool(writer.store, client, prepared, via="api")
    return await run_in_threadpool(
        fiscal_ingest.store, uow_factory(), client, [prepared], via="api"
    )


def _ingest_zip(
    uow_factory: UnitOfWorkFactory, pool: PreparePool, client: ApiClient, body: bytes
) -> IngestReport:
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
            pool=pool,
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


# What is wrong with a key that has the right layout (the path pattern checks size and layout).
_CHAVE_PROBLEM = {
    "uf": "o código de UF (posições 1-2) não existe",
    "mes": "o mês (posições 5-6) não existe",
    "modelo": "o modelo (posições 21-22) não é 55 nem 65",
    "tp_emis": "o tipo de emissão (posição 35) é 0",
    "dv": "o dígito verificador (posição 44) não confere",
}


def _chave(text: str) -> str:
    try:
        return parse_chave(text).valor
    except InvalidKeyError as exc:
        problem = _CHAVE_PROBLEM.get(exc.reason, "ela não segue o formato")
        raise InvalidQuery(
            f"A chave de acesso {text} é inválida: {problem}. Copie de novo a chave da tag "
            "chNFe do XML ou do DANFE."
        ) from None


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
