"""Gestores, invites and binding chat identities to an office."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from domain.clients import Role
from domain.contacts import parse_company_name, parse_email
from domain.documents import parse_cnpj
from services.errors import Conflict, InviteRefused, NotFound
from services.principal import Principal
from storage.models import Gestor, Invite, UserIdentity
from storage.repositories import ActingIdentity
from storage.uow import UnitOfWork

# No 0/O, 1/I/L: codes are read aloud and typed on phones.
_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 12  # ≈ 59 bits
DEFAULT_INVITE_TTL = timedelta(days=7)


def _now() -> datetime:
    return datetime.now(UTC)


def _hash_code(code: str) -> str:
    return hashlib.sha256(normalize_code(code).encode()).hexdigest()


def normalize_code(code: str) -> str:
    return code.strip().replace("-", "").replace(" ", "").upper()


def looks_like_code(text: str) -> bool:
    code = normalize_code(text)
    return len(code) == CODE_LENGTH and all(ch in _ALPHABET for ch in code)


@dataclass(frozen=True, slots=True)
class IssuedInvite:
    code: str
    gestor_cnpj: str
    gestor_name: str
    role: Role
    expires_at: datetime


def _issue(uow: UnitOfWork, gestor: Gestor, role: Role, ttl: timedelta) -> IssuedInvite:
    code = "".join(secrets.choice(_ALPHABET) for _ in range(CODE_LENGTH))
    now = _now()
    uow.invites.add(
        Invite(
            code_hash=_hash_code(code),
            gestor_id=gestor.id,
            role=role.value,
            expires_at=now + ttl,
            created_at=now,
        )
    )
    return IssuedInvite(code, gestor.cnpj, gestor.razao_social, role, now + ttl)


def create_gestor(
    uow: UnitOfWork,
    *,
    cnpj: str,
    razao_social: str,
    email: str,
    ttl: timedelta = DEFAULT_INVITE_TTL,
) -> IssuedInvite:
    """Register a gestor's office and issue the first (gestor-role) invite."""
    tax_id = parse_cnpj(cnpj)
    name = parse_company_name(razao_social)
    address = parse_email(email)
    with uow:
        if uow.gestores.by_cnpj(tax_id.value):
            raise Conflict(f"Já existe um gestor com o CNPJ {tax_id.formatted}.")
        if uow.gestores.email_owner(address) is not None:
            raise Conflict("Este e-mail já está vinculado a outro gestor.")
        gestor = uow.gestores.add(Gestor(cnpj=tax_id.value, razao_social=name, created_at=_now()))
        uow.gestores.add_email(gestor.id, address, _now())
        issued = _issue(uow, gestor, Role.GESTOR, ttl)
        uow.commit()
        return issued


def invite(
    uow: UnitOfWork, *, gestor_cnpj: str, role: Role, ttl: timedelta = DEFAULT_INVITE_TTL
) -> IssuedInvite:
    """Issue one more single-use invite for a gestor's office."""
    tax_id = parse_cnpj(gestor_cnpj)
    with uow:
        gestor = uow.gestores.by_cnpj(tax_id.value)
        if gestor is None:
            raise NotFound(f"Nenhum gestor com o CNPJ {tax_id.formatted}.")
        issued = _issue(uow, gestor, role, ttl)
        uow.commit()
        return issued


