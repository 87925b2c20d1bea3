"""Meus dados › E-mails: list, Adicionar (unique across gestores), remove with confirmation."""

from __future__ import annotations

import pytest

from domain.clients import Role
from handlers import texts
from services import gestor_profile
from services.errors import Conflict, Forbidden, NotFound
from services.types import UnitOfWorkFactory
from tests.support import Chat, Office, add_member
from tests.unit.helpers import offer, step_of
from tests.unit.meus_dados.support import gestor_audit, open_dados

OTHER_GESTOR_EMAIL = (
    "Este e-mail já está vinculado a outro cadastro e não pode ser usado aqui. "
    "Digite outro e-mail."
)


def emails_text(*emails: str) -> str:
    lines = "\n".join(f"• {e}" for e in emails)
    return texts.EMAILS_TEXT.format(count=len(emails), lines=lines)


def linked(uow_factory: UnitOfWorkFactory, gestor_id: int) -> list[str]:
    with uow_factory() as uow:
        return uow.gestores.emails(gestor_id)


def test_e_mails_lists_the_linked_e_mails_with_adicionar(chat: Chat, office: Office) -> None:
    open_dados(chat, texts.EMAILS)

    assert chat.last_text().text == f"{emails_text(office.email)}\n\n{texts.EMAILS_HINT}"
    # The only e-mail cannot be removed: no button for it.
    assert chat.labels() == [texts.ADICIONAR, texts.VOLTAR, texts.MENU]


