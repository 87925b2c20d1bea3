"""Deciding, without the database, what an incoming XML is for a client and whether it is kept.

Rules (DOMAIN.md):
- the emitente's CNPJ/CPF equal to the client's → `emitida`; the destinatário's → `fornecedor`
  (NF-e only: an NFC-e goes to a final consumer, never to a company as a supplier note);
  neither → refused as a document of another CNPJ;
- only the legal file is kept: an `nfeProc` whose protocol says authorized (100/150) or denied
  (110/301/302/303), signed, issued in production. A bare `NFe` (signed or not, without SEFAZ's
  protocol) is refused rather than stored as "não autorizada": it is not a legal file, it would
  have to be replaced by the nfeProc later anyway, and keeping it would put a non-legal file in
  the accountant's ZIP. The same for a homologação note (no fiscal value) and an nfeProc without
  the signature (edited after issue);
- events: only registered cancellations (110111/110112 with cStat 135/155) are kept; they mark
  the stored note cancelada. Other events (carta de correção, manifestação) are refused with the
  reason, as are resNFe/resEvento summaries (not the full XML).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from domain.fiscal import (
    Ambiente,
    EventoFiscal,
    FiscalDocumentError,
    InvalidKeyError,
    KeyMismatchError,
    MalformedXmlError,
    Modelo,
    NotaFiscal,
    Situacao,
    TipoDocumento,
    UnsupportedDocumentError,
    WrongNamespaceError,
)
from domain.fiscal.errors import DangerousXmlError, DocumentTooLargeError, XmlEncodingError
from domain.fiscal.parser import read_document
from domain.fiscal.safe_xml import MAX_XML_BYTES, load_xml
from domain.fiscal.xsd import xsd_warnings_of

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
DEFLATE_LEVEL = 1  # level 6 saves ~3% of space for ~50% more CPU on NF-e XML
KEPT_SITUACOES = frozenset({Situacao.AUTORIZADA, Situacao.CANCELADA, Situacao.DENEGADA})


class TipoNota(StrEnum):
    """Which side of the note the client is on."""

    EMITIDA = "emitida"
    FORNECEDOR = "fornecedor"

    @property
    def label(self) -> str:
        return "XMLs emitidos" if self is TipoNota.EMITIDA else "XMLs de fornecedores"


class Status(StrEnum):
    """What happened to one incoming file."""

    CARREGADO = "carregado"
    DUPLICADO = "duplicado"
    CANCELAMENTO = "cancelamento"  # a cancellation was recorded on a stored note
    RECUSADO = "recusado"
    IGNORADO = "ignorado"  # not an XML (a DANFE PDF in a ZIP, a folder entry…)


@dataclass(frozen=True, slots=True)
class Outcome:
    """One file's result; `motivo` is pt-BR and says what to do when it was refused."""

    nome: str
    status: Status
    motivo: str | None = None
    codigo: str | None = None  # machine-readable refusal: outro_cnpj, nao_autorizada, …
    chave: str | None = None
    tipo: TipoNota | None = None
    modelo: str | None = None
    situacao: Situacao | None = None
    avisos: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Compressed:
    """Raw deflate bytes with the CRC-32 and size of the original: a ZIP member's payload."""

    deflated: bytes
    crc32: int
    size: int

    @classmethod
    def of(cls, data: bytes) -> Compressed:
        compressor = zlib.compressobj(DEFLATE_LEVEL, zlib.DEFLATED, -15)
        return cls(compressor.compress(data) + compressor.flush(), zlib.crc32(data), len(data))

    def inflate(self) -> bytes:
        return inflate(self.deflated)


def inflate(deflated: bytes) -> bytes:
    return zlib.decompress(deflated, -15)


