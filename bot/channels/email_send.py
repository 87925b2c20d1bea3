"""The outbox channel "email": reminders to clients, sent with the SMTP gateway.

Queued in the same transaction as the reminder, delivered with the outbox's retries: a
refusal the server gives now (DeliveryFailed) is tried again later, a bounded number of times.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.settings import Settings
from bot.signup import email_gateway
from services.email import DeliveryFailed, EmailGateway, EmailMessage
from services.outbox import Deferred, Delivered, Failed, Fate
from storage.conversation import ClaimedMessage

CHANNEL = "email"
RETRY = timedelta(minutes=5)


class EmailSender:
    channel = CHANNEL

    def __init__(self, gateway: EmailGateway) -> None:
        self.gateway = gateway

    async def deliver(self, message: ClaimedMessage) -> Fate:
        payload = message.payload
        if payload.get("type") != "email":
            return Failed(message.id, "not an e-mail")
        email = EmailMessage(message.address, str(payload["subject"]), str(payload["text"]))
        try:
            await asyncio.to_thread(self.gateway.send, email)
        except DeliveryFailed as exc:
            return Deferred(message.id, message.attempts, RETRY, exc.message)
        return Delivered(message.id, None)


def from_settings(settings: Settings) -> EmailSender | None:
    """The e-mail channel when SMTP_HOST is set, else None (reminders then skip e-mail)."""
    gateway = email_gateway(settings)
    return EmailSender(gateway) if gateway is not None else None
