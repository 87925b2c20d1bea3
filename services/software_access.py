"""Acessar software do cliente: a short-lived, single-use, signed link into the client's
software, and its verification (the software calls it, or the demo landing page does).

A token is `<random>.<expiry>.<HMAC>`: the signature lets a forged or altered token be refused
without a database read; only the token's SHA-256 is stored, and using it marks it used.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from domain.clients import ContractStatus
from services.errors import NotFound, ServiceError
from services.principal import Principal
from storage.models import AuditEntry
from storage.models_config import AccessLink
from storage.uow import UnitOfWork

LINK_TTL = timedelta(minutes=5)
PATH = "/acesso/"


class LinkRefused(ServiceError):
    """Unknown, altered or malformed link."""

    message = (
        "Este link de acesso não é válido. Volte ao RevendaBot e toque de novo em "
        "Acessar software do cliente."
    )


class LinkExpired(LinkRefused):
    message = (
        "Este link de acesso expirou (vale 5 minutos). Volte ao RevendaBot e toque de novo em "
        "Acessar software do cliente."
    )


class LinkUsed(LinkRefused):
    message = (
        "Este link de acesso já foi usado (cada link entra uma vez só). Volte ao RevendaBot e "
        "toque de novo em Acessar software do cliente."
    )


class LinkAccessCut(LinkRefused):
    message = (
        "O acesso deste cliente está suspenso (contrato bloqueado ou cancelado). "
        "Fale com o seu gestor."
    )


class ClientAccessCut(ServiceError):
    """The gestor tried to open the software of a Bloqueado/Cancelado client."""

    def __init__(self, status: ContractStatus) -> None:
        super().__init__(
            f"O contrato deste cliente está {status.label}: o acesso ao software está suspenso. "
            "Para liberar, mude o status em Configurações → Contrato."
        )


@dataclass(frozen=True, slots=True)
class LinkSigner:
    """The HMAC key of access links and where links go when a software has no base URL."""

    key: bytes
    fallback_base_url: str

    def sign(self, nonce: str, expires: int) -> str:
        digest = hmac.new(self.key, f"{nonce}.{expires}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass(frozen=True, slots=True)
class IssuedLink:
    url: str
    software: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class AccessGrant:
    """Who the person that opened the link is signed in as."""

    client_id: int
    documento: str
    razao_social: str
    software: str
    issued_by: str
    expires_at: datetime


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_software(
    uow: UnitOfWork,
    principal: Principal,
    client_id: int,
    *,
    signer: LinkSigner,
    now: datetime | None = None,
) -> IssuedLink:
    """A new single-use link that signs into the client's software for 5 minutes; audited."""
    principal.require_manage()
    now = now or datetime.now(UTC)
    with uow:
        client = uow.clients.get_of_gestor(principal.gestor_id, client_id)
        if client is None:
            raise NotFound()
        status = ContractStatus(client.status)
        if status.cuts_access:
            raise ClientAccessCut(status)
        expires_at = now + LINK_TTL
        nonce = secrets.token_urlsafe(24)
        stamp = int(expires_at.timestamp())
        token = f"{nonce}.{stamp}.{signer.sign(nonce, stamp)}"
        uow.access_links.add(
            AccessLink(
                token_hash=_hash(token),
                client_id=client.id,
                created_by=principal.identity_key,
                created_at=now,
                expires_at=expires_at,
            )
        )
        uow.audit.add(
            AuditEntry(
                at=now,
                gestor_id=principal.gestor_id,
                actor=principal.identity_key,
                client_id=client.id,
                action="software.access",
                before=None,
                after={"software": client.software.name},
            )
        )
        base = (client.software.base_url or signer.fallback_base_url).rstrip("/")
        issued = IssuedLink(f"{base}{PATH}{token}", client.software.name, expires_at)
        uow.commit()
        return issued


def redeem(
    uow: UnitOfWork, token: str, *, signer: LinkSigner, now: datetime | None = None
) -> AccessGrant:
    """Check a link and use it up: LinkRefused / LinkExpired / LinkUsed / LinkAccessCut."""
    now = now or datetime.now(UTC)
    nonce, stamp, signature = _split(token)
    if not hmac.compare_digest(signature, signer.sign(nonce, stamp)):
        raise LinkRefused()
    if now.timestamp() > stamp:
        raise LinkExpired()
    with uow:
        found = uow.access_links.by_hash(_hash(token))
        if found is None:
            raise LinkRefused()
        link, client = found
        if link.used_at is not None:
            raise LinkUsed()
        if now > link.expires_at:
            raise LinkExpired()
        if ContractStatus(client.status).cuts_access:
            raise LinkAccessCut()
        if not uow.access_links.use(link.id, now):
            raise LinkUsed()
        grant = AccessGrant(
            client.id,
            client.documento,
            client.razao_social,
            client.software.name,
            link.created_by,
            link.expires_at,
        )
        uow.commit()
        return grant


def _split(token: str) -> tuple[str, int, str]:
    parts = token.strip().split(".")
    if len(token) > 200 or len(parts) != 3 or not parts[1].isdigit() or len(parts[1]) > 12:
        raise LinkRefused()
    return parts[0], int(parts[1]), parts[2]
