"""The monthly close: who is billed, at what price, once per competência."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy.exc import IntegrityError

from domain.billing import (
    BillableClient,
    Competencia,
    due_date,
    fatura_lines,
    fatura_total,
    parse_competencia,
)
from domain.clients import ContractStatus, Payer
from domain.errors import InvalidValue
from services import billing
from services.types import UnitOfWorkFactory
from storage.models_billing import Fatura
from tests.support import Office, make_office
from tests.unit.billing_service.support import OCTOBER, client_in, close, faturas_of


def _client(status: ContractStatus, payer: Payer, price: str, n: int = 1) -> BillableClient:
    return BillableClient(
        client_id=n,
        razao_social=f"Cliente {n}",
        documento="11222333000181",
        software="FazNota",
        plano="Bronze",
        plan_price=Decimal(price),
        status=status,
        payer=payer,
    )


def test_only_efetivado_clients_paid_by_the_gestor_are_billed_at_half_price() -> None:
    clients = [
        _client(ContractStatus.EFETIVADO, Payer.GESTOR, "79.90", 1),
        _client(ContractStatus.TESTE, Payer.GESTOR, "79.90", 2),
        _client(ContractStatus.BLOQUEADO, Payer.GESTOR, "79.90", 3),
        _client(ContractStatus.CANCELADO, Payer.GESTOR, "79.90", 4),
        _client(ContractStatus.EFETIVADO, Payer.CLIENTE, "79.90", 5),
        _client(ContractStatus.EFETIVADO, Payer.GESTOR, "149.90", 6),
    ]

    lines = fatura_lines(clients)

    assert [(line.client_id, line.amount) for line in lines] == [
        (1, Decimal("39.95")),
        (6, Decimal("74.95")),
    ]
    assert fatura_total(lines) == Decimal("114.90")


def test_half_of_an_odd_cent_price_rounds_half_up() -> None:
    lines = fatura_lines([_client(ContractStatus.EFETIVADO, Payer.GESTOR, "99.99")])

    assert lines[0].amount == Decimal("50.00")


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("2026-10", Competencia(2026, 10)), (" 2025-01 ", Competencia(2025, 1))],
)
def test_a_competencia_is_read_as_aaaa_mm(typed: str, expected: Competencia) -> None:
    assert parse_competencia(typed) == expected


@pytest.mark.parametrize("typed", ["10/2026", "2026-13", "2026-00", "2026-1", "abc", "1999-12"])
def test_a_malformed_competencia_is_refused_with_the_format_to_use(typed: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        parse_competencia(typed)

    assert caught.value.message == (
        f"Competência “{typed}” inválida: use AAAA-MM, por exemplo 2026-10."
    )


def test_the_fatura_is_due_on_the_set_day_of_the_following_month() -> None:
    assert due_date(Competencia(2026, 10), 10) == date(2026, 11, 10)
    assert due_date(Competencia(2026, 12), 5) == date(2027, 1, 5)


def test_a_future_competencia_cannot_be_closed() -> None:
    now = datetime(2026, 11, 27, 12, tzinfo=UTC)

    with pytest.raises(InvalidValue) as caught:
        billing.check_competencia("2026-12", now)

    assert caught.value.message == "A competência 2026-12 ainda não começou: não há o que fechar."


def test_the_month_to_close_is_the_previous_sao_paulo_month() -> None:
    # 1 Nov 01:00 UTC is still 31 Oct in São Paulo: the month to close is September.
    assert billing.previous_competencia(datetime(2026, 11, 1, 1, tzinfo=UTC)) == Competencia(
        2026, 9
    )
    assert billing.previous_competencia(datetime(2026, 11, 1, 4, tzinfo=UTC)) == OCTOBER


@pytest.fixture
def office(uow_factory: UnitOfWorkFactory) -> Office:
    return make_office(uow_factory, 1)


def test_closing_a_month_bills_a_mix_of_payers_and_statuses_exactly(
    uow_factory: UnitOfWorkFactory, office: Office
) -> None:
    g = office.gestor
    client_in(uow_factory, g, 1, status=ContractStatus.EFETIVADO, plan="Bronze")  # 39,95
    client_in(uow_factory, g, 2, status=ContractStatus.EFETIVADO, plan="Diamante")  # 149,95
    client_in(uow_factory, g, 3, status=ContractStatus.EFETIVADO, plan="Prata")  # 59,95
    client_in(uow_factory, g, 4, status=ContractStatus.TESTE, plan="Ouro")
    client_in(uow_factory, g, 5, status=ContractStatus.BLOQUEADO, plan="Ouro")
    client_in(uow_factory, g, 6, status=ContractStatus.CANCELADO, plan="Ouro")
    client_in(uow_factory, g, 7, status=ContractStatus.EFETIVADO, payer=Payer.CLIENTE)

    result = close(uow_factory)

    assert (result.created, result.already_closed, result.nothing_to_bill) == (1, 0, 0)
    assert result.total == Decimal("249.85")
    [fatura] = faturas_of(uow_factory, g.gestor_id)
    assert fatura.competencia == "2026-10"
    assert fatura.total == Decimal("249.85")
    assert fatura.status == "pendente"
    assert fatura.due_date == date(2026, 11, 10)
    assert sorted((i.razao_social, i.list_price, i.amount) for i in fatura.items) == [
        ("Cliente 001 Ltda", Decimal("79.90"), Decimal("39.95")),
        ("Cliente 002 Ltda", Decimal("299.90"), Decimal("149.95")),
        ("Cliente 003 Ltda", Decimal("119.90"), Decimal("59.95")),
    ]


def test_closing_the_same_month_again_creates_nothing_and_changes_nothing(
    uow_factory: UnitOfWorkFactory, office: Office
) -> None:
    client_in(uow_factory, office.gestor, 1, status=ContractStatus.EFETIVADO)
    close(uow_factory)
    client_in(uow_factory, office.gestor, 2, status=ContractStatus.EFETIVADO)

    again = close(uow_factory)

    assert (again.created, again.already_closed) == (0, 1)
    [fatura] = faturas_of(uow_factory, office.gestor.gestor_id)
    assert fatura.total == Decimal("39.95")
    assert len(fatura.items) == 1


def test_each_gestor_gets_its_own_fatura_and_one_with_nothing_to_bill_gets_none(
    uow_factory: UnitOfWorkFactory, office: Office
) -> None:
    other = make_office(uow_factory, 2)
    idle = make_office(uow_factory, 3)
    client_in(uow_factory, office.gestor, 1, status=ContractStatus.EFETIVADO)
    client_in(uow_factory, other.gestor, 2, status=ContractStatus.EFETIVADO, plan="Ouro")
    client_in(uow_factory, idle.gestor, 3, status=ContractStatus.TESTE)

    result = close(uow_factory)

    assert (result.created, result.nothing_to_bill) == (2, 1)
    assert [f.total for f in faturas_of(uow_factory, office.gestor.gestor_id)] == [
        Decimal("39.95")
    ]
    assert [f.total for f in faturas_of(uow_factory, other.gestor.gestor_id)] == [Decimal("89.95")]
    assert faturas_of(uow_factory, idle.gestor.gestor_id) == []


def test_a_new_month_gets_a_new_fatura(uow_factory: UnitOfWorkFactory, office: Office) -> None:
    client_in(uow_factory, office.gestor, 1, status=ContractStatus.EFETIVADO)
    close(uow_factory, Competencia(2026, 9))

    close(uow_factory, OCTOBER)

    assert [f.competencia for f in faturas_of(uow_factory, office.gestor.gestor_id)] == [
        "2026-09",
        "2026-10",
    ]


def test_the_database_refuses_a_second_fatura_for_the_same_gestor_and_competencia(
    uow_factory: UnitOfWorkFactory, office: Office
) -> None:
    client_in(uow_factory, office.gestor, 1, status=ContractStatus.EFETIVADO)
    close(uow_factory)

    with pytest.raises(IntegrityError), uow_factory() as uow:
        uow.faturas.add(
            Fatura(
                gestor_id=office.gestor.gestor_id,
                competencia="2026-10",
                total=Decimal("1.00"),
                due_date=date(2026, 11, 10),
                status="pendente",
                created_at=datetime.now(UTC),
            )
        )
