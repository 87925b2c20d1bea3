"""Sending to people outside the chat: the e-mail and SMS gateway interfaces.

The concrete gateways live in bot/gateways/ (SMTP; SMS is not configured by default) and are
handed to the use cases by the composition root. A gateway raises `DeliveryFailed` with a
message a person may read (no server names, no credentials).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from services.errors import ServiceError


@dataclass(frozen=True, slots=True)
class EmailMessage:
    to: str
    subject: str
    body: str


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
