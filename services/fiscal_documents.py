"""Reading a client's stored notes: month listings, counts, one XML, the blobs for a ZIP.

Two doors, one implementation: the chat side passes the acting `Principal` and a client id
(tenancy: another gestor's client is `NotFound`; these are Gerenciar actions, so a contador
gets `Forbidden`), the integration API passes the `ApiClient` its key resolved to (the key
already is the tenancy).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from domain.fiscal import Modelo, Situacao
from services.errors import NotFound, ServiceError
from services.fiscal_ingest import ClientRef
from services.fiscal_prepare import SAO_PAULO, TipoNota, inflate
from services.principal import Principal
from storage.fiscal import MonthFilter
from storage.models import AuditEntry
from storage.uow import UnitOfWork

PAGE_SIZE = 10
MAX_PAGE_SIZE = 500
BLOB_BATCH = 200
_COMPETENCIA = re.compile(r"(\d{4})-(\d{2})")


class InvalidQuery(ServiceError):
    message = "Consulta inválida."


class DocumentNotFound(NotFound):
    message = "Nota não encontrada para este cliente."


class NoteCancelled(ServiceError):
    """`Reconhecer` on a supplier note its issuer cancelled: there is nothing to acknowledge."""

    message = "A nota foi cancelada pelo emitente: uma nota cancelada não é reconhecida."


@dataclass(frozen=True, slots=True)
class DocumentSummary:
    """A stored note as listed: no XML. `valor` is vNF (the note total)."""

    chave: str
    tipo: TipoNota
    modelo: Modelo
    serie: int
    numero: int
    emitida_em: datetime  # aware, in the note's own offset
    competencia: str
    emitente_documento: str
    emitente_nome: str | None
    destinatario_documento: str | None
    destinatario_nome: str | None
    valor: Decimal
    situacao: Situacao
    cancelada_em: datetime | None
    reconhecida_em: datetime | None
    reconhecida_por: str | None
    # Known only by its SEFAZ summary (resNFe): the full XML comes after a manifestação.
    resumo: bool = False
    # protNFe/resNFe dhRecbto (None when not known): the manifestação deadlines count from it
    autorizada_em: datetime | None = None


@dataclass(frozen=True, slots=True)
class DocumentPage:
    """One page of a listing; `canceladas` is how many of the `total` notes are cancelled."""

    items: tuple[DocumentSummary, ...]
    total: int
    page: int
    pages: int
    canceladas: int = 0


@dataclass(frozen=True, slots=True)
class SupplierCounts:
    """The supplier notes by what is left to do with them.

    `pendentes`: not acknowledged and not cancelled (the client's to-do); `reconhecidas`:
    acknowledged (even if cancelled afterwards); `canceladas`: cancelled before anyone
    acknowledged them, so not pending: there is nothing to acknowledge.
    """

    pendentes: int
    reconhecidas: int
    canceladas: int


@dataclass(frozen=True, slots=True)
class MonthCounts:
    """Counts by situação (every situação present, zeros included) and Σ vNF by situação.

    `valor_autorizadas` is the total the reports show: vNF of the authorized notes only
    (cancelled and denied notes are listed, never summed).
    """

    quantidade: dict[Situacao, int]
    valor: dict[Situacao, Decimal]

    @property
    def total(self) -> int:
        return sum(self.quantidade.values())

    @property
    def valor_autorizadas(self) -> Decimal:
        return self.valor[Situacao.AUTORIZADA]


@dataclass(frozen=True, slots=True)
class MonthTotal:
    """A month with notes ('AAAA-MM') and how many: the buttons of `Outro mês`."""

    competencia: str
    notas: int

    @property
    def ano(self) -> int:
        return int(self.competencia[:4])

    @property
    def mes(self) -> int:
        return int(self.competencia[5:])


@dataclass(frozen=True, slots=True)
class XmlFile:
    nome: str
    data: bytes


@dataclass(frozen=True, slots=True)
class CompressedXml:
    """One ZIP member ready to copy: raw deflate bytes, CRC-32 and size of the XML.

    The field names match `domain.fiscal.zipstream.ZipEntry` (`ZipEntry(e.name, e.deflated,
    e.crc32, e.size, e.modified)`); `modified` is the emission in São Paulo wall-clock time.
    """

    name: str
    deflated: bytes
    crc32: int
    size: int
    modified: datetime
    chave: str
    situacao: Situacao
    cancelamento: bool


def parse_competencia(text: str) -> str:
    """'AAAA-MM' → the same text, checked; `InvalidQuery` in pt-BR otherwise."""
    match = _COMPETENCIA.fullmatch(text.strip())
    if match is None or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 2000:
        raise InvalidQuery(f"Competência inválida: {text!r}. Use o formato AAAA-MM, ex. 2026-10.")
    return match.group(0)


def competencia_atual(now: datetime | None = None) -> str:
    """'Mês atual' in São Paulo."""
    return (now or datetime.now(UTC)).astimezone(SAO_PAULO).strftime("%Y-%m")


def competencia_anterior(now: datetime | None = None) -> str:
    """'Mês anterior' in São Paulo."""
    year, month = map(int, competencia_atual(now).split("-"))
    return f"{year - 1}-12" if month == 1 else f"{year}-{month - 1:02d}"


# --- the chat side (principal + client id) ------------------------------------------------


def list_documents(
    uow: UnitOfWork,
    principal: Principal,
    client_id: int,
    *,
    tipo: TipoNota,
    modelo: Modelo | None = None,
    competencia: str | None = None,
    reconhecida: bool | None = None,
    page: int = 1,
    page_size: int = PAGE_SIZE,
    com_resumos: bool = True,
) -> DocumentPage:
    """One page of the client's notes (oldest first); `reconhecida` filters supplier notes;
    `com_resumos=False` leaves out SEFAZ summaries (no XML: not in reports nor ZIPs)."""
    with uow:
        _own_client(uow, principal, client_id)
        where = _filter(client_id, tipo, modelo, competencia, reconhecida, com_resumos)
        found = _page(uow, where, page, page_size)
        canceladas = _counts(uow, where).quantidade[Situacao.CANCELADA] if found.total else 0
        return replace(found, canceladas=canceladas)


def notes_with_xml(
    uow: UnitOfWork,
    principal: Principal,
    client_id: int,
    *,
    tipo: TipoNota,
    modelo: Modelo | None,
    competencia: str | None,
    reconhecida: bool | None = None,
) -> Iterator[tuple[DocumentSummary, bytes]]:
    """Every note of the month as listed, oldest first, with its stored (deflated) XML, for
    a report: tenancy and role checked now; then `BLOB_BATCH` notes per short transaction, so
    neither a transaction nor the month's notes are held (only their ids). SEFAZ summaries
    (no XML) are not notes here."""
    with uow:
        _own_client(uow, principal, client_id)
        where = _filter(client_id, tipo, modelo, competencia, reconhecida, com_resumos=False)
        ids = uow.fiscal.ids_in_order(where)
    return _with_xml(uow, ids)


def _with_xml(uow: UnitOfWork, ids: list[int]) -> Iterator[tuple[DocumentSummary, bytes]]:
    for start in range(0, len(ids), BLOB_BATCH):
        batch = ids[start : start + BLOB_BATCH]
        with uow:
            rows = {row.id: row for row in uow.fiscal.listed_with_xml(batch)}
        for note_id in batch:
            row = rows.get(note_id)
            if row is not None:  # gone meanwhile (an office deleted): not reported
                yield _summary(row), row.xml_deflate


def month_counts(
    uow: UnitOfWork,
    principal: Principal,
    client_id: int,
    *,
    tipo: TipoNota,
    modelo: Modelo | None,
    competencia: str,
) -> MonthCounts:
    """Counts by situação and Σ vNF for a month (what the report's header shows: the notes
    whose XML is stored, never SEFAZ summaries)."""
    with uow:
        _own_client(uow, principal, client_id)
        return _counts(uow, _filter(client_id, tipo, modelo, competencia, None, False))


def months_with_notes(
    uow: UnitOfWork,
    principal: Principal,
    client_id: int,
    *,
    tipo: TipoNota,
    modelo: Modelo | None = None,
) -> tuple[MonthTotal, ...]:
    """Every month in which the client has notes of that kind, newest first, with the count."""
    with uow:
        _own_client(uow, principal, client_id)
        where = _filter(client_id, tipo, modelo, None, None)
        return tuple(MonthTotal(c, n) for c, n in uow.fiscal.month_totals(where))


def supplier_counts(
    uow: UnitOfWork, principal: Principal, client_id: int, *, competencia: str | None = None
) -> SupplierCounts:
    """Pendentes, Reconhecidas and cancelled ones among the client's supplier notes."""
    with uow:
        _own_client(uow, principal, client_id)
        where = _filter(client_id, TipoNota.FORNECEDOR, None, competencia, None)
        return SupplierCounts(*uow.fiscal.acknowledgement_counts(where))


def get_xml(
    uow: UnitOfWork,
    principal: Principal,
    client_id: int,
    chave: str,
    *,
    tipo: TipoNota | None = None,
    cancelamento: bool = False,
) -> XmlFile:
    """The stored XML of one note (or of its cancellation event): `Baixar XML`."""
    with uow:
        _own_client(uow, principal, client_id)
        return _xml(uow, client_id, chave, tipo, cancelamento)


def recognize(
    uow: UnitOfWork, principal: Principal, client_id: int, chave: str
) -> DocumentSummary:
    """`Reconhecer` a pending supplier note: records who and when (audited); idempotent.

    A note cancelled by its issuer is refused (`NoteCancelled`) unless it was acknowledged
    before the cancellation arrived (then this is the idempotent answer).
    """
    now = datetime.now(UTC)
    with uow:
        _own_client(uow, principal, client_id)
        document = uow.fiscal.by_chave(client_id, chave, TipoNota.FORNECEDOR.value)
        if document is None:
            raise DocumentNotFound()
        if document.reconhecida_em is None and document.situacao == Situacao.CANCELADA.value:
            emitente = document.emitente_nome or document.emitente_documento
            raise NoteCancelled(
                f"A nota nº {document.numero} de {emitente} foi cancelada pelo emitente: "
                "uma nota cancelada não tem o que reconhecer (ela não conta como pendente)."
            )
        if document.reconhecida_em is None:
            uow.fiscal.acknowledge(document.id, now, principal.identity_key)
            uow.audit.add(
                AuditEntry(
                    at=now,
                    gestor_id=principal.gestor_id,
                    actor=principal.identity_key,
                    client_id=client_id,
                    action="fiscal.reconhecer",
                    before=None,
                    after={"chave": chave},
                )
            )
            uow.commit()
            return replace(
                _summary(document), reconhecida_em=now, reconhecida_por=principal.identity_key
            )
        return _summary(document)


def compressed_xmls(
    uow: UnitOfWork,
    principal: Principal,
    client_id: int,
    *,
    tipo: TipoNota,
    modelo: Modelo | None,
    competencia: str | None,
    reconhecida: bool | None = None,
    with_cancellations: bool = True,
) -> Iterator[CompressedXml]:
    """The month's XMLs (and cancellation events) for a ZIP, without holding the month.

    Tenancy and role are checked now; the iterator then reads `BLOB_BATCH` notes per short
    transaction (keyset by id), so no transaction stays open while the ZIP is written.
    """
    with uow:
        _own_client(uow, principal, client_id)
    where = _filter(client_id, tipo, modelo, competencia, reconhecida)
    return _iter_blobs(uow, where, with_cancellations)


# --- the integration API (the key's client) -----------------------------------------------


def api_list(
    uow: UnitOfWork,
    client: ClientRef,
    *,
    competencia: str,
    modelo: Modelo,
    tipo: TipoNota = TipoNota.EMITIDA,
    page: int = 1,
    page_size: int = 100,
) -> DocumentPage:
    with uow:
        where = _filter(
            client.client_id, tipo, modelo, parse_competencia(competencia), None, False
        )
        return _page(uow, where, page, page_size)


def api_xml(uow: UnitOfWork, client: ClientRef, chave: str) -> XmlFile:
    with uow:
        return _xml(uow, client.client_id, chave, None, False)


# --- shared -------------------------------------------------------------------------------


def check_client(uow: UnitOfWork, principal: Principal, client_id: int) -> None:
    """Refuse a client that is not this gestor's, or a principal that cannot manage."""
    with uow:
        _own_client(uow, principal, client_id)


def _own_client(uow: UnitOfWork, principal: Principal, client_id: int) -> None:
    principal.require_manage()
    if uow.fiscal.client_of_gestor(principal.gestor_id, client_id) is None:
        raise NotFound()


def _filter(
    client_id: int,
    tipo: TipoNota,
    modelo: Modelo | None,
    competencia: str | None,
    reconhecida: bool | None,
    com_resumos: bool = True,
) -> MonthFilter:
    return MonthFilter(
        client_id=client_id,
        tipo=TipoNota(tipo).value,
        modelo=modelo.value if modelo is not None else None,
        competencia=parse_competencia(competencia) if competencia is not None else None,
        reconhecida=reconhecida,
        com_resumos=com_resumos,
    )


def _page(uow: UnitOfWork, where: MonthFilter, page: int, page_size: int) -> DocumentPage:
    page_size = min(max(1, page_size), MAX_PAGE_SIZE)
    page = max(1, page)
    rows, total = uow.fiscal.page(where, (page - 1) * page_size, page_size)
    pages = max(1, math.ceil(total / page_size))
    return DocumentPage(tuple(_summary(row) for row in rows), total, page, pages)


def _counts(uow: UnitOfWork, where: MonthFilter) -> MonthCounts:
    quantidade = dict.fromkeys(Situacao, 0)
    valor = dict.fromkeys(Situacao, Decimal("0.00"))
    for situacao, count, total in uow.fiscal.counts(where):
        quantidade[Situacao(situacao)] = count
        valor[Situacao(situacao)] = total.quantize(Decimal("0.01"))
    return MonthCounts(quantidade, valor)


def _xml(
    uow: UnitOfWork, client_id: int, chave: str, tipo: TipoNota | None, cancelamento: bool
) -> XmlFile:
    chave = re.sub(r"\s", "", chave)
    document = uow.fiscal.by_chave(client_id, chave, tipo.value if tipo else None)
    if document is None:
        raise DocumentNotFound(f"A nota {chave} não está guardada para este cliente.")
    if document.resumo:
        # the blob is the SEFAZ resNFe, not the note: never handed out as its XML
        raise DocumentNotFound(
            f"Da nota {chave} só há o resumo da SEFAZ (sem XML). O XML completo chega pela "
            "captura depois da Ciência, ou pelo botão Baixar XML completo da nota."
        )
    blob = uow.fiscal.blob(document.id, cancelamento=cancelamento)
    if blob is None:
        raise DocumentNotFound(f"A nota {chave} não tem evento de cancelamento guardado.")
    return XmlFile(_member_name(chave, cancelamento), inflate(blob))


def _iter_blobs(
    uow: UnitOfWork, where: MonthFilter, with_cancellations: bool
) -> Iterator[CompressedXml]:
    for row in _blob_rows(uow, where, 0):
        yield from _members(row, with_cancellations)


def received_xmls(
    uow: UnitOfWork,
    client_id: int,
    *,
    tipo: TipoNota,
    desde: datetime,
    ate: datetime,
    after_id: int = 0,
) -> Iterator[tuple[int, CompressedXml]]:
    """The client's notes received in [desde, ate) by id after `after_id`, with their ids:
    for background work the system does on its own (no person, no tenancy to check)."""
    where = replace(
        _filter(client_id, tipo, None, None, None), recebida_desde=desde, recebida_ate=ate
    )
    for row in _blob_rows(uow, where, after_id):
        yield row.id, next(_members(row, False))


def _blob_rows(uow: UnitOfWork, where: MonthFilter, after: int) -> Iterator[Any]:
    """The notes' rows with their blobs, `BLOB_BATCH` per short transaction (keyset by id)."""
    while True:
        with uow:
            rows = uow.fiscal.blobs_after(where, after, BLOB_BATCH)
        if not rows:
            return
        yield from rows
        after = rows[-1].id


def _members(row: Any, with_cancellations: bool) -> Iterator[CompressedXml]:
    modified = local_time(row.emitida_em, row.emitida_offset_min).replace(tzinfo=None)
    situacao = Situacao(row.situacao)
    yield CompressedXml(
        _member_name(row.chave, False),
        row.xml_deflate,
        row.xml_crc32,
        row.xml_size,
        modified,
        row.chave,
        situacao,
        False,
    )
    if with_cancellations and row.cancelamento_deflate is not None:
        yield CompressedXml(
            _member_name(row.chave, True),
            row.cancelamento_deflate,
            row.cancelamento_crc32,
            row.cancelamento_size,
            modified,
            row.chave,
            situacao,
            True,
        )


def local_time(moment: datetime, offset_min: int | None) -> datetime:
    """A stored dhEmi back in the note's own offset (São Paulo when it was not recorded)."""
    if offset_min is None:
        return moment.astimezone(SAO_PAULO)
    return moment.astimezone(timezone(timedelta(minutes=offset_min)))


def _member_name(chave: str, cancelamento: bool) -> str:
    return f"{chave}-cancelamento.xml" if cancelamento else f"{chave}-nfe.xml"


def _summary(row: Any) -> DocumentSummary:
    return DocumentSummary(
        chave=row.chave,
        tipo=TipoNota(row.tipo),
        modelo=Modelo(row.modelo),
        serie=row.serie,
        numero=row.numero,
        emitida_em=local_time(row.emitida_em, row.emitida_offset_min),
        competencia=row.competencia,
        emitente_documento=row.emitente_documento,
        emitente_nome=row.emitente_nome,
        destinatario_documento=row.destinatario_documento,
        destinatario_nome=row.destinatario_nome,
        valor=Decimal(row.valor),
        situacao=Situacao(row.situacao),
        cancelada_em=row.cancelada_em,
        reconhecida_em=row.reconhecida_em,
        reconhecida_por=row.reconhecida_por,
        resumo=bool(getattr(row, "resumo", False)),
        autorizada_em=getattr(row, "autorizada_em", None),
    )


def supplier_note(
    uow: UnitOfWork, principal: Principal, client_id: int, chave: str
) -> DocumentSummary:
    """One supplier note of the principal's client (Reconhecer / Baixar XML screen)."""
    with uow:
        _own_client(uow, principal, client_id)
        row = uow.fiscal.by_chave(client_id, chave, TipoNota.FORNECEDOR.value)
        if row is None:
            raise DocumentNotFound()
        return _summary(row)
