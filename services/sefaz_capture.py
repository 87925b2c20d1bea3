"""Captura: supplier notes fetched from the national distribution service with each client's A1.

Per client with `Captura de notas` on and a certificate valid now: take the lease of its row
(so two instances never ask SEFAZ about one CNPJ at once), then ask page after page
(`distNSU` after the stored `ultNSU`) while the service says there is more, storing each page
and the new `ultNSU`/`maxNSU` in one transaction. The pauses between queries are
`domain.fiscal.distribuicao.proxima_consulta` (NT 2014.002): a CNPJ whose time has not come is
not asked at all. Each document by its schema:
- resNFe: a supplier note "sem XML" (`resumo`), the summary kept as its blob;
- procNFe: verified and stored by the usual ingest (services/fiscal_ingest.py); it replaces its
  summary, keeping an acknowledgement given meanwhile;
- resEvento / procEventoNFe: kept as the note's events; cancellations also through the ingest
  (a resEvento of cancellation marks the note cancelada).
The gestor gets one notice per sweep per client with new notes (muteable: "fornecedores").
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from domain.fiscal import EventoFiscal, FiscalDocumentError, TipoDocumento, parse_document
from domain.fiscal.distribuicao import (
    CSTAT_CONSUMO_INDEVIDO,
    SCHEMA_PROC_EVENTO,
    SCHEMA_PROC_NFE,
    SCHEMA_RES_EVENTO,
    SCHEMA_RES_NFE,
    ResumoNFe,
    ler_res_nfe,
    proxima_consulta,
    schema_base,
)
from domain.fiscal.manifestacao import TipoManifestacao, prazo
from services import notices
from services.certificates import stored_secret
from services.crypto import SecretBox
from services.fiscal_ingest import ImportClient, prepare_file, store
from services.fiscal_prepare import (
    Compressed,
    PreparedNote,
    competencia_of,
    offset_minutes,
)
from services.sefaz import A1, DocumentoDistribuido, SefazGateway, SefazIndisponivel
from storage.sefaz import CaptureTarget
from storage.uow import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)
BRASILIA = ZoneInfo("America/Sao_Paulo")

CAPTURE_JOB = "captura"
NOTICE_KIND = "fornecedores.novas"
MUTE_KIND = "fornecedores"
VIA = "sefaz"
LEASE_TTL = timedelta(minutes=15)
MAX_PAGES = 40  # per CNPJ per sweep: 2,000 documents, then the next sweep goes on
UF_CODES = {
    "RO": "11", "AC": "12", "AM": "13", "RR": "14", "PA": "15", "AP": "16", "TO": "17",
    "MA": "21", "PI": "22", "CE": "23", "RN": "24", "PB": "25", "PE": "26", "AL": "27",
    "SE": "28", "BA": "29", "MG": "31", "ES": "32", "RJ": "33", "SP": "35", "PR": "41",
    "SC": "42", "RS": "43", "MS": "50", "MT": "51", "GO": "52", "DF": "53",
}  # fmt: skip


@dataclass
class ClientCapture:
    """What one client's capture got (the CLI prints it; the notice counts `novas`)."""

    client_id: int
    cnpj: str
    nome: str
    notas: int = 0
    resumos: int = 0
    eventos: int = 0
    recusados: int = 0
    consultas: int = 0
    c_stat: str | None = None
    x_motivo: str | None = None
    proxima: datetime | None = None
    pulada: str | None = None
    erro: str | None = None
    chaves_resumo: list[str] = field(default_factory=list)  # new, Ciência still in time
    por_chave: int = 0  # consChNFe asked for summaries whose XML had not come
    baixados_por_chave: int = 0
    avisado: bool = False  # the gestor's notice of the new notes was published (not muted)

    @property
    def novas(self) -> int:
        return self.notas + self.resumos


