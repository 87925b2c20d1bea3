"""The contracting link e-mailed for real: SMTP to a local aiosmtpd server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage as Received

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from pydantic import SecretStr
from sqlalchemy import Engine, select

from bot.app import build_app
from bot.channels import email_send
from bot.gateways.email import SmtpEmailGateway
from bot.sender import OutboxSender
from bot.settings import Settings
from handlers import texts
from services import signups
from services.email import DeliveryFailed, EmailMessage
from storage.models import OutboxMessage
from tests.support import Chat, make_office
from tests.unit.links.support import token_in


@dataclass
class Inbox:
    messages: list[tuple[Envelope, Received]] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        parsed = message_from_bytes(content, policy=policy.default)
        assert isinstance(parsed, Received)
        self.messages.append((envelope, parsed))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def test_the_smtp_gateway_delivers_a_plain_text_email(smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    gateway = SmtpEmailGateway(
        host="127.0.0.1",
        port=port,
        sender="Revenda <nao-responda@revenda.example>",
        starttls=False,
        timeout=5,
    )

    gateway.send(EmailMessage("cliente@paoquente.com.br", "Assunto ção", "Olá!\nLinha 2"))

    [(envelope, received)] = inbox.messages
    assert envelope.mail_from == "nao-responda@revenda.example"
    assert envelope.rcpt_tos == ["cliente@paoquente.com.br"]
    assert received["Subject"] == "Assunto ção"
    assert received["From"] == "Revenda <nao-responda@revenda.example>"
    assert received.get_content().replace("\r\n", "\n") == "Olá!\nLinha 2\n"


def test_an_unreachable_server_is_a_pt_br_failure_without_the_password(
    caplog: pytest.LogCaptureFixture,
) -> None:
    gateway = SmtpEmailGateway(
        host="127.0.0.1",
        port=free_port(),  # nothing listens there
        sender="nao-responda@revenda.example",
        username="usuario",
        password="senha-secreta-123",
        starttls=False,
        timeout=2,
    )

    with caplog.at_level(logging.DEBUG), pytest.raises(DeliveryFailed) as failed:
        gateway.send(EmailMessage("cliente@paoquente.com.br", "s", "b"))

    assert failed.value.message == (
        "Não consegui enviar o e-mail agora (o servidor de e-mail não respondeu). "
        "Tente de novo em alguns minutos ou envie o link de outro jeito."
    )
    assert failed.value.__cause__ is None
    assert "senha-secreta-123" not in caplog.text


def test_the_gestor_emails_the_link_from_the_chat_and_it_arrives(
    db_engine: Engine, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    settings = Settings(
        environment="test",
        database_url=str(db_engine.url),
        host="127.0.0.1",
        port=8123,
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_starttls=False,
        smtp_from="RevendaBot <nao-responda@revenda.example>",
        smtp_password=SecretStr("nao-usada"),
        _env_file=None,
    )
    app = build_app(settings, db=db_engine)
    chat = Chat(app.conversation, app.uow_factory)
    make_office(app.uow_factory, 1, identity_key=chat.identity_key)
    chat.say("/menu")
    chat.press(texts.NOVO_CLIENTE)
    chat.press(texts.ENVIAR_LINK)
    chat.press(texts.CLIENTE)
    chat.press("FazNota")
    chat.press(chat.labels()[0])
    chat.press(texts.LINK_SEND_EMAIL)

    chat.say("cliente@paoquente.com.br")
    assert inbox.messages == []  # queued with the step, not sent inside its transaction
    email = email_send.from_settings(settings)
    assert email is not None
    asyncio.run(OutboxSender(app.uow_factory, [email]).send_due())

    [(envelope, received)] = inbox.messages
    assert envelope.rcpt_tos == ["cliente@paoquente.com.br"]
    assert received["Subject"] == "Seu link de cadastro no FazNota"
    body = received.get_content()
    token = token_in(body)
    assert f"http://127.0.0.1:8123/c/{token}" in body
    assert signups.open_link(app.uow_factory(), token).gestor_name == "Escritório 1 Ltda"
    assert chat.received[-2].text == (  # type: ignore[union-attr]
        "📧 Link a caminho do e-mail cliente@paoquente.com.br (envio em instantes)."
    )
    uow = app.uow_factory()
    with uow:  # the e-mail carried the link's token: the outbox forgot its body
        kept = uow.session.scalars(
            select(OutboxMessage.payload).where(OutboxMessage.channel == "email")
        ).all()
    assert token not in str(kept)
