"""The gestor's clients: list, search, open a card, register (Novo cadastro)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, NoReturn

from domain.clients import ContractStatus, CreatedVia, Payer
from domain.contacts import (
    parse_address,
    parse_cep,
    parse_company_name,
    parse_email,
    parse_phone,
)
from domain.documents import DocumentType, normalize, parse_tax_id
from domain.money import monthly_price
from domain.text import fold
from services import integration_keys
from services.catalog import get_plan
from services.errors import Conflict, NotFound
from services.principal import Principal
from storage.repositories import DocumentoOwner, Registration
from storage.uow import UnitOfWork

PAGE_SIZE = 8


@dataclass(frozen=True, slots=True)
class ClientSummary:
    id: int
    razao_social: str
    nome_fantasia: str | None
    documento: str
    status: ContractStatus


@dataclass(frozen=True, slots=True)
class ClientPage:
    items: tuple[ClientSummary, ...]
    total: int
    page: int
    pages: int
    query: str | None


@dataclass(frozen=True, slots=True)
class ClientCard:
    id: int
    razao_social: str
    nome_fantasia: str | None
    documento: str
    email: str
    telefone: str
    cep: str
    endereco: str
    cidade: str
    uf: str
    software: str
    plano: str
    price: Decimal
    status: ContractStatus
    payer: Payer
    created_via: str
    created_at: datetime
    # Set only on the card returned when the client is created (shown once, never stored).
    integration_key: str | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class NewClient:
    """Everything Novo cadastro collects, as typed; the service validates it all again."""

    payer: Payer
    software_id: int
    plan_id: int
    documento: str
    razao_social: str
    nome_fantasia: str | None
    email: str
    telefone: str
    cep: str
    endereco: str


def list_clients(
    uow: UnitOfWork,
    principal: Principal,
    *,
    query: str | None = None,
    page: int = 1,
    page_size: int = PAGE_SIZE,
) -> ClientPage:
    """One page of the gestor's clients, optionally those whose name or CPF/CNPJ matches."""
    busca = fold(query) if query else None
    documento = normalize(query) if query else None
    if documento and (len(documento) < 3 or not any(ch.isdigit() for ch in documento)):
        documento = None
    page = max(1, page)
    with uow:
        found = uow.clients.summaries(
            principal.gestor_id,
            busca=busca,
            documento=documento,
            offset=(page - 1) * page_size,
            limit=page_size,
        )
        pages = max(1, math.ceil(found.total / page_size))
        if page > pages:  # past the end (clients removed meanwhile): show the last page
            page = pages
            found = uow.clients.summaries(
                principal.gestor_id,
                busca=busca,
                documento=documento,
                offset=(page - 1) * page_size,
                limit=page_size,
            )
        items = tuple(
            ClientSummary(
                c.id, c.razao_social, c.nome_fantasia, c.documento, ContractStatus(c.status)
            )
            for c in found.rows
        )
        return ClientPage(items, found.total, page, pages, query or None)


def get_client(uow: UnitOfWork, principal: Principal, client_id: int) -> ClientCard:
    """The client card; another gestor's client is simply not found."""
    with uow:
        row = uow.clients.card(principal.gestor_id, client_id)
        if row is None:
            raise NotFound()
        payer = Payer(row.payer)
        return ClientCard(
            id=row.id,
            razao_social=row.razao_social,
            nome_fantasia=row.nome_fantasia,
            documento=row.documento,
            email=row.email,
            telefone=row.telefone,
            cep=row.cep,
            endereco=row.endereco,
            cidade=row.cidade,
            uf=row.uf,
            software=row.software,
            plano=row.plano,
            price=monthly_price(row.monthly_price, gestor_pays=payer is Payer.GESTOR),
            status=ContractStatus(row.status),
            payer=payer,
            created_via=row.created_via,
            created_at=row.created_at,
        )


def check_documento_free(uow: UnitOfWork, principal: Principal, documento: str) -> None:
    """Refuse a CPF/CNPJ that is already registered (told early, in the dialogue)."""
    with uow:
        existing = uow.clients.documento_owner(documento)
        if existing is not None:
            _refuse_taken(principal, existing)


def _refuse_taken(principal: Principal, existing: DocumentoOwner) -> NoReturn:
    """Whose client the CPF/CNPJ already is, told to a gestor."""
    if existing.gestor_id == principal.gestor_id:
        raise Conflict(f"Este documento já é do seu cliente {existing.razao_social}.")
    raise Conflict(
        "Este documento já está cadastrado por outro gestor. "
        "Se o cliente está mudando de gestor, fale com o suporte."
    )


