"""The gestor's password: strength rules, argon2id hashing, change, and /entrar (bind a new chat).

The password is never kept in clear: not in the conversation state (only an argon2id hash of the
first typing waits there for the second), not in the audit log, not in exception texts.
Five wrong passwords for an account lock it for 15 minutes; the chats already bound are told.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from domain.clients import Role
from domain.contacts import parse_email
from domain.errors import InvalidValue
from domain.text import fold
from services import notices
from services.errors import ServiceError
from services.principal import Principal
from storage.models import AuditEntry, Gestor, UserIdentity
from storage.uow import UnitOfWork

MIN_LENGTH = 10
MAX_LENGTH = 128
MAX_TRIES = 5
LOCK_TIME = timedelta(minutes=15)
NOTICE_LOCKED = "login.locked"
NOTICE_NEW_CHAT = "login.new_chat"

_hasher = PasswordHasher()  # argon2id, the library's RFC 9106 low-memory profile

RULES = (
    "A senha precisa ter pelo menos 10 caracteres, com letras e números, e não pode conter o "
    "CNPJ nem um dos seus e-mails."
)


class WrongPassword(ServiceError):
    message = (
        "E-mail ou senha não conferem. Confira e tente de novo. (Se ainda não definiu uma senha, "
        "defina em Meus dados › Senha num chat que já tem acesso.)"
    )


class AccountLocked(ServiceError):
    message = "Acesso bloqueado temporariamente."


class PasswordsDiffer(ServiceError):
    message = "As duas senhas não são iguais. Digite a nova senha de novo."


def _now() -> datetime:
    return datetime.now(UTC)


def check_strength(password: str, *, cnpj: str, emails: list[str]) -> None:
    """Refuse a weak password with the rule it breaks (pt-BR); the password is never echoed."""
    if len(password) < MIN_LENGTH:
        raise InvalidValue("senha", f"A senha é curta demais. {RULES}")
    if len(password) > MAX_LENGTH:
        raise InvalidValue("senha", f"A senha pode ter no máximo {MAX_LENGTH} caracteres.")
    if password != password.strip():
        raise InvalidValue("senha", "A senha não pode começar nem terminar com espaço.")
    if not any(ch.isalpha() for ch in password) or not any(ch.isdigit() for ch in password):
        raise InvalidValue("senha", f"A senha precisa misturar letras e números. {RULES}")
    folded = fold(password).replace(" ", "")
    digits = "".join(ch for ch in password if ch.isdigit())
    if cnpj and (cnpj.lower() in folded or cnpj[:8] in digits):
        raise InvalidValue("senha", f"A senha não pode conter o CNPJ. {RULES}")
    for email in emails:
        local = fold(email.split("@", 1)[0])
        if fold(email) in folded or (len(local) >= 4 and local in folded):
            raise InvalidValue("senha", f"A senha não pode conter um dos seus e-mails. {RULES}")


@cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def matches(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _gestor(uow: UnitOfWork, principal: Principal) -> Gestor:
    gestor = uow.gestores.get(principal.gestor_id)
    if gestor is None:
        raise ServiceError("Cadastro do gestor não encontrado.")
    return gestor


def prepare_new_password(uow: UnitOfWork, principal: Principal, password: str) -> str:
    """Check a new password (gestor only) and return its argon2id hash, to wait for the repeat."""
    principal.require_manage()
    with uow:
        gestor = _gestor(uow, principal)
        check_strength(password, cnpj=gestor.cnpj, emails=uow.gestores.emails(gestor.id))
    return hash_password(password)


def confirm_repeat(pending_hash: str, password: str) -> None:
    """The second typing must be the same password."""
    if not matches(pending_hash, password):
        raise PasswordsDiffer()


def change_password(
    uow: UnitOfWork, principal: Principal, pending_hash: str, *, now: datetime | None = None
) -> None:
    """Store the new password (its hash); unlocks the account; audited without the secret."""
    principal.require_manage()
    if not pending_hash.startswith("$argon2id$"):
        raise ServiceError("A senha não foi preparada corretamente. Comece de novo.")
    moment = now or _now()
    with uow:
        gestor = _gestor(uow, principal)
        had = gestor.password_hash is not None
        gestor.password_hash = pending_hash
        gestor.password_changed_at = moment
        gestor.failed_logins = 0
        gestor.locked_until = None
        uow.audit.add(
            AuditEntry(
                at=moment,
                gestor_id=gestor.id,
                actor=principal.identity_key,
                client_id=None,
                action="gestor.password",
                before={"password": "definida" if had else "não definida"},
                after={"password": "alterada"},
            )
        )
        uow.commit()


def log_in(
    uow: UnitOfWork,
    *,
    email: str,
    password: str,
    identity_key: str,
    channel: str,
    address: str,
    display_name: str | None,
    now: datetime | None = None,
) -> Principal:
    """/entrar: bind this (unbound) chat to the gestor whose e-mail and password match.

    A wrong password counts against the account (even inside a failing conversation step the
    count is committed: nothing here raises before it is recorded).
    """
    moment = now or _now()
    try:
        address_email = parse_email(email)
    except InvalidValue as exc:
        raise WrongPassword() from exc
    with uow:
        gestor = uow.gestor_emails.gestor_by_email(address_email, for_update=True)
        if gestor is None or gestor.password_hash is None:
            # Same answer, and about the same time, as a wrong password: nobody learns which
            # e-mails have accounts.
            matches(_dummy_hash(), password)
            raise WrongPassword()
        if gestor.locked_until is not None and gestor.locked_until > moment:
            raise _locked(gestor.locked_until)
        if not matches(gestor.password_hash, password):
            gestor.failed_logins += 1
            if gestor.failed_logins >= MAX_TRIES:
                gestor.failed_logins = 0
                gestor.locked_until = moment + LOCK_TIME
                _audit_login(uow, gestor, identity_key, "gestor.login_locked", moment)
                notices.publish(
                    uow,
                    gestor.id,
                    NOTICE_LOCKED,
                    {"channel": channel, "until": gestor.locked_until.isoformat()},
                )
                uow.commit()
                raise _locked(gestor.locked_until)
            uow.commit()
            raise WrongPassword()
        gestor.failed_logins = 0
        gestor.locked_until = None
        principal = _bind(uow, gestor, identity_key, channel, address, display_name, moment)
        _audit_login(uow, gestor, identity_key, "gestor.login_new_chat", moment)
        notices.publish(
            uow,
            gestor.id,
            NOTICE_NEW_CHAT,
            {"channel": channel, "identity_key": identity_key, "name": display_name or ""},
        )
        uow.commit()
        return principal


def _locked(until: datetime) -> AccountLocked:
    local = until.astimezone(ZoneInfo("America/Sao_Paulo"))
    return AccountLocked(
        f"Foram {MAX_TRIES} tentativas com a senha errada: o acesso por senha desta conta está "
        f"bloqueado por 15 minutos, até as {local:%H:%M}. Os chats já vinculados foram avisados."
    )


def _bind(
    uow: UnitOfWork,
    gestor: Gestor,
    identity_key: str,
    channel: str,
    address: str,
    display_name: str | None,
    moment: datetime,
) -> Principal:
    identity = uow.identities.by_key(identity_key)
    if identity is None:
        identity = uow.identities.add(
            UserIdentity(
                key=identity_key,
                channel=channel,
                address=address,
                gestor_id=gestor.id,
                role=Role.GESTOR.value,
                display_name=display_name,
                active=True,
                attributes={},
                last_inbound_at=moment,
                created_at=moment,
            )
        )
    else:
        identity.gestor_id = gestor.id
        identity.role = Role.GESTOR.value
        identity.address = address
        identity.active = True
        uow.session.flush()
    return Principal(identity.id, identity_key, gestor.id, gestor.razao_social, Role.GESTOR)


def _audit_login(
    uow: UnitOfWork, gestor: Gestor, identity_key: str, action: str, moment: datetime
) -> None:
    uow.audit.add(
        AuditEntry(
            at=moment,
            gestor_id=gestor.id,
            actor=identity_key,
            client_id=None,
            action=action,
            before=None,
            after={"identity": identity_key},
        )
    )
