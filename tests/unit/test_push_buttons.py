"""A notice's buttons stay valid until their object changes, from any state, on every channel:
Enviar certificado on a reminder, Abrir cliente on a sign-up, Gerar boleto on a fatura. Tenancy
and role are re-checked as for any button."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine

from bot.app import App
from domain.clients import Role
from handlers import texts
from services import billing, notices
from services.messages import Document, Text
from services.types import UnitOfWorkFactory
from tests.integration.reminder_support import put_certificate
from tests.support import Chat, Office, add_client, add_member
from tests.unit.billing_service.support import make_fatura
from tests.unit.helpers import step_of
from tests.unit.reminders.test_reminder_dialogue import TODAY, sweep_and_dispatch

NOW = datetime(2026, 11, 3, 15, 0, tzinfo=UTC)


def wander(chat: Chat) -> None:
    """Other messages after the notice: the live prompt moves on several times."""
    chat.say("/menu")
    chat.press(texts.MEUS_DADOS)
    chat.say("/menu")
    chat.press(texts.CLIENTES)
    chat.say("padaria")


def notice_button(message: Text, label: str) -> str:
    [choice] = [c for c in message.choices if c.label == label]
    return choice.id


def test_a_reminders_button_works_after_other_messages(
    app: App, chat: Chat, office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    card = add_client(uow_factory, office.gestor, 1)
    put_certificate(uow_factory, card.id, TODAY + timedelta(days=7))
    sweep_and_dispatch(app, "certificados")
    [reminder] = chat.drain()
    assert isinstance(reminder, Text)
    wander(chat)

    chat.press_id(notice_button(reminder, texts.ENVIAR_CERTIFICADO))

    assert step_of(chat) == ("config_cert", "arquivo")
    assert chat.last_text().text.startswith("Envie o arquivo do certificado A1")


def test_a_reminders_button_says_so_once_the_certificate_was_replaced(
    app: App, chat: Chat, office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    card = add_client(uow_factory, office.gestor, 1)
    put_certificate(uow_factory, card.id, TODAY + timedelta(days=7))
    sweep_and_dispatch(app, "certificados")
    [reminder] = chat.drain()
    assert isinstance(reminder, Text)
    put_certificate(uow_factory, card.id, date(2027, 3, 9), tag="renovado")

    replies = chat.press_id(notice_button(reminder, texts.ENVIAR_CERTIFICADO))

    said = texts.PUSH_CERT_REPLACED.format(name=card.razao_social, until="09/03/2027")
    assert said in [m.text for m in replies if isinstance(m, Text)]
    assert step_of(chat) == ("menu", "inicio")


def test_a_reminders_button_is_refused_to_a_gestor_turned_contador_after_other_messages(
    app: App, chat: Chat, office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    card = add_client(uow_factory, office.gestor, 1)
    put_certificate(uow_factory, card.id, TODAY)
    sweep_and_dispatch(app, "certificados")
    [reminder] = chat.drain()
    assert isinstance(reminder, Text)
    wander(chat)
    uow = uow_factory()
    with uow:
        identity = uow.identities.by_key(chat.identity_key)
        assert identity is not None
        identity.role = Role.CONTADOR.value
        uow.commit()

    chat.press_id(notice_button(reminder, texts.ENVIAR_CERTIFICADO))

    assert step_of(chat) == ("menu", "inicio")
    assert chat.received[-2].text.startswith("⚠️")  # type: ignore[union-attr]


def test_a_sign_ups_abrir_cliente_works_after_other_messages_and_only_for_own_clients(
    app: App, chat: Chat, office: Office, other_office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    card = add_client(uow_factory, office.gestor, 1)
    theirs = add_client(uow_factory, other_office.gestor, 2)
    notices.publish(uow_factory(), office.gestor.gestor_id, "signup.linked", {"cid": card.id})
    notices.dispatch(uow_factory, app.conversation.handle)
    [notice] = chat.drain()
    assert isinstance(notice, Text)
    wander(chat)

    chat.press_id(notice_button(notice, texts.ABRIR_CLIENTE))
    assert step_of(chat) == ("clientes", "card")
    assert card.razao_social in chat.last_text().text

    replies = chat.press_id(f"go:card:{theirs.id}")  # forged: another gestor's client
    assert any("não encontrado" in m.text for m in replies if isinstance(m, Text))
    assert step_of(chat) == ("menu", "inicio")


@pytest.fixture
def november() -> Iterator[None]:
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.mark.usefixtures("november")
def test_a_faturas_gerar_boleto_works_after_other_messages_until_it_is_paid(
    app: App, chat: Chat, office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    fatura = make_fatura(uow_factory, office.gestor)
    notices.dispatch(uow_factory, app.conversation.handle)
    [notice] = [m for m in chat.drain() if isinstance(m, Text) and m.choices]
    boleto = notice_button(notice, texts.GERAR_BOLETO)
    wander(chat)

    replies = chat.press_id(boleto)
    [document] = [m for m in replies if isinstance(m, Document)]
    assert document.name == "boleto-2026-10.pdf"
    assert step_of(chat) == ("dados", "fatura")

    billing.mark_paid(uow_factory(), fatura_id=fatura.id, amount=Decimal("39.95"), via="teste")
    replies = chat.press_id(boleto)
    said = texts.PUSH_FATURA_SETTLED.format(competencia="10/2026")
    assert said in [m.text for m in replies if isinstance(m, Text)]
    assert not [m for m in replies if isinstance(m, Document)]


@pytest.mark.usefixtures("november")
def test_a_faturas_gerar_boleto_is_refused_to_a_contador_and_to_another_gestor(
    app: App, chat: Chat, office: Office, other_office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    fatura = make_fatura(uow_factory, office.gestor)
    carol = Chat(app.conversation, uow_factory, identity_key="test:carol")
    add_member(uow_factory, office, carol.identity_key, Role.CONTADOR)
    intruder = Chat(app.conversation, uow_factory, identity_key=other_office.gestor.identity_key)

    for person in (carol, intruder):
        replies = person.press_id(f"go:boleto:{fatura.id}")
        assert not [m for m in replies if isinstance(m, Document)]
        assert next(m for m in replies if isinstance(m, Text)).text.startswith("⚠️")
