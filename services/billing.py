"""Faturas: the monthly close, Minhas faturas, and marking one paid.

The close bills, per gestor, the clients whose status on the close date is Efetivado and whose
fee the gestor pays, at 50% of the plan's price, with no proration (domain/billing.py). It is
idempotent per (gestor, competência): a fatura already closed is left as it is, and the unique
constraint guards against two closes racing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from domain.billing import (
    Competencia,
    FaturaLine,
    FaturaStatus,
    due_date,
    fatura_lines,
    fatura_total,
    parse_competencia,
)
from domain.errors import InvalidValue
from services import notices
from services.errors import Conflict, NotFound
from services.principal import Principal
from storage.models import AuditEntry
from storage.models_billing import Fatura, FaturaItem
from storage.types import fits_id
from storage.uow import UnitOfWork, UnitOfWorkFactory

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
DEFAULT_DUE_DAY = 10
NOTICE_PAID = "fatura.paga"
NOTICE_CREATED = "fatura.nova"
NOT_FOUND = "Fatura não encontrada."


def _now() -> datetime:
    return datetime.now(UTC)


def today(now: datetime) -> date:
    return now.astimezone(SAO_PAULO).date()


@dataclass(frozen=True, slots=True)
class CloseResult:
    competencia: str
    created: int
    already_closed: int
    nothing_to_bill: int
    total: Decimal


@dataclass(frozen=True, slots=True)
class FaturaSummary:
    id: int
    competencia: Competencia
    total: Decimal
    due_date: date
    status: FaturaStatus
    paid_at: datetime | None
    lines: int

    def overdue(self, on: date) -> bool:
        return self.status is FaturaStatus.PENDENTE and self.due_date < on


@dataclass(frozen=True, slots=True)
class FaturaDetail:
    summary: FaturaSummary
    items: tuple[FaturaLine, ...]
    nosso_numero: str | None


def previous_competencia(now: datetime) -> Competencia:
    """The month to close on a given moment: the São Paulo month before it."""
    return Competencia.of(today(now)).previous()


def check_competencia(text: str, now: datetime) -> Competencia:
    competencia = parse_competencia(text)
    if competencia > Competencia.of(today(now)):
        raise InvalidValue(
            "competencia", f"A competência {competencia} ainda não começou: não há o que fechar."
        )
    return competencia


def close_month(
    uow_factory: UnitOfWorkFactory,
    competencia: Competencia,
    *,
    due_day: int = DEFAULT_DUE_DAY,
    now: datetime | None = None,
) -> CloseResult:
    """Create every gestor's fatura for the competência (the CLI and the monthly scheduler).

    One transaction per gestor, so one gestor's problem does not hold back the others' faturas.
    """
    moment = now or _now()
    due = due_date(competencia, due_day)
    with uow_factory() as uow:
        gestor_ids = uow.faturas.gestor_ids()
    created = already = empty = 0
    total = Decimal("0.00")
    for gestor_id in gestor_ids:
        outcome, amount = _close_one(uow_factory(), gestor_id, competencia, due, moment)
        if outcome == "created":
            created += 1
            total += amount
        elif outcome == "exists":
            already += 1
        else:
            empty += 1
    return CloseResult(str(competencia), created, already, empty, total)


def close_gestor_month(
    uow: UnitOfWork,
    gestor_id: int,
    competencia: Competencia,
    *,
    due_day: int = DEFAULT_DUE_DAY,
    now: datetime | None = None,
) -> bool:
    """Close one gestor's fatura for the competência (the demo office); True when created.

    Joins the caller's transaction when called inside one, like every use case.
    """
    due = due_date(competencia, due_day)
    outcome, _ = _close_one(uow, gestor_id, competencia, due, now or _now())
    return outcome == "created"


def _close_one(
    uow: UnitOfWork, gestor_id: int, competencia: Competencia, due: date, moment: datetime
) -> tuple[str, Decimal]:
    with uow:
        uow.lock(f"fatura:{gestor_id}:{competencia}")
        if uow.faturas.by_competencia(gestor_id, str(competencia)) is not None:
            return "exists", Decimal("0")
        lines = fatura_lines(uow.faturas.billable_clients(gestor_id))
        if not lines:
            return "empty", Decimal("0")
        total = fatura_total(lines)
        fatura = Fatura(
            gestor_id=gestor_id,
            competencia=str(competencia),
            total=total,
            due_date=due,
            status=FaturaStatus.PENDENTE.value,
            created_at=moment,
            boleto_registered=False,
            items=[
                FaturaItem(
                    client_id=line.client_id,
                    razao_social=line.razao_social,
                    documento=line.documento,
                    software=line.software,
                    plano=line.plano,
                    list_price=line.list_price,
                    amount=line.amount,
                )
                for line in lines
            ],
        )
        uow.faturas.add(fatura)
        uow.audit.add(
            AuditEntry(
                at=moment,
                gestor_id=gestor_id,
                actor="billing.close",
                client_id=None,
                action="fatura.created",
                before=None,
                after={
                    "fatura": fatura.id,
                    "competencia": str(competencia),
                    "total": str(total),
                    "lines": len(lines),
                },
            )
        )
        notices.publish(
            uow,
            gestor_id,
            NOTICE_CREATED,
            {
                "fatura": fatura.id,
                "competencia": str(competencia),
                "total": str(total),
                "due": due.isoformat(),
            },
        )
        uow.commit()
        return "created", total


def _summary(fatura: Fatura, lines: int) -> FaturaSummary:
    return FaturaSummary(
        id=fatura.id,
        competencia=parse_competencia(fatura.competencia),
        total=fatura.total,
        due_date=fatura.due_date,
        status=FaturaStatus(fatura.status),
        paid_at=fatura.paid_at,
        lines=lines,
    )


def list_faturas(uow: UnitOfWork, principal: Principal) -> list[FaturaSummary]:
    """Minhas faturas, newest first (gestor only)."""
    principal.require_manage()
    with uow:
        rows = uow.faturas.list_of_gestor(principal.gestor_id)
        return [_summary(row, len(row.items)) for row in rows]


def get_fatura(uow: UnitOfWork, principal: Principal, fatura_id: int) -> FaturaDetail:
    """One fatura with its lines; another gestor's id looks missing (gestor only)."""
    principal.require_manage()
    with uow:
        fatura = uow.faturas.of_gestor(principal.gestor_id, fatura_id)
        if fatura is None:
            raise NotFound(NOT_FOUND)
        items = tuple(
            FaturaLine(
                client_id=item.client_id or 0,
                razao_social=item.razao_social,
                documento=item.documento,
                software=item.software,
                plano=item.plano,
                list_price=item.list_price,
                amount=item.amount,
            )
            for item in fatura.items
        )
        return FaturaDetail(_summary(fatura, len(items)), items, fatura.nosso_numero)


