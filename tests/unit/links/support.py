"""Helpers for the contracting-link tests: issuing links, a filled form, fake gateways."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any, cast

import lxml.html
from sqlalchemy import select

from domain.clients import Payer
from services import catalog, links, signup_form
from services.email import EmailMessage
from services.principal import Principal
from services.types import UnitOfWorkFactory
from storage.models import AuditEntry, Client, Notice
from storage.models_links import ContractingLink, SignUp

TOKEN = re.compile(r"/c/([A-Za-z0-9_-]{40,})")

GOOD_FORM = signup_form.SignUpForm(
    documento="11.222.333/0001-81",
    razao_social="Padaria Pão Quente Ltda",
    nome_fantasia="Pão Quente",
    email="contato@paoquente.com.br",
    telefone="(11) 98765-4321",
    cep="01310-100",
    endereco="Av. Paulista, 1000 - Bela Vista - São Paulo/SP",
    email_contador="",
    termos=True,
)
# The same form as the page posts it.
GOOD_POST: dict[str, str] = {
    "documento": GOOD_FORM.documento,
    "razao_social": GOOD_FORM.razao_social,
    "nome_fantasia": GOOD_FORM.nome_fantasia,
    "email": GOOD_FORM.email,
    "telefone": GOOD_FORM.telefone,
    "cep": GOOD_FORM.cep,
    "endereco": GOOD_FORM.endereco,
    "email_contador": "",
    "termos": "sim",
}


def form(**changes: Any) -> signup_form.SignUpForm:
    return replace(GOOD_FORM, **changes)


def issue(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    *,
    payer: Payer = Payer.CLIENTE,
    plan: int = 0,
    **options: Any,
) -> links.IssuedLink:
    """A link for FazNota's plan number `plan` (Bronze R$ 79,90 first)."""
    software = catalog.list_softwares(uow_factory())[0]
    return links.create_link(
        uow_factory(),
        principal,
        software_id=software.id,
        plan_id=software.plans[plan].id,
        payer=payer,
        **options,
    )


def token_in(text: str) -> str:
    match = TOKEN.search(text)
    assert match, f"no link in {text!r}"
    return match.group(1)


def rows(uow_factory: UnitOfWorkFactory, model: type[Any]) -> list[Any]:
    with uow_factory() as uow:
        found = list(uow.session.scalars(select(model).order_by(model.id)))
        uow.session.expunge_all()
        return found


def stored_links(uow_factory: UnitOfWorkFactory) -> list[ContractingLink]:
    return rows(uow_factory, ContractingLink)


def stored_clients(uow_factory: UnitOfWorkFactory) -> list[Client]:
    return rows(uow_factory, Client)


def stored_sign_ups(uow_factory: UnitOfWorkFactory) -> list[SignUp]:
    return rows(uow_factory, SignUp)


def stored_notices(uow_factory: UnitOfWorkFactory) -> list[Notice]:
    return rows(uow_factory, Notice)


def audit_actions(uow_factory: UnitOfWorkFactory) -> list[str]:
    return [entry.action for entry in rows(uow_factory, AuditEntry)]


@dataclass
class FakeEmail:
    """Collects what would be e-mailed; `fail` makes the next sends fail like a dead server."""

    sent: list[EmailMessage] = field(default_factory=list)
    fail: Exception | None = None

    def send(self, message: EmailMessage) -> None:
        if self.fail is not None:
            raise self.fail
        self.sent.append(message)


@dataclass
class FakeSms:
    sent: list[tuple[str, str]] = field(default_factory=list)
    configured: bool = True

    def send(self, phone: str, text: str) -> None:
        self.sent.append((phone, text))


def elements(doc: lxml.html.HtmlElement, path: str) -> list[lxml.html.HtmlElement]:
    """The elements an XPath finds on a page."""
    return cast(list[lxml.html.HtmlElement], doc.xpath(path))


def strings(doc: lxml.html.HtmlElement, path: str) -> list[str]:
    """The attribute values or texts an XPath finds on a page."""
    return [str(value) for value in cast(list[object], doc.xpath(path))]
