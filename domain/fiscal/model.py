"""What is read from an NF-e/NFC-e XML: the nota, its protocol and events, and its situação.

Attribute names follow the official tags (`dh_emi` ← `dhEmi`, `v_nf` ← `vNF`, `c_stat` ←
`cStat`) or the domain's word for them (`chave`, `modelo`, `serie`, `numero`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import IntEnum, StrEnum

from domain.fiscal.chave import ChaveAcesso
from domain.fiscal.signature import Assinatura

TP_EVENTO_CANCELAMENTO = "110111"
TP_EVENTO_CANCELAMENTO_SUBSTITUICAO = "110112"
TP_EVENTO_CARTA_CORRECAO = "110110"
TP_EVENTOS_CANCELAMENTO = frozenset({TP_EVENTO_CANCELAMENTO, TP_EVENTO_CANCELAMENTO_SUBSTITUICAO})

CSTAT_AUTORIZADA = frozenset({100, 150})  # 150 = authorized out of time
CSTAT_DENEGADA = frozenset({110, 301, 302, 303})
CSTAT_EVENTO_VINCULADO = frozenset({135, 155})  # event registered and linked to the NF-e

# resNFe/cSitNFe
C_SIT_AUTORIZADA = 1
C_SIT_DENEGADA = 2
C_SIT_CANCELADA = 3


class TipoDocumento(StrEnum):
    """The root element the document was read from."""

    NFE_PROC = "nfeProc"
    NFE = "NFe"
    PROC_EVENTO_NFE = "procEventoNFe"
    RES_NFE = "resNFe"
    RES_EVENTO = "resEvento"


class Modelo(StrEnum):
    NFE = "55"
    NFCE = "65"

    @property
    def label(self) -> str:
        return "NF-e" if self is Modelo.NFE else "NFC-e"


class Ambiente(IntEnum):
    """tpAmb: only production documents have fiscal value."""

    PRODUCAO = 1
    HOMOLOGACAO = 2


class Situacao(StrEnum):
    AUTORIZADA = "autorizada"
    CANCELADA = "cancelada"
    DENEGADA = "denegada"
    NAO_AUTORIZADA = "nao_autorizada"

    @property
    def label(self) -> str:
        return _SITUACAO_LABELS[self]


_SITUACAO_LABELS = {
    Situacao.AUTORIZADA: "Autorizada",
    Situacao.CANCELADA: "Cancelada",
    Situacao.DENEGADA: "Denegada",
    Situacao.NAO_AUTORIZADA: "Não autorizada",
}


@dataclass(frozen=True, slots=True)
class Participante:
    """Emitente or destinatário: CNPJ, CPF or idEstrangeiro (as text), and xNome."""

    cnpj: str | None = None
    cpf: str | None = None
    id_estrangeiro: str | None = None
    x_nome: str | None = None

    @property
    def documento(self) -> str | None:
        return self.cnpj or self.cpf or self.id_estrangeiro


@dataclass(frozen=True, slots=True)
class Item:
    """One `det`: what the reports need (CFOP totals, Σ vProd)."""

    n_item: int
    cfop: str
    v_prod: Decimal
    c_prod: str | None = None
    x_prod: str | None = None


@dataclass(frozen=True, slots=True)
class Protocolo:
    """protNFe/infProt. For a resNFe `c_stat` is None: the summary gives cSitNFe instead."""

    c_stat: int | None
    n_prot: str | None
    dh_recbto: datetime | None
    x_motivo: str | None = None
    tp_amb: Ambiente | None = None
    dig_val: str | None = None  # the DigestValue SEFAZ saw: binds the protocol to this note


@dataclass(frozen=True, slots=True)
class Evento:
    """An event on a nota: the request (evento) and/or SEFAZ's answer (retEvento)."""

    chave: ChaveAcesso
    tp_evento: str
    n_seq_evento: int | None = None
    dh_evento: datetime | None = None
    descricao: str | None = None
    autor: Participante | None = None
    c_stat: int | None = None
    x_motivo: str | None = None
    n_prot: str | None = None
    dh_reg_evento: datetime | None = None
    tp_amb: Ambiente | None = None

    @property
    def registrado(self) -> bool:
        """Registered and linked to the nota (a resEvento is only sent for registered events)."""
        if self.c_stat is None:
            return self.n_prot is not None
        return self.c_stat in CSTAT_EVENTO_VINCULADO

    @property
    def cancela(self) -> bool:
        return self.tp_evento in TP_EVENTOS_CANCELAMENTO and self.registrado


def derive_situacao(
    protocolo: Protocolo | None, eventos: Iterable[Evento] = (), c_sit_nfe: int | None = None
) -> Situacao:
    """The situação from the authorization protocol, the events and (resNFe) cSitNFe."""
    if any(evento.cancela for evento in eventos) or c_sit_nfe == C_SIT_CANCELADA:
        return Situacao.CANCELADA
    if c_sit_nfe == C_SIT_AUTORIZADA:
        return Situacao.AUTORIZADA
    if c_sit_nfe == C_SIT_DENEGADA:
        return Situacao.DENEGADA
    if protocolo is None or protocolo.c_stat is None:
        return Situacao.NAO_AUTORIZADA
    if protocolo.c_stat in CSTAT_AUTORIZADA:
        return Situacao.AUTORIZADA
    if protocolo.c_stat in CSTAT_DENEGADA:
        return Situacao.DENEGADA
    return Situacao.NAO_AUTORIZADA


@dataclass(frozen=True, slots=True)
class NotaFiscal:
    """An NF-e/NFC-e read from nfeProc, a bare NFe or a resNFe summary.

    `v_nf` is the note total (total/ICMSTot/vNF); it differs from Σ `itens.v_prod` whenever
    there is IPI, ST, discount or freight. A resNFe has no items, no recipient and no série
    or número of its own: those come from the key.
    """

    tipo: TipoDocumento
    chave: ChaveAcesso
    modelo: Modelo
    serie: int
    numero: int
    dh_emi: datetime
    emitente: Participante
    destinatario: Participante | None
    v_nf: Decimal
    tp_amb: Ambiente | None
    protocolo: Protocolo | None
    eventos: tuple[Evento, ...] = ()
    itens: tuple[Item, ...] = ()
    assinado: bool = False
    c_sit_nfe: int | None = None
    versao: str | None = None
    avisos: tuple[str, ...] = ()
    # the signature checked against the bytes (None for a resNFe, which carries none)
    assinatura: Assinatura | None = None

    @property
    def situacao(self) -> Situacao:
        return derive_situacao(self.protocolo, self.eventos, self.c_sit_nfe)

    @property
    def total_produtos(self) -> Decimal:
        """Σ det/prod/vProd (not the note total: see `v_nf`)."""
        return sum((item.v_prod for item in self.itens), Decimal(0))


@dataclass(frozen=True, slots=True)
class EventoFiscal:
    """An event document on its own: procEventoNFe or a resEvento summary."""

    tipo: TipoDocumento
    evento: Evento
    assinado: bool = False
    avisos: tuple[str, ...] = ()
    assinatura: Assinatura | None = None

    @property
    def chave(self) -> ChaveAcesso:
        return self.evento.chave


DocumentoFiscal = NotaFiscal | EventoFiscal