def test_adicionar_links_a_valid_e_mail_lower_cased_and_audits_it(
    chat: Chat, office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    open_dados(chat, texts.EMAILS)
    chat.press(texts.ADICIONAR)
    assert chat.last_text().text == texts.ASK_NEW_EMAIL

    chat.say("  Financeiro@Escritorio1.com.br ")

    assert chat.received[-2].text == texts.EMAIL_ADDED.format(  # type: ignore[union-attr]
        email="financeiro@escritorio1.com.br"
    )
    assert chat.last_text().text.startswith(
        emails_text(office.email, "financeiro@escritorio1.com.br")
    )
    assert linked(uow_factory, office.gestor.gestor_id) == [
        office.email,
        "financeiro@escritorio1.com.br",
    ]
    [entry] = gestor_audit(uow_factory, office.gestor.gestor_id)
    assert (entry.action, entry.after) == (
        "gestor.email_added",
        {"email": "financeiro@escritorio1.com.br"},
    )


def test_an_invalid_e_mail_is_refused_with_the_format_to_use(chat: Chat, office: Office) -> None:
    open_dados(chat, texts.EMAILS)
    chat.press(texts.ADICIONAR)

    chat.say("financeiro@")

    assert chat.last_text().text == (
        "⚠️ Este e-mail não parece válido. Digite no formato nome@empresa.com.br.\n\n"
        + texts.ASK_NEW_EMAIL
    )
    assert step_of(chat) == ("dados", "email_novo")


def test_an_e_mail_already_in_the_list_is_refused(chat: Chat, office: Office) -> None:
    open_dados(chat, texts.EMAILS)
    chat.press(texts.ADICIONAR)

    chat.say(office.email.upper())

    assert chat.last_text().text.startswith(f"⚠️ {office.email} já está na sua lista de e-mails.")


def test_an_e_mail_of_another_gestor_is_refused_without_saying_whose(
    chat: Chat, office: Office, other_office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    open_dados(chat, texts.EMAILS)
    chat.press(texts.ADICIONAR)

    chat.say(other_office.email)

    shown = chat.last_text().text
    assert shown == f"⚠️ {OTHER_GESTOR_EMAIL}\n\n{texts.ASK_NEW_EMAIL}"
    assert "Escritório 2" not in shown
    assert other_office.cnpj not in shown
    assert linked(uow_factory, office.gestor.gestor_id) == [office.email]
    assert linked(uow_factory, other_office.gestor.gestor_id) == [other_office.email]


def test_removing_an_e_mail_asks_first_and_then_unlinks_it(
    chat: Chat, office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    gestor_profile.add_email(uow_factory(), office.gestor, "financeiro@escritorio1.com.br")
    open_dados(chat, texts.EMAILS)
    assert chat.labels() == [
        texts.ADICIONAR,
        f"Remover {office.email}",
        "Remover financeiro@escritorio1.com.br",
        texts.VOLTAR,
        texts.MENU,
    ]

    chat.press(f"Remover {office.email}")

    assert chat.last_text().text == texts.CONFIRM_REMOVE_EMAIL.format(email=office.email)
    assert len(linked(uow_factory, office.gestor.gestor_id)) == 2
    chat.press(texts.REMOVER)
    assert chat.received[-2].text == texts.EMAIL_REMOVED.format(  # type: ignore[union-attr]
        email=office.email
    )
    assert linked(uow_factory, office.gestor.gestor_id) == ["financeiro@escritorio1.com.br"]
    assert chat.labels() == [texts.ADICIONAR, texts.VOLTAR, texts.MENU]


def test_voltar_on_the_confirmation_keeps_the_e_mail(
    chat: Chat, office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    gestor_profile.add_email(uow_factory(), office.gestor, "financeiro@escritorio1.com.br")
    open_dados(chat, texts.EMAILS)
    chat.press(f"Remover {office.email}")

    chat.press(texts.VOLTAR)

    assert step_of(chat) == ("dados", "emails")
    assert len(linked(uow_factory, office.gestor.gestor_id)) == 2


def test_the_last_e_mail_cannot_be_removed_even_with_a_forged_press(
    chat: Chat, office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    gestor_profile.add_email(uow_factory(), office.gestor, "financeiro@escritorio1.com.br")
    open_dados(chat, texts.EMAILS)
    chat.press("Remover financeiro@escritorio1.com.br")
    chat.press(texts.REMOVER)
    [only] = gestor_profile.get_profile(uow_factory(), office.gestor).emails
    offer(chat, f"emd:{only.id}")
    chat.press_id(f"emd:{only.id}")

    chat.press(texts.REMOVER)

    assert chat.last_text().text.startswith(
        "⚠️ É preciso manter pelo menos um e-mail. Adicione outro antes de remover este."
    )
    assert linked(uow_factory, office.gestor.gestor_id) == [office.email]


def test_an_e_mail_id_of_another_gestor_is_not_found(
    chat: Chat, office: Office, other_office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    gestor_profile.add_email(uow_factory(), other_office.gestor, "outro@escritorio2.com.br")
    theirs = gestor_profile.get_profile(uow_factory(), other_office.gestor).emails[0]
    open_dados(chat, texts.EMAILS)
    offer(chat, f"emd:{theirs.id}")

    chat.press_id(f"emd:{theirs.id}")

    assert chat.last_text().text.startswith("⚠️ E-mail não encontrado.\n\n")
    with pytest.raises(NotFound):
        gestor_profile.remove_email(uow_factory(), office.gestor, theirs.id)
    assert len(linked(uow_factory, other_office.gestor.gestor_id)) == 2


def test_a_contador_sees_the_e_mails_but_cannot_change_them(
    app_contador_chat: Chat, office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    chat = app_contador_chat
    open_dados(chat, texts.EMAILS)

    assert chat.last_text().text == emails_text(office.email)
    assert chat.labels() == [texts.VOLTAR, texts.MENU]
    contador = add_member(uow_factory, office, "test:c3", Role.CONTADOR)
    with pytest.raises(Forbidden):
        gestor_profile.add_email(uow_factory(), contador, "novo@escritorio1.com.br")
    with pytest.raises(Forbidden):
        gestor_profile.remove_email(uow_factory(), contador, 1)
    assert linked(uow_factory, office.gestor.gestor_id) == [office.email]


def test_the_service_refuses_an_e_mail_of_another_gestor_as_a_conflict(
    uow_factory: UnitOfWorkFactory, office: Office, other_office: Office
) -> None:
    with pytest.raises(Conflict) as caught:
        gestor_profile.add_email(uow_factory(), office.gestor, other_office.email)

    assert caught.value.message == OTHER_GESTOR_EMAIL
