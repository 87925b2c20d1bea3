"""Chaves de integração: what a client's own software uses on the integration API.

Only a SHA-256 hash (the keys are 256-bit random, so a slow hash adds nothing) and a short
display prefix are stored; the whole key is shown once, when it is created.

Look-ups of valid keys are cached for a few seconds (`storage.key_cache`): any committed change
to keys or clients in this process empties the cache at once (a replaced key or a blocked
contract is refused on the next request); another process sees it within the cache's TTL.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from domain.clients import ContractStatus
from services.errors import NotFound, ServiceError
from services.principal import Principal
from storage.key_cache import KEY_ACCESS, KeyAccess, KeyAccessCache
from storage.models import AuditEntry
from storage.uow import UnitOfWork

KEY_START = "rvb_"
PREFIX_LENGTH = 12


class KeyRefused(ServiceError):
    """Unknown, malformed or replaced key (HTTP 401)."""

    message = "Chave de integração inválida ou substituída. Use a chave atual do cliente."


class AccessCut(ServiceError):
    """The client's contract is Bloqueado or Cancelado (HTTP 403)."""

    message = (
        "O acesso deste cliente está suspenso (contrato bloqueado ou cancelado). "
        "Fale com o seu gestor."
    )


@dataclass(frozen=True, slots=True)
class KeyInfo:
    prefix: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ApiClient:
    """The client an integration key belongs to."""

    client_id: int
    gestor_id: int
    documento: str
    razao_social: str


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class NewKey:
    """A freshly drawn key: `raw` is shown once; only `prefix` and `key_hash` are stored."""

    raw: str
    prefix: str
    key_hash: str


def new_key() -> NewKey:
    """Draw a key (256 random bits) for a client; storing it is the caller's."""
    raw = KEY_START + secrets.token_urlsafe(32)
    return NewKey(raw, raw[:PREFIX_LENGTH], _hash(raw))


def issue(uow: UnitOfWork, client_id: int, actor: str) -> str:
    """Create the client's key, replacing any active one, and return it: the only time.
    (A new client's first key is written with the client: `clients.create_client`.)"""
    key = new_key()
    now = datetime.now(UTC)
    with uow:
        uow.integration_keys.revoke_all(client_id, now)
        uow.integration_keys.add(
            client_id=client_id,
            prefix=key.prefix,
            key_hash=key.key_hash,
            created_at=now,
            created_by=actor,
        )
        uow.commit()
    return key.raw


def authenticate(uow: UnitOfWork, raw: str, cache: KeyAccessCache = KEY_ACCESS) -> ApiClient:
    """The client behind a key; KeyRefused (401) or AccessCut (403) otherwise."""
    found = cached(raw, cache)
    if found is not None:
        return found
    key_hash = _hash(raw.strip())
    generation = cache.generation  # before reading: a change committed meanwhile wins
    with uow:
        row = uow.integration_keys.by_hash(key_hash)
        if row is None or row[0].revoked_at is not None:
            raise KeyRefused()
        client = row[1]
        access = KeyAccess(
            client.id, client.gestor_id, client.documento, client.razao_social, client.status
        )
    if not ContractStatus(access.status).cuts_access:
        cache.put(key_hash, access, generation)
    return _client(access)


def cached(raw: str, cache: KeyAccessCache = KEY_ACCESS) -> ApiClient | None:
    """The client behind a key from the cache alone (no database); None when not cached.

    A malformed key is refused here already (KeyRefused).
    """
    raw = raw.strip()
    if not raw.startswith(KEY_START) or len(raw) > 100:
        raise KeyRefused()
    access = cache.get(_hash(raw))
    return _client(access) if access is not None else None


def _client(access: KeyAccess) -> ApiClient:
    if ContractStatus(access.status).cuts_access:
        raise AccessCut()
    return ApiClient(access.client_id, access.gestor_id, access.documento, access.razao_social)


def current(uow: UnitOfWork, principal: Principal, client_id: int) -> KeyInfo | None:
    """The active key's prefix and creation date (never the key itself)."""
    principal.require_manage()
    with uow:
        if uow.clients.get_of_gestor(principal.gestor_id, client_id) is None:
            raise NotFound()
        key = uow.integration_keys.active_for(client_id)
        return KeyInfo(key.prefix, key.created_at) if key else None


def regenerate(uow: UnitOfWork, principal: Principal, client_id: int) -> str:
    """Replace the client's key (the old one stops at once); audited; returns the new key."""
    principal.require_manage()
    now = datetime.now(UTC)
    with uow:
        if uow.clients.get_of_gestor(principal.gestor_id, client_id) is None:
            raise NotFound()
        old = uow.integration_keys.active_for(client_id)
        raw = issue(uow, client_id, principal.identity_key)
        uow.audit.add(
            AuditEntry(
                at=now,
                gestor_id=principal.gestor_id,
                actor=principal.identity_key,
                client_id=client_id,
                action="integration_key.regenerate",
                before={"prefix": old.prefix} if old else None,
                after={"prefix": raw[:PREFIX_LENGTH]},
            )
        )
        uow.commit()
        return raw
