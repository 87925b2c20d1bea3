"""The month's package (fechamento) for the accountant: its file names and its `resumo.txt`.

One ZIP per client and month: the emitted NF-e and NFC-e XMLs with their cancellation events,
the supplier XMLs, the month report (PDF + XLSX) and `resumo.txt`, which says what is inside
with counts and totals. The totals are vNF of the authorized notes (as the reports show them):
cancelled and denied notes are counted, never summed.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from domain.fiscal.report import SAO_PAULO
from domain.money import format_brl
from domain.text import fill

EMITIDAS_NFE = "emitidas/NF-e"
EMITIDAS_NFCE = "emitidas/NFC-e"
FORNECEDORES = "fornecedores"
RELATORIOS = "relatorios"
RESUMO = "resumo.txt"

_UNSAFE = re.compile(r"[^A-Za-z0-9]+")


def competencia_label(competencia: str) -> str:
    """'2026-11' → '11/2026'."""
    return f"{competencia[5:7]}/{competencia[:4]}"


def package_name(nome: str, competencia: str) -> str:
    """`ACME Comércio Ltda`, '2026-11' → `ACME_Comercio_Ltda_2026-11_pacote.zip` (ASCII only:
    every mail client and unzip tool reads it)."""
    ascii_name = unicodedata.normalize("NFKD", nome).encode("ascii", "ignore").decode()
    base = _UNSAFE.sub("_", ascii_name).strip("_")[:60] or "cliente"
    return f"{base}_{competencia}_pacote.zip"


@dataclass(frozen=True, slots=True)
class Grupo:
    """One kind of note in the package: how many of each situação and the authorized total."""

    titulo: str  # "NF-e emitidas"
    notas: int
    autorizadas: int
    canceladas: int
    outras: int  # denied or not authorized
    valor_autorizadas: Decimal
    eventos: int  # cancellation events included as files


@dataclass(frozen=True, slots=True)
class Resumo:
    cliente: str
    documento: str  # formatted
    competencia: str
    gerado_em: datetime  # aware; shown in São Paulo time
    grupos: tuple[Grupo, ...]
    arquivos: tuple[str, ...] = field(default=())  # the report files in the package

    @property
    def notas(self) -> int:
        return sum(g.notas for g in self.grupos)

    @property
    def eventos(self) -> int:
        return sum(g.eventos for g in self.grupos)


def render_resumo(resumo: Resumo) -> bytes:
    """`resumo.txt`: plain UTF-8 text with CRLF line ends (Windows Notepad is the reader)."""
    gerado_em = resumo.gerado_em.astimezone(SAO_PAULO)
    lines = [
        f"Pacote do mês — {resumo.cliente} ({resumo.documento})",
        f"Competência: {competencia_label(resumo.competencia)}",
        f"Gerado em: {gerado_em:%d/%m/%Y %H:%M} (horário de Brasília)",
        "",
    ]
    for grupo in resumo.grupos:
        lines.append(
            fill(
                "{titulo}: {notas:nota|notas} ({autorizadas:autorizada|autorizadas}, "
                "{canceladas:cancelada|canceladas}, {outras:outra|outras}); "
                "total autorizado {valor}",
                titulo=grupo.titulo,
                notas=grupo.notas,
                autorizadas=grupo.autorizadas,
                canceladas=grupo.canceladas,
                outras=grupo.outras,
                valor=format_brl(grupo.valor_autorizadas),
            )
        )
    lines += [
        "",
        fill("Total: {notas:nota|notas}", notas=resumo.notas),
        fill(
            "Eventos de cancelamento incluídos: {eventos:evento|eventos}", eventos=resumo.eventos
        ),
        "Valores: vNF (total da nota) das notas autorizadas; canceladas e denegadas não somam.",
    ]
    if resumo.arquivos:
        lines += ["", "Relatórios:", *(f"- {name}" for name in resumo.arquivos)]
    return ("\r\n".join(lines) + "\r\n").encode()
