"""Meus dados: the gestor's company data, linked e-mails and payment method.

Who may do what: a contador sees Básicos and E-mails (read only); every change, Senha and
Pagamento (payment method, faturas, boletos) are the gestor's alone, refused by these services
whatever button arrives.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from domain.billing import PaymentMethod
from domain.contacts import parse_address, parse_company_name, parse_email, parse_phone
from domain.documents import parse_cnpj
from services.errors import Conflict, NotFound, ServiceError
from services.principal import Principal
from storage.models import AuditEntry, Gestor
from storage.uow import UnitOfWork

# The Básicos fields, in the order they are shown.
BASIC_FIELDS = ("razao_social", "nome_fantasia", "cnpj", "telefone", "endereco")


@dataclass(frozen=True, slots=True)
class LinkedEmail:
    id: int
    email: str


@dataclass(frozen=True, slots=True)
class Profile:
    razao_social: str
    nome_fantasia: str | None
    cnpj: str
    telefone: str | None
    endereco: str | None
    emails: tuple[LinkedEmail, ...]
    payment_method: PaymentMethod
    has_password: bool

    def value(self, field: str) -> str | None:
        return {
            "razao_social": self.razao_social,
            "nome_fantasia": self.nome_fantasia,
            "cnpj": self.cnpj,
            "telefone": self.telefone,
            "endereco": self.endereco,
        }[field]


def _now() -> datetime:
    return datetime.now(UTC)


def _gestor(uow: UnitOfWork, principal: Principal) -> Gestor:
    gestor = uow.gestores.get(principal.gestor_id)
    if gestor is None:
        raise NotFound("Cadastro do gestor não encontrado.")
    return gestor


def _audit(
    uow: UnitOfWork,
    principal: Principal,
    action: str,
    before: dict[str, object] | None,
    after: dict[str, object] | None,
) -> None:
    uow.audit.add(
        AuditEntry(
            at=_now(),
            gestor_id=principal.gestor_id,
            actor=principal.identity_key,
            client_id=None,
            action=action,
            before=before,
            after=after,
        )
    )


def get_profile(uow: UnitOfWork, principal: Principal) -> Profile:
    """The office's data as Meus dados shows it (gestor and contador)."""
    with uow:
        gestor = _gestor(uow, principal)
        emails = tuple(
            LinkedEmail(row.id, row.email) for row in uow.gestor_emails.of_gestor(gestor.id)
        )
        return Profile(
            razao_social=gestor.razao_social,
            nome_fantasia=gestor.nome_fantasia,
            cnpj=gestor.cnpj,
            telefone=gestor.telefone,
            endereco=gestor.endereco,
            emails=emails,
            payment_method=PaymentMethod(gestor.payment_method),
            has_password=gestor.password_hash is not None,
        )


def parse_basic(field: str, text: str) -> str | None:
    """Validate one Básicos field as typed, with the same rules as everywhere else."""
    if field == "razao_social":
        return parse_company_name(text)
    if field == "nome_fantasia":
        return parse_company_name(text, field="nome_fantasia", label="o nome fantasia")
    if field == "cnpj":
        return parse_cnpj(text).value
    if field == "telefone":
        return parse_phone(text)
    if field == "endereco":
        return parse_address(text).one_line
    raise ServiceError("Campo desconhecido.")


def update_basics(
    uow: UnitOfWork, principal: Principal, changes: Mapping[str, str | None]
) -> Profile:
    """Save the reviewed Básicos changes together (gestor only); everything is validated again."""
    principal.require_manage()
    clean = {}
    for field, value in changes.items():
        if field not in BASIC_FIELDS:
            raise ServiceError("Campo desconhecido.")
        if value is None and field != "nome_fantasia":
            raise ServiceError("Só o nome fantasia pode ficar em branco.")
        clean[field] = None if value is None else parse_basic(field, value)
    with uow:
        gestor = _gestor(uow, principal)
        if "cnpj" in clean and clean["cnpj"] != gestor.cnpj:
            other = uow.gestores.by_cnpj(str(clean["cnpj"]))
            if other is not None and other.id != gestor.id:
                raise Conflict("Este CNPJ já pertence a outro cadastro de gestor.")
        before = {field: getattr(gestor, field) for field in clean}
        for field, value in clean.items():
            setattr(gestor, field, value)
        after = {field: getattr(gestor, field) for field in clean}
        if before != after:
            _audit(uow, principal, "gestor.basicos", before, after)
        uow.session.flush()
        profile = get_profile(uow, principal)
        uow.commit()
        return profile


def add_email(uow: UnitOfWork, principal: Principal, text: str) -> str:
    """Link one more e-mail (gestor only); one linked to another gestor is refused, not named."""
    principal.require_manage()
    email = parse_email(text)
    with uow:
        owner = uow.gestores.email_owner(email)
        if owner == principal.gestor_id:
            raise Conflict(f"{email} já está na sua lista de e-mails.")
        if owner is not None:
            raise Conflict(
                "Este e-mail já está vinculado a outro cadastro e não pode ser usado aqui. "
                "Digite outro e-mail."
            )
        uow.gestores.add_email(principal.gestor_id, email, _now())
        _audit(uow, principal, "gestor.email_added", None, {"email": email})
        uow.commit()
        return email


def get_email(uow: UnitOfWork, principal: Principal, email_id: int) -> LinkedEmail:
    with uow:
        row = uow.gestor_emails.get_of_gestor(principal.gestor_id, email_id)
        if row is None:
            raise NotFound("E-mail não encontrado.")
        return LinkedEmail(row.id, row.email)


def remove_email(uow: UnitOfWork, principal: Principal, email_id: int) -> str:
    """Unlink an e-mail (gestor only); the last one stays."""
    principal.require_manage()
    with uow:
        uow.lock(f"gestor-emails:{principal.gestor_id}")
        row = uow.gestor_emails.get_of_gestor(principal.gestor_id, email_id)
        if row is None:
            raise NotFound("E-mail não encontrado.")
        if len(uow.gestor_emails.of_gestor(principal.gestor_id)) <= 1:
            raise Conflict(
                "É preciso manter pelo menos um e-mail. Adicione outro antes de remover este."
            )
        email = row.email
        uow.gestor_emails.remove(row)
        _audit(uow, principal, "gestor.email_removed", {"email": email}, None)
        uow.commit()
        return email


def set_payment_method(uow: UnitOfWork, principal: Principal, method: PaymentMethod) -> bool:
    """Choose how the faturas are paid (gestor only); True when it changed."""
    principal.require_manage()
    with uow:
        gestor = _gestor(uow, principal)
        if gestor.payment_method == method.value:
            return False
        _audit(
            uow,
            principal,
            "gestor.payment_method",
            {"payment_method": gestor.payment_method},
            {"payment_method": method.value},
        )
        gestor.payment_method = method.value
        uow.commit()
        return True
