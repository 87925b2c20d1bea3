"""Faturas of the gestores: competência, due date, the billed lines and their total.

Rule (no proration): a fatura bills the whole month for every client whose status on the day the
month is closed is Efetivado and whose monthly fee the gestor pays, at 50% of its plan's price on
that day. Teste is free; Bloqueado and Cancelado are not billed; the client's status and plan on
the close date decide the month. It is the simplest rule a gestor can check against the client
list, and the one the panel's price table (a monthly price, no daily rate) implies.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from domain.clients import ContractStatus, Payer
from domain.errors import InvalidValue
from domain.money import gestor_price, to_money

_COMPETENCIA = re.compile(r"(\d{4})-(\d{2})")
MAX_DUE_DAY = 28  # every month has it


class FaturaStatus(StrEnum):
    PENDENTE = "pendente"
    PAGA = "paga"


class PaymentMethod(StrEnum):
    BOLETO = "boleto"
    CARTAO = "cartao"


@dataclass(frozen=True, slots=True, order=True)
class Competencia:
    """A billed month, written `AAAA-MM`."""

    year: int
    month: int

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def label(self) -> str:
        """`10/2026`, as people read a competência."""
        return f"{self.month:02d}/{self.year:04d}"

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    def next(self) -> Competencia:
        return Competencia(self.year + self.month // 12, self.month % 12 + 1)

    def previous(self) -> Competencia:
        if self.month == 1:
            return Competencia(self.year - 1, 12)
        return Competencia(self.year, self.month - 1)

    @classmethod
    def of(cls, day: date) -> Competencia:
        return cls(day.year, day.month)


def parse_competencia(text: str) -> Competencia:
    """`2026-10` → Competencia(2026, 10); anything else is refused with the format to use."""
    match = _COMPETENCIA.fullmatch(text.strip())
    if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 2000:
        raise InvalidValue(
            "competencia",
            f"Competência “{text.strip()}” inválida: use AAAA-MM, por exemplo 2026-10.",
        )
    return Competencia(int(match.group(1)), int(match.group(2)))


def due_date(competencia: Competencia, due_day: int) -> date:
    """The fatura is due on `due_day` of the month after the competência."""
    if not 1 <= due_day <= MAX_DUE_DAY:
        raise InvalidValue("vencimento", "O dia de vencimento deve estar entre 1 e 28.")
    following = competencia.next()
    return date(following.year, following.month, due_day)


@dataclass(frozen=True, slots=True)
class BillableClient:
    """A client as it stands on the close date."""

    client_id: int
    razao_social: str
    documento: str
    software: str
    plano: str
    plan_price: Decimal
    status: ContractStatus
    payer: Payer


@dataclass(frozen=True, slots=True)
class FaturaLine:
    client_id: int
    razao_social: str
    documento: str
    software: str
    plano: str
    list_price: Decimal
    amount: Decimal


def is_billed(client: BillableClient) -> bool:
    """The gestor pays for Efetivado clients whose fee it pays; Teste is free."""
    return client.payer is Payer.GESTOR and client.status is ContractStatus.EFETIVADO


def fatura_lines(clients: Iterable[BillableClient]) -> list[FaturaLine]:
    """One line per billed client, at 50% of its plan's price, in the order given."""
    return [
        FaturaLine(
            client_id=c.client_id,
            razao_social=c.razao_social,
            documento=c.documento,
            software=c.software,
            plano=c.plano,
            list_price=to_money(c.plan_price),
            amount=gestor_price(c.plan_price),
        )
        for c in clients
        if is_billed(c)
    ]


def fatura_total(lines: Iterable[FaturaLine]) -> Decimal:
    return to_money(sum((line.amount for line in lines), Decimal("0")))
