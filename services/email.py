"""Sending to people outside the chat: the e-mail and SMS gateway interfaces.

The concrete gateways live in bot/gateways/ (SMTP; SMS is not configured by default) and are
handed to the use cases by the composition root. A gateway raises `DeliveryFailed` with a
message a person may read (no server names, no credentials).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from services.errors import ServiceError
from services.files import FileRef
from storage.uow import UnitOfWork

# The outbox channel that delivers e-mail (bot/channels/email_send.py), with the outbox's retries.
EMAIL_CHANNEL = "email"


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file sent with an e-mail: the outbox carries its `file` reference, the sender reads
    it from the store into `data` for the gateway."""

    name: str
    mime: str
    data: bytes = b""
    file: FileRef | None = None


@dataclass(frozen=True, slots=True)
class EmailMessage:
    to: str
    subject: str
    body: str
    attachments: tuple[Attachment, ...] = ()


class EmailGateway(Protocol):
    def send(self, message: EmailMessage) -> None: ...


class SmsGateway(Protocol):
    @property
    def configured(self) -> bool: ...

    def send(self, phone: str, text: str) -> None: ...


class NotConfigured(ServiceError):
    message = "Este meio de envio não está configurado."


class DeliveryFailed(ServiceError):
    message = "Não foi possível enviar agora. Tente de novo em alguns minutos."


def enqueue_emails(
    uow: UnitOfWork, messages: Sequence[EmailMessage], now: datetime, *, sensitive: bool = False
) -> int:
    """Queue e-mails in the caller's transaction; the sender delivers them after the commit.

    No SMTP conversation happens inside a conversation's transaction (on SQLite it would hold
    the one writer for as long as the server takes). `sensitive`: the body carries a secret (a
    contracting link), forgotten by the outbox once delivered.
    """
    rows: list[dict[str, Any]] = [
        {
            "channel": EMAIL_CHANNEL,
            "identity_key": f"email:{message.to}",
            "address": message.to,
            "payload": {
                "type": "email",
                "subject": message.subject,
                "text": message.body,
                **_attachments(message),
            },
            "blob": None,
            "status": "pending",
            "attempts": 0,
            "not_before": now,
            "created_at": now,
            "sensitive": sensitive,
        }
        for message in messages
    ]
    uow.outbox.enqueue(rows)
    return len(rows)


def _attachments(message: EmailMessage) -> dict[str, Any]:
    """The attachments as the outbox row carries them: references to the file store only."""
    if not message.attachments:
        return {}
    listed = []
    for attachment in message.attachments:
        if attachment.file is None:
            raise ValueError("an e-mail in the outbox carries its attachment as a stored file")
        listed.append(
            {"name": attachment.name, "mime": attachment.mime, "file": attachment.file.to_json()}
        )
    return {"attachments": listed}