def is_own_email(uow: UnitOfWork, principal: Principal, email: str) -> bool:
    """True when the e-mail is one of the gestor's linked e-mails (not the client's login)."""
    with uow:
        return uow.gestores.email_owner(email) == principal.gestor_id


def register_client(uow: UnitOfWork, principal: Principal, new: NewClient) -> ClientCard:
    """Novo cadastro: a gestor registers a client (status Teste), every field validated again."""
    principal.require_manage()
    with uow:
        card = create_client(
            uow,
            gestor_id=principal.gestor_id,
            actor=principal.identity_key,
            new=new,
            created_via=CreatedVia.CADASTRO,
            taken=lambda existing: _refuse_taken(principal, existing),
        )
        uow.commit()
        return card


# The card's fields that are the new row's values as written.
_CARD_FROM_ROW = (
    "razao_social",
    "nome_fantasia",
    "documento",
    "email",
    "telefone",
    "cep",
    "endereco",
    "cidade",
    "uf",
    "created_via",
    "created_at",
)


def create_client(
    uow: UnitOfWork,
    *,
    gestor_id: int,
    actor: str,
    new: NewClient,
    created_via: CreatedVia,
    email_contador: str | None = None,
    taken: Callable[[DocumentoOwner], NoReturn] | None = None,
) -> ClientCard:
    """Store a client of `gestor_id` with status Teste and its first integration key.

    The returned card carries that key in `integration_key`: the only time it exists in clear.
    Callers check the role; this validates every field and refuses a taken CPF/CNPJ (`taken`
    says whose it is, for a caller that may tell; otherwise a plain refusal).
    """
    tax_id = parse_tax_id(new.documento)
    razao_social = parse_company_name(new.razao_social)
    nome_fantasia = (
        parse_company_name(new.nome_fantasia, field="nome_fantasia", label="o nome fantasia")
        if new.nome_fantasia
        else None
    )
    email = parse_email(new.email)
    telefone = parse_phone(new.telefone)
    cep = parse_cep(new.cep)
    address = parse_address(new.endereco)
    now = datetime.now(UTC)
    with uow:
        software, plan = get_plan(uow, new.software_id, new.plan_id)
        # Core statements on the driver, not ORM objects: this is every Novo cadastro's step
        values: dict[str, Any] = {
            "gestor_id": gestor_id,
            "documento": tax_id.value,
            "razao_social": razao_social,
            "nome_fantasia": nome_fantasia,
            "busca": fold(f"{razao_social} {nome_fantasia or ''}"),
            "email": email,
            "telefone": telefone,
            "cep": cep,
            "endereco": address.logradouro,
            "cidade": address.cidade,
            "uf": address.uf,
            "email_contador": email_contador,
            "software_id": software.id,
            "plan_id": plan.id,
            "status": ContractStatus.TESTE.value,
            "payer": new.payer.value,
            "created_via": created_via.value,
            "created_at": now,
            "updated_at": now,
        }
        card = ClientCard(
            id=0,  # the row's, once written
            **{name: values[name] for name in _CARD_FROM_ROW},
            software=software.name,
            plano=plan.name,
            price=plan.price_for(gestor_pays=new.payer is Payer.GESTOR),
            status=ContractStatus.TESTE,
            payer=new.payer,
        )
        # the audit entry's "after": the card as registered (the id is added as written)
        after: dict[str, Any] = {
            name.name: getattr(card, name.name)
            for name in fields(card)
            if name.name not in ("id", "integration_key")
        }
        after.update(
            price=str(card.price),
            created_at=card.created_at.isoformat(),
            tipo=DocumentType(tax_id.kind).value,
        )
        key = integration_keys.new_key()
        registration = Registration(actor, "client.register", after, key.prefix, key.key_hash)
        # nothing written when the CPF/CNPJ is taken
        client_id = uow.clients.register(values, registration)
        if client_id is None:
            existing = uow.clients.documento_owner(tax_id.value)
            if existing is not None and taken is not None:
                taken(existing)
            raise Conflict("Este CPF/CNPJ já está cadastrado.")
        uow.commit()
        return replace(card, id=client_id, integration_key=key.raw)


def open_management(uow: UnitOfWork, principal: Principal, client_id: int) -> ClientCard:
    """Gerenciar: gestor role only, own clients only."""
    principal.require_manage()
    return get_client(uow, principal, client_id)