@dataclass
class CaptureReport:
    clientes: list[ClientCapture] = field(default_factory=list)

    @property
    def consultas(self) -> int:
        return sum(c.consultas for c in self.clientes)

    @property
    def avisos(self) -> int:
        """Notices published (one per client with new notes, unless its gestor muted them)."""
        return sum(c.avisado for c in self.clientes)


AutoCiencia = Callable[[UnitOfWorkFactory, CaptureTarget, A1, list[str], datetime], int]
# (services/sefaz_download.py) the summaries' XML asked by key: (asked, downloaded)
BaixarPendentes = Callable[[UnitOfWorkFactory, CaptureTarget, A1, datetime], tuple[int, int]]


def capture(
    uow_factory: UnitOfWorkFactory,
    gateway: SefazGateway,
    box: SecretBox,
    *,
    now: datetime,
    holder: str,
    documento: str | None = None,
    max_pages: int = MAX_PAGES,
    auto_ciencia: AutoCiencia | None = None,
    baixar_pendentes: BaixarPendentes | None = None,
) -> CaptureReport:
    """Run the capture for every client due (or only `documento`); never raises per client."""
    uow = uow_factory()
    with uow:
        targets = uow.sefaz.targets(now, documento)
    report = CaptureReport()
    for target in targets:
        result = ClientCapture(target.client_id, target.cnpj, target.nome)
        report.clientes.append(result)
        if target.proxima_consulta_em is not None and target.proxima_consulta_em > now:
            result.pulada = "aguardando"
            result.proxima = target.proxima_consulta_em
            continue
        if not _take(uow_factory, target, holder, now):
            result.pulada = "em uso por outra instância"
            continue
        try:
            a1 = a1_of(uow_factory, box, target.client_id)
            if a1 is None:
                result.erro = "Cliente sem certificado A1."
                continue
            _capture_client(uow_factory, gateway, a1, target, result, now, max_pages)
            if auto_ciencia is not None and target.ciencia_automatica and result.chaves_resumo:
                auto_ciencia(uow_factory, target, a1, result.chaves_resumo, now)
            if (
                baixar_pendentes is not None
                and result.erro is None
                and result.c_stat != CSTAT_CONSUMO_INDEVIDO
            ):
                asked, got = baixar_pendentes(uow_factory, target, a1, now)
                result.por_chave, result.baixados_por_chave = asked, got
        except SefazIndisponivel as error:  # the automatic Ciência's calls
            result.erro = error.message
        except Exception:  # one client's failure must not stop the others' capture
            log.exception("SEFAZ capture of client %s failed", target.client_id)
            result.erro = "Falha inesperada; a captura deste cliente tenta de novo na próxima vez."
        finally:
            _release(uow_factory, target, holder)
        if result.novas:
            result.avisado = _notify(uow_factory, target, result)
    return report


def _take(
    uow_factory: UnitOfWorkFactory, target: CaptureTarget, holder: str, now: datetime
) -> bool:
    uow = uow_factory()
    with uow:
        taken = uow.sefaz.take(target.cursor_id, holder, now, LEASE_TTL)
        uow.commit()
        return taken


def _release(uow_factory: UnitOfWorkFactory, target: CaptureTarget, holder: str) -> None:
    uow = uow_factory()
    with uow:
        uow.sefaz.release(target.cursor_id, holder)
        uow.commit()


def a1_of(uow_factory: UnitOfWorkFactory, box: SecretBox, client_id: int) -> A1 | None:
    secret = stored_secret(uow_factory(), box, client_id)
    return A1(*secret) if secret is not None else None