@dataclass(frozen=True, slots=True)
class Payment:
    fatura_id: int
    gestor_id: int
    competencia: str
    total: Decimal
    newly_paid: bool


def mark_paid(
    uow: UnitOfWork,
    *,
    fatura_id: int | None = None,
    nosso_numero: str | None = None,
    amount: Decimal | None = None,
    via: str,
    now: datetime | None = None,
) -> Payment:
    """Record a payment (operator CLI or the gateway's callback); paying twice changes nothing.

    With `amount`, it must be the fatura's total: a different value is refused, not guessed.
    """
    moment = now or _now()
    with uow:
        if fatura_id is not None:
            fatura = uow.faturas.get(fatura_id, for_update=True) if fits_id(fatura_id) else None
        elif nosso_numero is not None:
            fatura = uow.faturas.by_nosso_numero(nosso_numero)
        else:
            fatura = None
        if fatura is None:
            raise NotFound(NOT_FOUND)
        if amount is not None and amount != fatura.total:
            raise Conflict(
                f"O valor pago ({amount}) não é o total da fatura ({fatura.total}): "
                "a fatura não foi marcada como paga."
            )
        payment = Payment(fatura.id, fatura.gestor_id, fatura.competencia, fatura.total, False)
        if fatura.status == FaturaStatus.PAGA.value:
            return payment
        fatura.status = FaturaStatus.PAGA.value
        fatura.paid_at = moment
        fatura.paid_via = via[:40]
        uow.audit.add(
            AuditEntry(
                at=moment,
                gestor_id=fatura.gestor_id,
                actor=via[:120],
                client_id=None,
                action="fatura.paid",
                before={"fatura": fatura.id, "status": FaturaStatus.PENDENTE.value},
                after={"fatura": fatura.id, "status": FaturaStatus.PAGA.value},
            )
        )
        notices.publish(
            uow,
            fatura.gestor_id,
            NOTICE_PAID,
            {"fatura": fatura.id, "competencia": fatura.competencia, "total": str(fatura.total)},
        )
        uow.commit()
        return Payment(fatura.id, fatura.gestor_id, fatura.competencia, fatura.total, True)
