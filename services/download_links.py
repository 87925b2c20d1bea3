"""Signed, expiring download links to a file in the file store.

WhatsApp may only send the approved template outside its 24-hour window, and a template cannot
carry a document: the template carries a link instead, served by the web app (web/downloads.py).
A token is `<base64 of the claims>.<HMAC-SHA256 of them>`: a forged or altered token is
refused without reading anything, an expired one is told apart (410, not 404). The file's key
is random (services/files.py), so the link is as hard to guess as the key itself.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from services.errors import ServiceError
from services.files import FileRef

PATH = "/arquivo/"


class DownloadRefused(ServiceError):
    """Unknown, altered or malformed download token."""


class DownloadExpired(ServiceError):
    """The link was genuine but its time is over (the file may be gone already)."""


@dataclass(frozen=True, slots=True)
class Download:
    key: str
    name: str
    mime: str
    expires_at: datetime


class DownloadLinks:
    def __init__(self, key: bytes, base_url: str, ttl: timedelta) -> None:
        self._key = key
        self.base_url = base_url.rstrip("/")
        # The file store keeps files this long (FILE_TTL_DAYS): a link never outlives its file
        # by design, and a file swept early still answers 410.
        self.ttl = ttl

    def link(
        self, ref: FileRef, name: str, mime: str, now: datetime, ttl: timedelta | None = None
    ) -> tuple[str, datetime]:
        """(the URL of the file, when it stops working); `ttl` overrides the default."""
        expires_at = now + (ttl if ttl is not None else self.ttl)
        claims = {"k": ref.key, "n": name, "m": mime, "e": int(expires_at.timestamp())}
        body = _b64(json.dumps(claims, separators=(",", ":")).encode())
        return f"{self.base_url}{PATH}{body}.{self._sign(body)}", expires_at

    def read(self, token: str, now: datetime) -> Download:
        """What a token gives access to; DownloadRefused or DownloadExpired otherwise."""
        body, _, signature = token.partition(".")
        if not body or not hmac.compare_digest(signature.encode(), self._sign(body).encode()):
            raise DownloadRefused("link inválido")
        try:
            claims = json.loads(_unb64(body))
            found = Download(
                str(claims["k"]),
                str(claims["n"]),
                str(claims["m"]),
                datetime.fromtimestamp(int(claims["e"]), UTC),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise DownloadRefused("link inválido") from exc
        if found.expires_at <= now:
            raise DownloadExpired("link expirado")
        return found

    def _sign(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
