"""A stand-in for the WhatsApp Cloud API (Graph API), from memory.

`GraphStandIn.handler` answers httpx requests (`httpx.MockTransport(stand_in.handler)`, no
sockets); the end-to-end test serves the same logic over HTTP on 127.0.0.1. Every call is
recorded with its JSON body or multipart form; media the test registers can be fetched the way
the Cloud API serves it (GET /{media-id} → short-lived URL → GET with the bearer token).
Also here: the signing of webhook bodies and the loading of the JSON fixtures.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
from collections import deque
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path
from typing import Any

import httpx

PHONE_ID = "106540352242922"
TOKEN = "EAAG-test-token-never-logged"
APP_SECRET = "app-secret-for-tests"
VERIFY_TOKEN = "verify-token-for-tests"
API_VERSION = "23.0"
BSUID = "BR.13491208655302741918"
WA_ID = "5511987654321"
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "whatsapp"


def fixture(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


def sign(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class GraphCall:
    method: str
    path: str
    json: dict[str, Any] | None
    form: dict[str, Any] | None
    authorization: str | None


class GraphStandIn:
    def __init__(self, base_url: str = "https://graph.test") -> None:
        self.base_url = base_url.rstrip("/")
        self.calls: list[GraphCall] = []
        self.media: dict[str, tuple[bytes, str]] = {}  # media id -> (bytes, mime)
        self._failures: deque[tuple[str, int, dict[str, Any]]] = deque()
        self._wamids = itertools.count(1)
        self._media_ids = itertools.count(1)

    # -- what the test controls -----------------------------------------------------------------

    def add_media(self, media_id: str, data: bytes, mime: str) -> None:
        self.media[media_id] = (data, mime)

    def fail_next(self, path_end: str, status: int, code: int, message: str) -> None:
        """Answer the next request whose path ends with `path_end` with a Graph API error."""
        error = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "Ax"}
        self._failures.append((path_end, status, {"error": error}))

    def sent(self) -> list[dict[str, Any]]:
        """The JSON bodies POSTed to /{phone}/messages, in order."""
        return [c.json for c in self.calls if c.path.endswith("/messages") and c.json]

    # -- the Graph API ----------------------------------------------------------------------------

    def handler(self, request: httpx.Request) -> httpx.Response:
        status, body, content_type = self.answer(
            request.method, request.url.path, dict(request.headers), request.content
        )
        if isinstance(body, bytes):
            return httpx.Response(status, content=body, headers={"content-type": content_type})
        return httpx.Response(status, json=body)

    def answer(
        self, method: str, path: str, headers: dict[str, str], content: bytes
    ) -> tuple[int, dict[str, Any] | bytes, str]:
        headers = {k.lower(): v for k, v in headers.items()}
        content_type = headers.get("content-type", "")
        payload = json.loads(content) if content_type.startswith("application/json") else None
        form = _form(content_type, content) if content_type.startswith("multipart/") else None
        self.calls.append(GraphCall(method, path, payload, form, headers.get("authorization")))
        for failure in list(self._failures):
            if path.endswith(failure[0]):
                self._failures.remove(failure)
                return failure[1], failure[2], "application/json"
        if headers.get("authorization") != f"Bearer {TOKEN}":
            return 401, {"error": {"message": "Invalid OAuth access token", "code": 190}}, ""
        prefix = f"/v{API_VERSION}"
        if method == "POST" and path == f"{prefix}/{PHONE_ID}/messages":
            to = (payload or {}).get("to") or (payload or {}).get("recipient")
            key = "wa_id" if str(to).isdigit() else "user_id"
            wamid = f"wamid.OUT{next(self._wamids)}"
            return (
                200,
                {
                    "messaging_product": "whatsapp",
                    "contacts": [{"input": to, key: to}],
                    "messages": [{"id": wamid}],
                },
                "",
            )
        if method == "POST" and path == f"{prefix}/{PHONE_ID}/media":
            media_id = f"90000000000{next(self._media_ids)}"
            assert form is not None
            data = form["file"]
            self.media[media_id] = (data, form.get("type", "application/octet-stream"))
            return 200, {"id": media_id}, ""
        if (
            method == "GET"
            and path.startswith(f"{prefix}/")
            and path[len(prefix) + 1 :] in (self.media)
        ):
            media_id = path[len(prefix) + 1 :]
            data, mime = self.media[media_id]
            return (
                200,
                {
                    "messaging_product": "whatsapp",
                    "url": f"{self.base_url}/download/{media_id}",
                    "mime_type": mime,
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "file_size": len(data),
                    "id": media_id,
                },
                "",
            )
        if method == "GET" and path.startswith("/download/"):
            data, mime = self.media[path.removeprefix("/download/")]
            return 200, data, mime
        return 404, {"error": {"message": f"unknown path {path}", "code": 100}}, ""


def _form(content_type: str, content: bytes) -> dict[str, Any]:
    """A multipart/form-data body as {field: str, or bytes for the file (name in `filename`)}."""
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + content
    )
    fields: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        data = part.get_payload(decode=True)
        if part.get_filename():
            fields[str(name)] = data
            fields["filename"] = part.get_filename()
            fields["file_content_type"] = part.get_content_type()
        else:
            fields[str(name)] = data.decode() if isinstance(data, bytes) else data
    return fields
