"""Helpers for the billing tests: clients in a given contract state, faturas as stored."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import select

from domain.billing import Competencia
from domain.clients import ContractStatus, Payer
from services import billing, catalog
from services.payment_gateway import Beneficiary, BillingSetup
from services.principal import Principal
from services.types import UnitOfWorkFactory
from storage.models import Client
from storage.models_billing import Fatura
from tests.support import add_client

BENEFICIARY = Beneficiary(
    name="RevendaBot Tecnologia Ltda",
    cnpj="11222333000181",
    address="Av. Paulista, 1000 - Bela Vista - São Paulo/SP",
    agencia="0057",
    conta="12345",
    carteira="109",
    pix_key="11222333000181",
    pix_name="RevendaBot Tecnologia",
    pix_city="São Paulo",
)
CLOSED_AT = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
OCTOBER = Competencia(2026, 10)


def client_in(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    n: int,
    *,
    status: ContractStatus,
    payer: Payer = Payer.GESTOR,
    plan: str = "Bronze",
) -> int:
    """A client of the principal's office with this status, payer and FazNota plan."""
    card = add_client(uow_factory, principal, n, payer=payer)
    software = catalog.list_softwares(uow_factory())[0]
    chosen = next(p for p in software.plans if p.name == plan)
    with uow_factory() as uow:
        row = uow.session.get(Client, card.id)
        assert row is not None
        row.status = status.value
        row.plan_id = chosen.id
        uow.session.commit()
    return card.id


def close(
    uow_factory: UnitOfWorkFactory, competencia: Competencia = OCTOBER
) -> billing.CloseResult:
    return billing.close_month(uow_factory, competencia, due_day=10, now=CLOSED_AT)


def faturas_of(uow_factory: UnitOfWorkFactory, gestor_id: int) -> list[Fatura]:
    with uow_factory() as uow:
        rows = list(
            uow.session.scalars(
                select(Fatura).where(Fatura.gestor_id == gestor_id).order_by(Fatura.id)
            )
        )
        for row in rows:
            _ = row.items
        uow.session.expunge_all()
        return rows


def make_fatura(uow_factory: UnitOfWorkFactory, principal: Principal, n: int = 1) -> Fatura:
    """One Efetivado client (Bronze, 79,90 → 39,95) and October closed: the pending fatura."""
    client_in(uow_factory, principal, n, status=ContractStatus.EFETIVADO)
    close(uow_factory)
    faturas = faturas_of(uow_factory, principal.gestor_id)
    assert len(faturas) == 1
    assert faturas[0].total == Decimal("39.95")
    assert faturas[0].due_date == date(2026, 11, 10)
    return faturas[0]


def setup_with(gateway: object) -> BillingSetup:
    return BillingSetup(gateway=gateway, beneficiary=BENEFICIARY, due_day=10)  # type: ignore[arg-type]