def redeem_invite(
    uow: UnitOfWork,
    *,
    code: str,
    identity_key: str,
    channel: str,
    address: str,
    display_name: str | None,
) -> Principal:
    """Bind this chat identity to the invite's office; the code cannot be used again."""
    now = _now()
    with uow:
        found = uow.invites.by_hash(_hash_code(code), for_update=True)
        if found is None:
            raise InviteRefused(
                "Não encontrei este código de convite. Confira se digitou igual ao que recebeu."
            )
        if found.used_at is not None:
            raise InviteRefused(
                "Este código de convite já foi usado. Peça um novo a quem enviou o convite."
            )
        if found.expires_at <= now:
            raise InviteRefused("Este código de convite expirou. Peça um novo a quem o enviou.")
        existing = uow.identities.by_key(identity_key)
        if existing is not None and existing.active:
            raise Conflict("Este chat já tem acesso. Use /menu para começar.")
        if existing is None:
            existing = uow.identities.add(
                UserIdentity(
                    key=identity_key,
                    channel=channel,
                    address=address,
                    gestor_id=found.gestor_id,
                    role=found.role,
                    display_name=display_name,
                    active=True,
                    attributes={},
                    last_inbound_at=now,
                    created_at=now,
                )
            )
        else:
            existing.gestor_id = found.gestor_id
            existing.role = found.role
            existing.address = address
            existing.active = True
        found.used_at = now
        found.used_by_id = existing.id
        gestor = uow.gestores.get(found.gestor_id)
        if gestor is None:
            raise NotFound("Gestor não encontrado.")
        uow.session.flush()
        uow.commit()
        return Principal(
            existing.id, identity_key, gestor.id, gestor.razao_social, Role(found.role)
        )


def resolve_principal(
    uow: UnitOfWork, identity_key: str, *, address: str | None = None
) -> Principal | None:
    """The principal behind a chat identity, or None when it has no (active) access."""
    with uow:
        return principal_of(uow, uow.identities.acting(identity_key), address=address)


def principal_of(
    uow: UnitOfWork,
    identity: ActingIdentity | None,
    *,
    address: str | None = None,
    touch: bool = True,
) -> Principal | None:
    """`resolve_principal` for an identity already read (the conversation core reads it along
    with the conversation state); records the inbound time and the address it came from.

    `touch=False` for events the person did not send (a notice): the inbound time opens
    WhatsApp's 24-hour window, so only the person's own messages may move it."""
    if identity is None or not identity.active:
        return None
    if touch:
        touched_at = identity.last_inbound_at
        now = _now()
        if touched_at is None or now - touched_at > timedelta(minutes=1):
            touched_at = now
        new_address = address or identity.address
        if touched_at != identity.last_inbound_at or new_address != identity.address:
            uow.identities.touch(identity.id, touched_at, new_address)
    return Principal(
        identity.id, identity.key, identity.gestor_id, identity.gestor_name, Role(identity.role)
    )


def current_principal(uow: UnitOfWork, identity_key: str) -> Principal | None:
    """Who an identity acts as now, for work done on its behalf later (a job): read again,
    so a person unbound or removed meanwhile gets nothing; the inbound time is left alone."""
    identity = uow.identities.acting(identity_key)
    if identity is None or not identity.active:
        return None
    return Principal(
        identity.id, identity.key, identity.gestor_id, identity.gestor_name, Role(identity.role)
    )


def bind_identity(
    uow: UnitOfWork, *, gestor_cnpj: str, identity_key: str, channel: str, address: str, role: Role
) -> None:
    """Bind an identity directly (operator and demo use: the console identity)."""
    tax_id = parse_cnpj(gestor_cnpj)
    with uow:
        gestor = uow.gestores.by_cnpj(tax_id.value)
        if gestor is None:
            raise NotFound(f"Nenhum gestor com o CNPJ {tax_id.formatted}.")
        identity = uow.identities.by_key(identity_key)
        now = _now()
        if identity is None:
            uow.identities.add(
                UserIdentity(
                    key=identity_key,
                    channel=channel,
                    address=address,
                    gestor_id=gestor.id,
                    role=role.value,
                    active=True,
                    attributes={},
                    created_at=now,
                )
            )
        else:
            identity.gestor_id, identity.role, identity.active = gestor.id, role.value, True
        uow.commit()


def deactivate_identity(uow: UnitOfWork, identity_key: str) -> bool:
    """Stop talking to an identity the platform says is gone (bot blocked, account deleted).

    Returns whether it was active. It gets access again by redeeming a new invite.
    """
    with uow:
        identity = uow.identities.by_key(identity_key)
        if identity is None or not identity.active:
            return False
        identity.active = False
        uow.commit()
        return True
