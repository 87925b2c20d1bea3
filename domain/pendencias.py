"""Pendências: what needs the office's attention, in which order, and how a page is cut.

The list is grouped by kind; groups go in urgency order (a group holding something overdue
first, then the group whose nearest deadline comes first, then the kinds that have no deadline),
and each group keeps its own order (nearest deadline or oldest first). A page is a window over
that sequence, so the storage fetches only the slice of each group a page shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import IntEnum, StrEnum

TESTE_ALERTA_DIAS = 14
CERTIFICADO_DIAS = 30
SEM_EMISSAO_DIA = 5


@dataclass(frozen=True, slots=True)
class PendenciaOptions:
    teste_alerta_dias: int = TESTE_ALERTA_DIAS  # a client in Teste longer than this is listed
    certificado_dias: int = CERTIFICADO_DIAS  # certificates ending within this many days
    # From this day of the month (São Paulo) a client that issued last month and nothing yet
    # this month is listed; before it, the previous month is the one checked.
    sem_emissao_dia: int = SEM_EMISSAO_DIA


class Kind(StrEnum):
    CERTIFICADO = "certificado"
    # Supplier notes captured from SEFAZ awaiting manifestação, and supplier summaries
    # (resNFe) without the full XML, within the manifestação deadline.
    MANIFESTACAO = "manifestacao"
    RESUMO_SEM_XML = "resumo"
    FATURA = "fatura"
    LINK = "link"
    TESTE = "teste"
    SEM_NOTAS = "sem_notas"


# Tie-break between groups equally urgent: the order above.
KIND_ORDER = {kind: n for n, kind in enumerate(Kind)}
# Kinds whose items carry a deadline (the others are only "atenção", oldest first).
WITH_DEADLINE = frozenset(
    {Kind.CERTIFICADO, Kind.MANIFESTACAO, Kind.FATURA, Kind.LINK, Kind.RESUMO_SEM_XML}
)
# What a contador may see: informational kinds, each opening a screen it may read (the card,
# the supplier notes); never the actions of Gerenciar, faturas or links.
CONTADOR_KINDS = frozenset(
    {Kind.CERTIFICADO, Kind.MANIFESTACAO, Kind.RESUMO_SEM_XML, Kind.TESTE, Kind.SEM_NOTAS}
)


class Tier(IntEnum):
    OVERDUE = 0
    DEADLINE = 1  # a deadline ahead
    ATTENTION = 2  # no deadline


@dataclass(frozen=True, slots=True)
class Group:
    kind: Kind
    count: int
    overdue: int
    first_due: date | None  # the nearest deadline in the group (the most overdue one first)

    @property
    def tier(self) -> Tier:
        if self.overdue:
            return Tier.OVERDUE
        if self.kind in WITH_DEADLINE and self.first_due is not None:
            return Tier.DEADLINE
        return Tier.ATTENTION


def ordered(groups: Sequence[Group]) -> list[Group]:
    """The non-empty groups, most urgent first."""
    return sorted(
        (g for g in groups if g.count),
        key=lambda g: (g.tier, g.first_due or date.max, KIND_ORDER[g.kind]),
    )


@dataclass(frozen=True, slots=True)
class Slice:
    kind: Kind
    offset: int
    limit: int


def page_count(total: int, page_size: int) -> int:
    return max(1, -(-total // page_size))


def clamp_page(page: int, total: int, page_size: int) -> int:
    return min(max(1, page), page_count(total, page_size))


def slices(groups: Sequence[Group], page: int, page_size: int) -> list[Slice]:
    """The part of each (ordered) group that page `page` (1-based) shows."""
    start = (page - 1) * page_size
    end = start + page_size
    cut: list[Slice] = []
    first = 0
    for group in groups:
        last = first + group.count
        lo, hi = max(start, first), min(end, last)
        if lo < hi:
            cut.append(Slice(group.kind, lo - first, hi - lo))
        first = last
    return cut
