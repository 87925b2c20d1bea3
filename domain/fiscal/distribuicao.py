"""NFeDistribuicaoDFe: the national service that hands a CNPJ the documents issued to it.

The service answers `retDistDFeInt` with at most 50 `docZip` (base64 of gzip), each with its
`NSU` and `schema` (`resNFe_v1.01.xsd`, `procNFe_v4.00.xsd`, `resEvento_v1.01.xsd`,
`procEventoNFe_v1.00.xsd`). Asking too often is "consumo indevido" and the service blocks the
CNPJ: the rules the capture follows are in `REGRAS`, each with the item of NT 2014.002 (and its
updates) it comes from, and `proxima_consulta` applies them.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import io
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from lxml import etree

from domain.fiscal.errors import FiscalDocumentError
from domain.fiscal.fields import NFE_NS
from domain.fiscal.safe_xml import MAX_XML_BYTES, load_xml

_NS = {"n": NFE_NS}


@dataclass(frozen=True, slots=True)
class Regra:
    """One limit of the distribution service, with where it is written."""

    nome: str
    valor: int
    fonte: str


# Every number the capture obeys, in one place. The source is NT 2014.002 ("Web Service
# NFeDistribuicaoDFe") by the version that brought each rule: the rules of consumo indevido for
# distNSU, consNSU and consChNFe came with v1.12 (in production from 10/03/2022; v1.14 only added
# the last ultNSU to the 656 answer, v1.15 made consChNFe work without a prior NSU). The NT's
# own item numbers are not cited: its text could not be checked from here, and a wrong item
# number is worse than none. The cStat meanings are those of the NT's table of rejections.
REGRAS: dict[str, Regra] = {
    "docs_por_consulta": Regra(
        "documentos por resposta (no máximo)",
        50,
        "NT 2014.002, leiaute de retDistDFeInt (loteDistDFeInt: até 50 docZip)",
    ),
    "espera_sem_novidade_min": Regra(
        "espera depois de cStat 137 ou de ultNSU = maxNSU (minutos)",
        60,
        "NT 2014.002 v1.12, regras de uso indevido: distNSU sem mais documentos",
    ),
    "bloqueio_656_min": Regra(
        "CNPJ bloqueado depois de cStat 656, e cada nova consulta reinicia a hora (minutos)",
        60,
        "NT 2014.002 v1.12, regras de uso indevido: bloqueio por 1 hora, zerado a cada nova "
        "consulta no bloqueio",
    ),
    "consultas_chave_por_hora": Regra(
        "consultas consChNFe/consNSU por CNPJ por hora (no máximo)",
        20,
        "NT 2014.002 v1.12, regras de uso indevido: 656 ao passar de 20 consultas por hora",
    ),
    "nsu_inicial": Regra(
        "documentos disponíveis na distribuição (e por chave): os últimos 90 dias",
        90,
        "NT 2014.002: até 3 meses após a recepção pelo Ambiente Nacional (consChNFe e consNSU "
        "com retroativo máximo de 90 dias, v1.12; depois, 632)",
    ),
}

CSTAT_SEM_DOCUMENTOS = "137"  # Nenhum documento localizado
CSTAT_DOCUMENTOS = "138"  # Documento(s) localizado(s)
CSTAT_CONSUMO_INDEVIDO = "656"  # Rejeição: Consumo Indevido

SCHEMA_RES_NFE = "resNFe"
SCHEMA_PROC_NFE = "procNFe"
SCHEMA_RES_EVENTO = "resEvento"
SCHEMA_PROC_EVENTO = "procEventoNFe"


def _minutos(regra: str) -> timedelta:
    return timedelta(minutes=REGRAS[regra].valor)


def proxima_consulta(c_stat: str, ult_nsu: str, max_nsu: str, agora: datetime) -> datetime:
    """When this CNPJ may be asked again after an answer (`agora` = when it came).

    With more documents waiting (138 and ultNSU < maxNSU) the next page may follow at once; when
    nothing is new, or the last page was read, wait an hour; after 656 the CNPJ is blocked for an
    hour. Any other cStat (a rejection we do not know) waits an hour too: asking again at once
    is exactly what gets a CNPJ blocked.
    """
    if c_stat == CSTAT_CONSUMO_INDEVIDO:
        return agora + _minutos("bloqueio_656_min")
    if c_stat == CSTAT_DOCUMENTOS and nsu_int(ult_nsu) < nsu_int(max_nsu):
        return agora
    return agora + _minutos("espera_sem_novidade_min")


# consChNFe (a document by its key): answers the capture and the chat tell apart.
CSTAT_CHAVE_NAO_CONSTA = "217"  # NF-e inexistente para a chave informada
CSTAT_CHAVE_FORA_DE_PRAZO = "632"  # fora de prazo, a NF-e não está mais disponível
CSTAT_CHAVE_SEM_PERMISSAO = "640"  # o interessado não tem permissão para esta NF-e
CSTAT_CHAVE_EMITENTE = "641"  # NF-e indisponível para o emitente
CSTAT_CHAVE_CANCELADA = "653"
CSTAT_CHAVE_DENEGADA = "654"


def janela_por_chave(desde: datetime | None, feitas: int, agora: datetime) -> tuple[datetime, int]:
    """The hour the consChNFe count belongs to and the count in it: a new hour starts at
    `agora` once the last one is over."""
    if desde is None or agora - desde >= timedelta(hours=1):
        return agora, 0
    return desde, feitas


def consultas_chave_restantes(desde: datetime | None, feitas: int, agora: datetime) -> int:
    """How many consChNFe this CNPJ may still send in the current hour."""
    _, feitas = janela_por_chave(desde, feitas, agora)
    return max(REGRAS["consultas_chave_por_hora"].valor - feitas, 0)


def nsu_int(nsu: str) -> int:
    return int(nsu) if nsu and nsu.isdigit() else 0


def nsu_text(nsu: int) -> str:
    """The 15-digit NSU the service expects."""
    return f"{nsu:015d}"


def schema_base(schema: str) -> str:
    """`resNFe_v1.01.xsd` → `resNFe`."""
    return schema.split("_", 1)[0]


def decode_doc_zip(conteudo: str | bytes, max_bytes: int = MAX_XML_BYTES) -> bytes:
    """The XML inside a docZip: base64, then gzip, capped at `max_bytes` once inflated."""
    try:
        packed = base64.b64decode(conteudo, validate=True)
    except (binascii.Error, ValueError) as error:
        raise FiscalDocumentError("O documento recebido da SEFAZ não é base64 válido.") from error
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(packed)) as stream:
            data = stream.read(max_bytes + 1)
    except (OSError, EOFError, zlib.error) as error:
        raise FiscalDocumentError("O documento recebido da SEFAZ não é gzip válido.") from error
    if len(data) > max_bytes:
        raise FiscalDocumentError("O documento recebido da SEFAZ passa do tamanho máximo.")
    return data


@dataclass(frozen=True, slots=True)
class ResumoNFe:
    """resNFe: what the recipient sees of a note before it manifests."""

    chave: str
    emitente_documento: str
    emitente_nome: str
    emitida_em: datetime
    valor: Decimal
    protocolo: str | None
    # cSitNFe: 1 autorizada, 2 denegada, 3 cancelada
    situacao: str
    autorizada_em: datetime | None = None  # dhRecbto: the manifestação deadlines count from it


_SITUACOES = {"1": "autorizada", "2": "denegada", "3": "cancelada"}


def ler_res_nfe(xml: bytes) -> ResumoNFe:
    root = _root(xml, "resNFe")
    documento = _text(root, "n:CNPJ") or _text(root, "n:CPF")
    try:
        valor = Decimal(_required(root, "n:vNF"))
    except InvalidOperation as error:
        raise FiscalDocumentError("Resumo de NF-e com vNF inválido.") from error
    return ResumoNFe(
        chave=_required(root, "n:chNFe"),
        emitente_documento=documento or "",
        emitente_nome=(_text(root, "n:xNome") or "")[:120],
        emitida_em=_datetime(_required(root, "n:dhEmi")),
        valor=valor,
        protocolo=_text(root, "n:nProt"),
        situacao=_SITUACOES.get(_text(root, "n:cSitNFe") or "", "autorizada"),
        autorizada_em=_datetime(recebida) if (recebida := _text(root, "n:dhRecbto")) else None,
    )


def _root(xml: bytes, tag: str) -> etree._Element:
    root = load_xml(xml)
    if root.tag != f"{{{NFE_NS}}}{tag}":
        raise FiscalDocumentError(
            f"Esperava um {tag} da SEFAZ e veio {etree.QName(root).localname}."
        )
    return root


def _text(root: etree._Element, path: str) -> str | None:
    value = root.findtext(path, None, _NS)
    return value.strip() if value and value.strip() else None


def _required(root: etree._Element, path: str) -> str:
    value = _text(root, path)
    if value is None:
        raise FiscalDocumentError(f"Resumo da SEFAZ sem o campo {path[2:]}.")
    return value


def _datetime(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise FiscalDocumentError(f"Data inválida no resumo da SEFAZ: {text}.") from error
    if moment.tzinfo is None:
        raise FiscalDocumentError(f"Data sem fuso no resumo da SEFAZ: {text}.")
    return moment
