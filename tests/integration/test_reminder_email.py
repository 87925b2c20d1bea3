"""The outbox channel "email" (issue 7): client reminders go out through the SMTP gateway."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.channels.email_send import RETRY, EmailSender
from services.email import DeliveryFailed, EmailMessage
from services.outbox import Deferred, Delivered, Failed
from storage.conversation import ClaimedMessage


class FakeGateway:
    def __init__(self, *, fail: bool = False) -> None:
        self.fail = fail
        self.sent: list[EmailMessage] = []

    def send(self, message: EmailMessage) -> None:
        if self.fail:
            raise DeliveryFailed()
        self.sent.append(message)


def claimed(payload: dict[str, Any]) -> ClaimedMessage:
    return ClaimedMessage(7, "email", "email:a@b.com.br", "a@b.com.br", payload, None, 1)


EMAIL = {"type": "email", "subject": "Certificado", "text": "Renove."}


async def test_an_email_reminder_is_handed_to_the_gateway() -> None:
    gateway = FakeGateway()
    fate = await EmailSender(gateway).deliver(claimed(EMAIL))
    assert fate == Delivered(7, None)
    assert gateway.sent == [EmailMessage("a@b.com.br", "Certificado", "Renove.")]


async def test_a_refusing_mail_server_defers_the_email_for_a_later_try() -> None:
    fate = await EmailSender(FakeGateway(fail=True)).deliver(claimed(EMAIL))
    assert isinstance(fate, Deferred)
    assert fate.delay == RETRY >= timedelta(minutes=1)
    assert fate.attempts == 1


async def test_a_message_that_is_not_an_email_fails() -> None:
    fate = await EmailSender(FakeGateway()).deliver(claimed({"type": "text", "text": "x"}))
    assert isinstance(fate, Failed)
