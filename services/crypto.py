"""Secrets at rest: the certificate PFX and its password, sealed with MultiFernet.

Services receive a `SecretBox` (built in bot/app.py from ENCRYPTION_KEYS) and never read
settings. The first key encrypts; every key decrypts, so a new key can be put in front and
`revendabot keys rotate` re-seals what is stored under it.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from typing import Protocol

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from services.errors import ServiceError


class SecretBox(Protocol):
    def seal(self, clear: bytes) -> bytes: ...

    def open(self, sealed: bytes) -> bytes: ...

    def reseal(self, sealed: bytes) -> bytes: ...


class SealBroken(ServiceError):
    """Stored data that none of the configured keys opens (a key was removed too early)."""

    message = "Não foi possível ler um dado protegido. Fale com o suporte."


class BadKeys(ValueError):
    """ENCRYPTION_KEYS holds something that is not a Fernet key (the value is never echoed)."""


class FernetBox:
    """MultiFernet over keys given newest first."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise BadKeys("ENCRYPTION_KEYS: informe ao menos uma chave Fernet")
        fernets = []
        for position, key in enumerate(keys, start=1):
            try:
                fernets.append(Fernet(key.strip().encode()))
            except (ValueError, TypeError):
                raise BadKeys(
                    f"ENCRYPTION_KEYS: a chave nº {position} não é uma chave Fernet válida "
                    "(32 bytes em base64 url-safe)"
                ) from None
        self._box = MultiFernet(fernets)

    @classmethod
    def from_setting(cls, value: str) -> FernetBox:
        return cls([part for part in value.split(",") if part.strip()])

    def seal(self, clear: bytes) -> bytes:
        return self._box.encrypt(clear)

    def open(self, sealed: bytes) -> bytes:
        try:
            return self._box.decrypt(sealed)
        except InvalidToken:
            raise SealBroken() from None

    def reseal(self, sealed: bytes) -> bytes:
        """The same secret sealed under the first key (rotation)."""
        try:
            return self._box.rotate(sealed)
        except InvalidToken:
            raise SealBroken() from None


def development_key(label: str) -> str:
    """A fixed Fernet key for development and tests only (production refuses placeholders)."""
    digest = hashlib.sha256(f"revendabot-development:{label}".encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()