@dataclass(slots=True)
class PreparedNote:
    nome: str
    tipo: TipoNota
    nota: NotaFiscal
    xml: Compressed
    avisos: tuple[str, ...]
    cancelada_em: datetime | None = None

    def row(self, client_id: int, now: datetime, via: str) -> dict[str, Any]:
        nota = self.nota
        dest = nota.destinatario
        return {
            "client_id": client_id,
            "tipo": self.tipo.value,
            "modelo": nota.modelo.value,
            "chave": nota.chave.valor,
            "serie": nota.serie,
            "numero": nota.numero,
            "emitida_em": nota.dh_emi,
            "emitida_offset_min": offset_minutes(nota.dh_emi),
            "competencia": competencia_of(nota.dh_emi),
            "emitente_documento": nota.emitente.documento or "",
            "emitente_nome": _cut(nota.emitente.x_nome),
            "destinatario_documento": dest.documento if dest else None,
            "destinatario_nome": _cut(dest.x_nome) if dest else None,
            "valor": nota.v_nf,
            "situacao": nota.situacao.value,
            "protocolo": nota.protocolo.n_prot if nota.protocolo else None,
            "autorizada_em": nota.protocolo.dh_recbto if nota.protocolo else None,
            "cancelada_em": self.cancelada_em,
            "reconhecida_em": None,
            "reconhecida_por": None,
            "recebida_em": now,
            "recebida_via": via,
            "xml_deflate": self.xml.deflated,
            "xml_crc32": self.xml.crc32,
            "xml_size": self.xml.size,
            "cancelamento_deflate": None,
            "cancelamento_crc32": None,
            "cancelamento_size": None,
        }

    def outcome(self, status: Status) -> Outcome:
        return Outcome(
            self.nome,
            status,
            chave=self.nota.chave.valor,
            tipo=self.tipo,
            modelo=self.nota.modelo.value,
            situacao=Situacao.CANCELADA if status is Status.CANCELAMENTO else self.nota.situacao,
            avisos=self.avisos,
        )


@dataclass(slots=True)
class PreparedEvent:
    nome: str
    evento: EventoFiscal
    xml: Compressed
    avisos: tuple[str, ...] = field(default=())

    @property
    def chave(self) -> str:
        return self.evento.chave.valor

    def outcome(self, status: Status, tipo: TipoNota | None = None) -> Outcome:
        return Outcome(
            self.nome,
            status,
            chave=self.chave,
            tipo=tipo,
            modelo=self.evento.chave.modelo,
            situacao=Situacao.CANCELADA,
            avisos=self.avisos,
        )


Prepared = PreparedNote | PreparedEvent | Outcome


def competencia_of(moment: datetime) -> str:
    """'AAAA-MM' of the note's own dhEmi, in its own offset: the month the note says, which is
    also the AAMM of its key (30/11 23:30 -04:00 in Manaus is November, whatever São Paulo's
    clock says)."""
    return moment.strftime("%Y-%m")


