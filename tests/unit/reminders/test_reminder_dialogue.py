"""Reminders in the chat: how they read, the Enviar certificado shortcut, Avisos."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bot.app import App
from domain.clients import Role
from handlers import texts
from services import notice_settings, notices
from services.errors import Forbidden
from services.reminders import ReminderOptions
from services.scheduler import run_job
from services.types import UnitOfWorkFactory
from tests.integration.reminder_support import put_certificate, put_fatura, put_link, sp_noon
from tests.support import Chat, Office, add_client, add_member, make_office
from tests.unit.helpers import step_of

TODAY = date(2026, 3, 2)


def sweep_and_dispatch(app: App, job: str, *, digest_threshold: int = 5) -> None:
    run_job(
        app.uow_factory,
        job,
        now=sp_noon(TODAY),
        options=ReminderOptions(digest_threshold=digest_threshold),
    )
    notices.dispatch(app.uow_factory, app.conversation.handle)


def test_a_certificate_reminder_names_the_client_and_opens_its_upload(
    app: App, chat: Chat, office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    card = add_client(uow_factory, office.gestor, 1)
    put_certificate(uow_factory, card.id, TODAY + timedelta(days=7))
    chat.say("/menu")

    sweep_and_dispatch(app, "certificados")
    [reminder] = chat.drain()

    assert reminder.text == texts.CERT_REMINDER.format(  # type: ignore[union-attr]
        name=card.razao_social, when="vence em 7 dias", until="09/03/2026"
    )
    chat.press(texts.ENVIAR_CERTIFICADO)
    assert step_of(chat) == ("config_cert", "arquivo")
    assert chat.last_text().text.startswith("Envie o arquivo do certificado A1")
    chat.press(texts.VOLTAR)
    assert step_of(chat) == ("config", "cert")  # the client's Certificado digital screen


def test_a_contador_is_told_without_the_upload_button(
    app: App, chat: Chat, office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    add_member(uow_factory, office, "test:carol", Role.CONTADOR)
    carol = Chat(app.conversation, uow_factory, identity_key="test:carol")
    card = add_client(uow_factory, office.gestor, 1)
    put_certificate(uow_factory, card.id, TODAY - timedelta(days=1))

    sweep_and_dispatch(app, "certificados")
    [to_carol] = carol.drain()

    assert "venceu" in to_carol.text  # type: ignore[union-attr]
    assert list(to_carol.choices) == []  # type: ignore[union-attr]


def test_a_forged_upload_shortcut_for_another_gestors_client_is_refused(
    app: App, chat: Chat, office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    other = make_office(uow_factory, 2)
    theirs = add_client(uow_factory, other.gestor, 2)
    mine = add_client(uow_factory, office.gestor, 1)
    put_certificate(uow_factory, mine.id, TODAY)
    chat.say("/menu")
    sweep_and_dispatch(app, "certificados")
    chat.drain()
    # The notice offered go:cert:<mine>; push ids work from any state, so another gestor's
    # client is refused by tenancy, as for any action.
    chat.press_id(f"go:cert:{theirs.id}")
    assert step_of(chat) == ("menu", "inicio")
    assert "não encontrado" in chat.received[-2].text  # type: ignore[union-attr]


def test_the_upload_shortcut_rechecks_tenancy_even_when_it_was_offered(
    app: App, chat: Chat, office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    card = add_client(uow_factory, office.gestor, 1)
    put_certificate(uow_factory, card.id, TODAY)
    chat.say("/menu")
    sweep_and_dispatch(app, "certificados")
    chat.drain()
    # The gestor's role is taken away before the button is pressed.
    uow = uow_factory()
    with uow:
        identity = uow.identities.by_key(chat.identity_key)
        assert identity is not None
        identity.role = Role.CONTADOR.value
        uow.commit()

    chat.press(texts.ENVIAR_CERTIFICADO)

    assert step_of(chat) == ("menu", "inicio")
    assert chat.received[-2].text.startswith("⚠️")  # type: ignore[union-attr]


def test_many_certificates_arrive_as_one_digest_with_a_button_each(
    app: App, chat: Chat, office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    cards = [add_client(uow_factory, office.gestor, n) for n in range(1, 4)]
    for n, card in enumerate(cards):
        put_certificate(uow_factory, card.id, TODAY + timedelta(days=n))
    chat.say("/menu")

    sweep_and_dispatch(app, "certificados", digest_threshold=2)
    [digest] = chat.drain()

    assert digest.text.startswith("🔐 3 certificados digitais")  # type: ignore[union-attr]
    assert f"• {cards[0].razao_social}: vence hoje" in digest.text  # type: ignore[union-attr]
    labels = [c.label for c in digest.choices]  # type: ignore[union-attr]
    assert labels == [texts.ENVIAR_CERTIFICADO_DE.format(name=card.razao_social) for card in cards]
    chat.press(labels[1])
    assert step_of(chat) == ("config_cert", "arquivo")


def test_fatura_and_link_reminders_read_in_portuguese(
    app: App, chat: Chat, office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    put_fatura(uow_factory, office.gestor.gestor_id, TODAY + timedelta(days=3))
    put_link(uow_factory, office.gestor.gestor_id, sp_noon(TODAY) - timedelta(days=4))
    chat.say("/menu")

    sweep_and_dispatch(app, "faturas")
    sweep_and_dispatch(app, "links")
    fatura, link = chat.drain()

    assert fatura.text == "🧾 A fatura 03/2026 (R$ 199,80) vence em 05/03/2026."  # type: ignore[union-attr]
    assert link.text.startswith("🔗 Um link de contratação (")  # type: ignore[union-attr]
    assert "aberto em 26/02/2026" in link.text  # type: ignore[union-attr]


def test_avisos_in_meus_dados_turns_a_kind_off_and_on(
    chat: Chat, office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    chat.say("/menu")
    chat.press(texts.MEUS_DADOS)
    chat.press(texts.AVISOS)
    assert "🔔 Certificados vencendo" in chat.last_text().text

    chat.press(texts.AVISO_TOGGLE_OFF.format(label="Certificados vencendo"))

    assert "🔕 Certificados vencendo" in chat.last_text().text
    assert texts.AVISO_TOGGLE_ON.format(label="Certificados vencendo") in chat.labels()
    assert notice_settings.muted_kinds(uow_factory(), office.gestor) == {"certificados"}
    chat.press(texts.AVISO_TOGGLE_ON.format(label="Certificados vencendo"))
    assert notice_settings.muted_kinds(uow_factory(), office.gestor) == set()
    chat.press(texts.VOLTAR)
    assert step_of(chat) == ("dados", "inicio")


def test_a_contador_sees_avisos_read_only_and_a_forged_toggle_is_refused(
    app: App, office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    add_member(uow_factory, office, "test:carol", Role.CONTADOR)
    carol = Chat(app.conversation, uow_factory, identity_key="test:carol")
    carol.say("/menu")
    carol.press(texts.MEUS_DADOS)
    carol.press(texts.AVISOS)
    assert carol.labels() == [texts.VOLTAR, texts.MENU]

    carol.press_id("av:certificados")  # never offered

    assert notice_settings.muted_kinds(uow_factory(), office.gestor) == set()


def test_the_mute_service_refuses_a_contador(
    office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    contador = add_member(uow_factory, office, "test:carol", Role.CONTADOR)
    with pytest.raises(Forbidden):
        notice_settings.set_muted(uow_factory(), contador, "faturas", muted=True)
    assert notice_settings.muted_kinds(uow_factory(), office.gestor) == set()
