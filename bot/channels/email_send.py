"""The outbox channel "email": reminders to clients, sent with the SMTP gateway.

Attachments (a monthly package) travel in the row as file-store references and are read from
the store only here, at send time.

Queued in the same transaction as the reminder, delivered with the outbox's retries: a
refusal the server gives now (DeliveryFailed) is tried again later, a bounded number of times.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.settings import Settings
from bot.signup import email_gateway
from services.email import Attachment, DeliveryFailed, EmailGateway, EmailMessage
from services.files import FileMissing, FileRef, FileStore, open_content
from services.outbox import Deferred, Delivered, Failed, Fate
from storage.conversation import ClaimedMessage

CHANNEL = "email"
RETRY = timedelta(minutes=5)


class EmailSender:
    channel = CHANNEL

    def __init__(self, gateway: EmailGateway, files: FileStore | None = None) -> None:
        self.gateway = gateway
        self.files = files

    async def deliver(self, message: ClaimedMessage) -> Fate:
        payload = message.payload
        if payload.get("type") != "email":
            return Failed(message.id, "not an e-mail")
        try:
            attachments = tuple(self._attachment(item) for item in payload.get("attachments", ()))
        except FileMissing as exc:
            return Failed(message.id, exc.message)
        email = EmailMessage(
            message.address, str(payload["subject"]), str(payload["text"]), attachments
        )
        try:
            await asyncio.to_thread(self.gateway.send, email)
        except DeliveryFailed as exc:
            return Deferred(message.id, message.attempts, RETRY, exc.message)
        return Delivered(message.id, None)

    def _attachment(self, item: dict[str, object]) -> Attachment:
        ref = FileRef.from_json(item["file"])  # type: ignore[arg-type]
        with open_content(self.files, ref, b"") as stream:
            return Attachment(str(item["name"]), str(item["mime"]), stream.read())


def from_settings(settings: Settings, files: FileStore | None = None) -> EmailSender | None:
    """The e-mail channel when SMTP_HOST is set, else None (reminders then skip e-mail)."""
    gateway = email_gateway(settings)
    return EmailSender(gateway, files) if gateway is not None else None