def _capture_client(
    uow_factory: UnitOfWorkFactory,
    gateway: SefazGateway,
    a1: A1,
    target: CaptureTarget,
    result: ClientCapture,
    now: datetime,
    max_pages: int,
) -> None:
    uow = uow_factory()
    with uow:
        cursor = uow.sefaz.cursor(target.client_id)
        ult_nsu = cursor.ult_nsu if cursor is not None else "0" * 15
    for _ in range(max_pages):
        try:
            ret = gateway.distribuicao(
                a1, cnpj=target.cnpj, uf_autor=UF_CODES.get(target.uf, "35"), ult_nsu=ult_nsu
            )
        except SefazIndisponivel as error:
            result.erro = error.message
            return
        result.consultas += 1
        result.c_stat, result.x_motivo = ret.c_stat, ret.x_motivo
        proxima = proxima_consulta(ret.c_stat, ret.ult_nsu, ret.max_nsu, now)
        result.proxima = proxima
        uow = uow_factory()
        with uow:
            store_page(uow, target, ret.documentos, result, now)
            values: dict[str, Any] = {
                "ult_nsu": ret.ult_nsu if ret.c_stat != CSTAT_CONSUMO_INDEVIDO else ult_nsu,
                "max_nsu": ret.max_nsu,
                "ultimo_c_stat": ret.c_stat,
                "ultimo_x_motivo": ret.x_motivo[:255],
                "ultima_consulta_em": now,
                "proxima_consulta_em": proxima,
            }
            if ret.c_stat == CSTAT_CONSUMO_INDEVIDO:
                values["bloqueado_656_em"] = now
                log.warning("SEFAZ 656 (consumo indevido) for client %s", target.client_id)
            uow.sefaz.record_answer(target.cursor_id, **values)
            uow.commit()
        if ret.c_stat != CSTAT_CONSUMO_INDEVIDO:
            ult_nsu = ret.ult_nsu
        if proxima > now:
            return


def store_page(
    uow: UnitOfWork,
    target: CaptureTarget,
    documentos: tuple[DocumentoDistribuido, ...],
    result: ClientCapture,
    now: datetime,
) -> None:
    resumos: list[tuple[ResumoNFe, bytes]] = []
    completos = []
    eventos: list[tuple[EventoFiscal, bytes]] = []
    for doc in documentos:
        nome = f"NSU {doc.nsu} ({doc.schema})"
        base = schema_base(doc.schema)
        try:
            if base == SCHEMA_RES_NFE:
                resumos.append((ler_res_nfe(doc.xml), doc.xml))
            elif base == SCHEMA_PROC_NFE:
                completos.append(prepare_file(nome, doc.xml, target.cnpj, check_xsd=False))
            elif base in (SCHEMA_RES_EVENTO, SCHEMA_PROC_EVENTO):
                parsed = parse_document(doc.xml)
                if not isinstance(parsed, EventoFiscal):
                    raise FiscalDocumentError("Esperava um evento.")
                eventos.append((parsed, doc.xml))
                if parsed.tipo is TipoDocumento.PROC_EVENTO_NFE and parsed.evento.cancela:
                    completos.append(prepare_file(nome, doc.xml, target.cnpj, check_xsd=False))
            else:
                log.info("SEFAZ document of schema %s ignored", doc.schema)
        except FiscalDocumentError as error:
            result.recusados += 1
            log.warning("SEFAZ document %s refused: %s", nome, error.message)
    client = ImportClient(target.client_id, target.gestor_id, target.cnpj, target.nome)
    with uow:
        full_keys = {p.nota.chave.valor for p in completos if isinstance(p, PreparedNote)}
        replaced = uow.sefaz.summaries(target.client_id, full_keys)
        uow.sefaz.drop_summaries([row.id for row in replaced.values()])
        report = store(uow, client, completos, via=VIA)
        for chave, row in replaced.items():
            if row.reconhecida_em is not None:
                uow.sefaz.acknowledge(
                    target.client_id, chave, row.reconhecida_em, row.reconhecida_por
                )
        result.notas += report.carregados  # a full note replacing its summary counts too
        result.recusados += report.recusados
        _store_summaries(uow, target, resumos, result, now)
        for evento, xml in eventos:
            _store_event(uow, target, evento, xml, now, result)