def offset_minutes(moment: datetime) -> int:
    """The UTC offset of dhEmi in minutes (-180 for Brasília), kept to show the note's own
    local time and day."""
    offset = moment.utcoffset()
    return int(offset.total_seconds() // 60) if offset is not None else 0


def prepare(
    nome: str,
    data: bytes,
    client_documento: str,
    *,
    max_bytes: int = MAX_XML_BYTES,
    check_xsd: bool = False,
) -> Prepared:
    """Read and classify one XML for the client: a note or event to store, or a refusal."""
    try:
        root = load_xml(data, max_bytes)
        # One parse for both: the XSD sees the tree as parsed, before the signature check.
        xsd = xsd_warnings_of(root) if check_xsd else ()
        documento = read_document(root)
    except FiscalDocumentError as exc:
        return refused(nome, _error_code(exc), exc.message)
    avisos = documento.avisos + xsd
    if isinstance(documento, EventoFiscal):
        return _prepare_event(nome, documento, data, avisos)
    return _prepare_note(nome, documento, data, client_documento, avisos)


def refused(nome: str, codigo: str, motivo: str, chave: str | None = None) -> Outcome:
    return Outcome(nome, Status.RECUSADO, motivo=motivo, codigo=codigo, chave=chave)


def _prepare_note(
    nome: str, nota: NotaFiscal, data: bytes, client: str, avisos: tuple[str, ...]
) -> Prepared:
    chave = nota.chave.valor
    numero = f"{nota.modelo.label} nº {nota.numero} (série {nota.serie})"
    if nota.tipo is TipoDocumento.RES_NFE:
        return refused(
            nome,
            "resumo",
            f"O arquivo é só o resumo (resNFe) da {numero}, vindo da distribuição da SEFAZ, e "
            "não o XML completo. Baixe o XML completo da nota (nfeProc) e envie-o.",
            chave,
        )
    if nota.protocolo is not None and nota.assinatura is not None:
        problema = nota.assinatura.problema
        if problema is not None:
            motivo = f"A {numero} foi recusada porque {problema}"
            return refused(nome, nota.assinatura.codigo, motivo, chave)
    tipo = _place(nota, client)
    if tipo is None:
        dest = nota.destinatario.documento if nota.destinatario else None
        return refused(
            nome,
            "outro_cnpj",
            f"Documento de outro CNPJ: a {numero} foi emitida por {nota.emitente.documento}"
            + (f" para {dest}" if dest else "")
            + f", e nenhum dos dois é o CNPJ/CPF deste cliente ({client}).",
            chave,
        )
    if tipo is TipoNota.FORNECEDOR and nota.modelo is Modelo.NFCE:
        return refused(
            nome,
            "nfce_fornecedor",
            f"A {numero} é uma NFC-e (modelo 65), nota de venda ao consumidor final: ela não "
            "entra como nota de fornecedor. Só NF-e (modelo 55) são notas de fornecedor.",
            chave,
        )
    if nota.tp_amb is Ambiente.HOMOLOGACAO:
        return refused(
            nome,
            "homologacao",
            f"A {numero} foi emitida em homologação (ambiente de testes, tpAmb=2) e não tem "
            "valor fiscal: ela não é guardada.",
            chave,
        )
    if nota.tipo is TipoDocumento.NFE or nota.protocolo is None:
        assinatura = "assinada" if nota.assinado else "nem assinada"
        return refused(
            nome,
            "nao_autorizada",
            f"A {numero} não tem o protocolo de autorização da SEFAZ: o arquivo é só a nota "
            f"({assinatura}), sem o nfeProc. Envie o XML autorizado (nfeProc), que o emissor "
            "gera depois da autorização.",
            chave,
        )
    if nota.situacao not in KEPT_SITUACOES:
        protocolo = nota.protocolo
        return refused(
            nome,
            "nao_autorizada",
            f"A SEFAZ não autorizou a {numero} (cStat {protocolo.c_stat}"
            + (f": {protocolo.x_motivo}" if protocolo.x_motivo else "")
            + "). Só notas autorizadas, canceladas ou denegadas são guardadas.",
            chave,
        )
    cancelamento = next((evento for evento in nota.eventos if evento.cancela), None)
    cancelada_em = (cancelamento.dh_reg_evento or cancelamento.dh_evento) if cancelamento else None
    return PreparedNote(nome, tipo, nota, Compressed.of(data), avisos, cancelada_em)


def _prepare_event(
    nome: str, evento_fiscal: EventoFiscal, data: bytes, avisos: tuple[str, ...]
) -> Prepared:
    evento = evento_fiscal.evento
    chave = evento.chave.valor
    if evento_fiscal.tipo is TipoDocumento.RES_EVENTO:
        return refused(
            nome,
            "resumo",
            f"O arquivo é só o resumo (resEvento) de um evento da nota {chave}. Envie o XML "
            "completo do evento (procEventoNFe).",
            chave,
        )
    assinatura = evento_fiscal.assinatura
    if assinatura is not None and assinatura.problema is not None:
        return refused(
            nome,
            assinatura.codigo,
            f"O evento {evento.descricao or evento.tp_evento} da nota {chave} foi recusado "
            f"porque {assinatura.problema}",
            chave,
        )
    if evento.tp_evento not in ("110111", "110112"):
        descricao = evento.descricao or f"tipo {evento.tp_evento}"
        return refused(
            nome,
            "evento_nao_suportado",
            f"O evento {descricao} ({evento.tp_evento}) da nota {chave} não altera a situação "
            "da nota: só eventos de cancelamento (110111 e 110112) são guardados.",
            chave,
        )
    if not evento.registrado:
        return refused(
            nome,
            "evento_nao_registrado",
            f"O cancelamento da nota {chave} não foi registrado pela SEFAZ (cStat "
            f"{evento.c_stat or 'ausente'}): a nota continua autorizada.",
            chave,
        )
    if evento.tp_amb is Ambiente.HOMOLOGACAO:
        return refused(
            nome,
            "homologacao",
            f"O cancelamento da nota {chave} foi feito em homologação (ambiente de testes) e "
            "não tem valor fiscal.",
            chave,
        )
    return PreparedEvent(nome, evento_fiscal, Compressed.of(data), avisos)


def _place(nota: NotaFiscal, client: str) -> TipoNota | None:
    if nota.emitente.documento == client:
        return TipoNota.EMITIDA
    if nota.destinatario is not None and nota.destinatario.documento == client:
        return TipoNota.FORNECEDOR
    return None


_ERROR_CODES: tuple[tuple[type[FiscalDocumentError], str], ...] = (
    (DocumentTooLargeError, "muito_grande"),
    (DangerousXmlError, "xml_perigoso"),
    (XmlEncodingError, "codificacao"),
    (MalformedXmlError, "xml_invalido"),
    (InvalidKeyError, "chave_invalida"),
    (KeyMismatchError, "chave_divergente"),
    (WrongNamespaceError, "namespace_errado"),
    (UnsupportedDocumentError, "documento_nao_suportado"),
)


def _error_code(exc: FiscalDocumentError) -> str:
    return next((code for kind, code in _ERROR_CODES if isinstance(exc, kind)), "xml_invalido")


def _cut(text: str | None, size: int = 120) -> str | None:
    return text[:size] if text else text
