"""Contrato and Software of a client: status, who pays, software and plan — audited changes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from domain.clients import ContractStatus, Payer
from domain.money import monthly_price
from services.catalog import PlanView, get_plan, list_softwares
from services.errors import NotFound, ServiceError
from services.principal import Principal
from storage.models import AuditEntry, Client
from storage.uow import UnitOfWork


class NothingChanged(ServiceError):
    message = "Nada mudou: escolha um valor diferente do atual antes de salvar."


@dataclass(frozen=True, slots=True)
class Contract:
    status: ContractStatus
    payer: Payer


@dataclass(frozen=True, slots=True)
class SoftwarePlan:
    software_id: int
    software: str
    plan_id: int
    plan: str
    list_price: Decimal
    price: Decimal
    payer: Payer


def _client(uow: UnitOfWork, principal: Principal, client_id: int) -> Client:
    principal.require_manage()
    client = uow.clients.get_of_gestor(principal.gestor_id, client_id)
    if client is None:
        raise NotFound()
    return client


def _audit(
    uow: UnitOfWork,
    principal: Principal,
    client: Client,
    action: str,
    before: dict[str, str],
    after: dict[str, str],
    now: datetime,
) -> None:
    uow.audit.add(
        AuditEntry(
            at=now,
            gestor_id=principal.gestor_id,
            actor=principal.identity_key,
            client_id=client.id,
            action=action,
            before=before,
            after=after,
        )
    )


def get_contract(uow: UnitOfWork, principal: Principal, client_id: int) -> Contract:
    with uow:
        client = _client(uow, principal, client_id)
        return Contract(ContractStatus(client.status), Payer(client.payer))


def save_contract(
    uow: UnitOfWork,
    principal: Principal,
    client_id: int,
    *,
    status: ContractStatus,
    payer: Payer,
    now: datetime | None = None,
) -> Contract:
    """Change the status and/or who pays. Bloqueado/Cancelado cut the client's access."""
    now = now or datetime.now(UTC)
    with uow:
        client = _client(uow, principal, client_id)
        before = {"status": client.status, "pagador": client.payer}
        after = {"status": status.value, "pagador": payer.value}
        if before == after:
            raise NothingChanged()
        if client.status != status.value:
            client.status_since = now
        client.status, client.payer, client.updated_at = status.value, payer.value, now
        _audit(uow, principal, client, "contract.update", before, after, now)
        uow.commit()
        return Contract(status, payer)


def _software_plan(client: Client, software: str, plan: PlanView) -> SoftwarePlan:
    payer = Payer(client.payer)
    return SoftwarePlan(
        software_id=client.software_id,
        software=software,
        plan_id=plan.id,
        plan=plan.name,
        list_price=plan.list_price,
        price=monthly_price(plan.list_price, gestor_pays=payer is Payer.GESTOR),
        payer=payer,
    )


def get_software(uow: UnitOfWork, principal: Principal, client_id: int) -> SoftwarePlan:
    """The client's software and plan, with the price its payer sees."""
    with uow:
        client = _client(uow, principal, client_id)
        plan = PlanView(client.plan.id, client.plan.name, client.plan.monthly_price)
        return _software_plan(client, client.software.name, plan)


def plan_options(
    uow: UnitOfWork, principal: Principal, client_id: int, software_id: int | None = None
) -> tuple[str, Payer, tuple[PlanView, ...]]:
    """The active plans of the client's software (or of `software_id`): (name, payer, plans)."""
    with uow:
        client = _client(uow, principal, client_id)
        wanted = software_id or client.software_id
        for software in list_softwares(uow):
            if software.id == wanted:
                return software.name, Payer(client.payer), software.plans
        raise NotFound("Este software não está mais disponível. Escolha outro.")


def software_options(
    uow: UnitOfWork, principal: Principal, client_id: int
) -> list[tuple[int, str]]:
    with uow:
        _client(uow, principal, client_id)
        return [(s.id, s.name) for s in list_softwares(uow) if s.plans]


def save_software(
    uow: UnitOfWork,
    principal: Principal,
    client_id: int,
    *,
    software_id: int,
    plan_id: int,
    now: datetime | None = None,
) -> SoftwarePlan:
    """Move the client to another plan (or software); the next invoice uses it. Audited."""
    now = now or datetime.now(UTC)
    with uow:
        client = _client(uow, principal, client_id)
        software, plan = get_plan(uow, software_id, plan_id)
        before = {"software": client.software.name, "plano": client.plan.name}
        if client.software_id == software.id and client.plan_id == plan.id:
            raise NothingChanged()
        client.software_id, client.plan_id, client.updated_at = software.id, plan.id, now
        _audit(
            uow,
            principal,
            client,
            "software.update",
            before,
            {"software": software.name, "plano": plan.name},
            now,
        )
        uow.session.flush()
        uow.session.refresh(client)
        result = _software_plan(client, software.name, plan)
        uow.commit()
        return result
