"""CSRF tokens for the sign-up form: HMAC-signed, one per form render, tied to a cookie.

The cookie holds a random session id; the form carries `issued.nonce.mac` where the MAC
covers the session id, the page's scope (its link or /cadastro) and the issue time. A post
from another site has no cookie to match (SameSite=Strict) and cannot compute the MAC.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable

COOKIE = "rb_sessao"
MAX_AGE = 2 * 60 * 60  # seconds a form may stay open before it must be reloaded


class CsrfSigner:
    def __init__(
        self, secret: str, *, max_age: int = MAX_AGE, clock: Callable[[], float] = time.time
    ) -> None:
        self._key = secret.encode()
        self.max_age = max_age
        self._clock = clock

    @staticmethod
    def new_session() -> str:
        return secrets.token_urlsafe(18)

    def _mac(self, session: str, scope: str, issued: str, nonce: str) -> str:
        message = f"{session}|{scope}|{issued}|{nonce}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def issue(self, session: str, scope: str) -> str:
        issued = str(int(self._clock()))
        nonce = secrets.token_urlsafe(9)
        return f"{issued}.{nonce}.{self._mac(session, scope, issued, nonce)}"

    def valid(self, token: str | None, session: str | None, scope: str) -> bool:
        if not token or not session or len(token) > 200 or len(session) > 100:
            return False
        parts = token.split(".")
        if len(parts) != 3 or not parts[0].isdigit():
            return False
        issued, nonce, mac = parts
        age = self._clock() - int(issued)
        if age < -60 or age > self.max_age:
            return False
        return hmac.compare_digest(mac, self._mac(session, scope, issued, nonce))
