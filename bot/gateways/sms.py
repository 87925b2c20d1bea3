"""SMS: no provider is wired in by default, and the bot says so when asked to send one.

A provider implements `services.email.SmsGateway` (a `configured` property and `send`) and is
handed to the composition root instead of `NoSmsGateway`.
"""

from __future__ import annotations

from services.email import NotConfigured


class NoSmsGateway:
    configured = False

    def send(self, phone: str, text: str) -> None:
        raise NotConfigured("O envio por SMS não está configurado neste RevendaBot.")