def _store_summaries(
    uow: UnitOfWork,
    target: CaptureTarget,
    resumos: list[tuple[ResumoNFe, bytes]],
    result: ClientCapture,
    now: datetime,
) -> None:
    if not resumos:
        return
    rows = []
    for resumo, xml in resumos:
        blob = Compressed.of(xml)
        chave = resumo.chave
        rows.append(
            {
                "client_id": target.client_id,
                "tipo": "fornecedor",
                "modelo": chave[20:22],
                "chave": chave,
                "serie": int(chave[22:25]),
                "numero": int(chave[25:34]),
                "emitida_em": resumo.emitida_em,
                "emitida_offset_min": offset_minutes(resumo.emitida_em),
                "competencia": competencia_of(resumo.emitida_em),
                "emitente_documento": resumo.emitente_documento,
                "emitente_nome": resumo.emitente_nome or None,
                "destinatario_documento": target.cnpj,
                "destinatario_nome": target.nome[:120],
                "valor": resumo.valor,
                "situacao": resumo.situacao,
                "protocolo": resumo.protocolo,
                "autorizada_em": resumo.autorizada_em,
                "cancelada_em": None,
                "reconhecida_em": None,
                "reconhecida_por": None,
                "recebida_em": now,
                "recebida_via": VIA,
                "resumo": True,
                "xml_deflate": blob.deflated,
                "xml_crc32": blob.crc32,
                "xml_size": blob.size,
                "cancelamento_deflate": None,
                "cancelamento_crc32": None,
                "cancelamento_size": None,
            }
        )
    inserted = uow.fiscal.insert_many(rows)
    by_chave = {resumo.chave: resumo for resumo, _xml in resumos}
    hoje = now.astimezone(BRASILIA).date()
    for chave, _tipo in inserted:
        result.resumos += 1
        resumo = by_chave[chave]
        desde = (resumo.autorizada_em or resumo.emitida_em).astimezone(BRASILIA).date()
        # the automatic Ciência only while its deadline is open (past it SEFAZ answers 596)
        if prazo(desde, hoje, TipoManifestacao.CIENCIA).dias >= 0:
            result.chaves_resumo.append(chave)


def _store_event(
    uow: UnitOfWork,
    target: CaptureTarget,
    parsed: EventoFiscal,
    xml: bytes,
    now: datetime,
    result: ClientCapture,
) -> None:
    evento = parsed.evento
    blob = Compressed.of(xml)
    added = uow.sefaz.add_event(
        {
            "client_id": target.client_id,
            "chave": evento.chave.valor,
            "tp_evento": evento.tp_evento,
            "n_seq": evento.n_seq_evento or 1,
            "descricao": (evento.descricao or evento.tp_evento)[:120],
            "c_stat": str(evento.c_stat) if evento.c_stat is not None else None,
            "protocolo": evento.n_prot,
            "registrado_em": evento.dh_reg_evento or evento.dh_evento or now,
            "origem": "captura",
            "enviado_por": None,
            "xml_crc32": blob.crc32,
            "xml_size": blob.size,
            "xml_deflate": blob.deflated,
        }
    )
    if added:
        result.eventos += 1
    if parsed.tipo is TipoDocumento.RES_EVENTO and evento.cancela:
        for (_chave, tipo), stored in uow.fiscal.existing(
            target.client_id, {evento.chave.valor}
        ).items():
            if tipo == "fornecedor" and stored.situacao != "cancelada":
                uow.fiscal.cancel(stored.id, cancelada_em=evento.dh_reg_evento or evento.dh_evento)


def _notify(uow_factory: UnitOfWorkFactory, target: CaptureTarget, result: ClientCapture) -> bool:
    """Publish the new notes' notice; False when its gestor muted them."""
    uow = uow_factory()
    with uow:
        if MUTE_KIND in uow.notice_mutes.of_gestor(target.gestor_id):
            return False
        notices.publish(
            uow,
            target.gestor_id,
            NOTICE_KIND,
            {"client_id": target.client_id, "nome": target.nome, "quantidade": result.novas},
        )
        uow.commit()
        return True
