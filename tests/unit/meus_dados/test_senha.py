"""Meus dados › Senha: strength rules, typed twice, deleted from the chat, argon2id."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest

from bot.app import App
from domain.clients import Role
from domain.errors import InvalidValue
from handlers import texts
from services import passwords
from services.errors import Forbidden
from services.messages import DeleteMessage, Text, TextBody
from services.types import UnitOfWorkFactory
from storage.models import AuditEntry, ConversationState
from tests.support import Chat, Office, add_member, make_office
from tests.unit.helpers import offer, step_of
from tests.unit.meus_dados.support import TelegramChat, gestor_row, open_dados

GOOD = "Horizonte2026azul"
RULES = passwords.RULES


@pytest.fixture
def tg(app: App) -> TelegramChat:
    return TelegramChat(app.conversation, app.uow_factory)


@pytest.fixture
def tg_office(uow_factory: UnitOfWorkFactory, tg: TelegramChat) -> Office:
    return make_office(uow_factory, 1, identity_key=tg.identity_key)


CNPJ = "11222333000181"
EMAILS = ["financeiro@escritorio.com.br"]


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("curta1", f"A senha é curta demais. {RULES}"),
        ("somenteletrasaqui", f"A senha precisa misturar letras e números. {RULES}"),
        ("1234567890123", f"A senha precisa misturar letras e números. {RULES}"),
        (" Horizonte2026", "A senha não pode começar nem terminar com espaço."),
        ("x1" * 65, "A senha pode ter no máximo 128 caracteres."),
        ("senha11222333000181", f"A senha não pode conter o CNPJ. {RULES}"),
        ("abc11.222.333xyz", f"A senha não pode conter o CNPJ. {RULES}"),
        ("Financeiro2026!", f"A senha não pode conter um dos seus e-mails. {RULES}"),
    ],
)
def test_a_weak_password_is_refused_with_the_rule_it_breaks(password: str, message: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        passwords.check_strength(password, cnpj=CNPJ, emails=EMAILS)

    assert caught.value.message == message
    assert password not in str(caught.value)


def test_a_long_password_of_letters_and_digits_passes() -> None:
    passwords.check_strength(GOOD, cnpj=CNPJ, emails=EMAILS)


def test_the_hash_is_argon2id_and_only_the_same_password_matches() -> None:
    hashed = passwords.hash_password(GOOD)

    assert hashed.startswith("$argon2id$")
    assert passwords.matches(hashed, GOOD)
    assert not passwords.matches(hashed, GOOD + "x")
    assert not passwords.matches("not a hash", GOOD)


def test_senha_explains_the_rules_and_says_the_message_will_be_deleted(
    tg: TelegramChat, tg_office: Office
) -> None:
    open_dados(tg, texts.SENHA)

    assert tg.last_text().text == (
        f"{texts.SENHA_TEXT.format(status=texts.SENHA_UNSET)}\n\n"
        f"{texts.ASK_NOVA_SENHA}\n{texts.SENHA_APAGADA_NOTE}"
    )


def test_changing_the_password_deletes_each_typed_message_and_stores_argon2id(
    tg: TelegramChat, tg_office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    open_dados(tg, texts.SENHA)

    first = tg.say(GOOD)
    assert isinstance(first[0], DeleteMessage)
    assert tg.last_text().text == f"{texts.ASK_REPETIR_SENHA}\n{texts.SENHA_APAGADA_NOTE}"
    second = tg.say(GOOD)
    assert isinstance(second[0], DeleteMessage)
    assert first[0].message_ref != second[0].message_ref
    assert tg.last_text().text == texts.CONFIRMAR_SENHA_TEXT
    assert gestor_row(uow_factory, tg_office.gestor.gestor_id).password_hash is None

    tg.press(texts.CONFIRMAR_ALTERACAO)

    stored = gestor_row(uow_factory, tg_office.gestor.gestor_id).password_hash
    assert stored is not None
    assert stored.startswith("$argon2id$")
    assert passwords.matches(stored, GOOD)
    said = [m.text for m in tg.received if isinstance(m, Text)]
    assert said[-2] == texts.SENHA_ALTERADA
    assert step_of(tg) == ("dados", "inicio")


def test_the_password_never_reaches_the_state_the_audit_or_the_outbox(
    tg: TelegramChat, tg_office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    open_dados(tg, texts.SENHA)
    tg.say(GOOD)
    with uow_factory() as uow:
        state = uow.session.get(ConversationState, tg.identity_key)
        assert state is not None
        assert GOOD not in json.dumps(state.data)
        assert str(state.data["ph"]).startswith("$argon2id$")
    tg.say(GOOD)
    tg.press(texts.CONFIRMAR_ALTERACAO)

    with uow_factory() as uow:
        state = uow.session.get(ConversationState, tg.identity_key)
        assert state is not None
        assert "ph" not in state.data
        audit = uow.session.query(AuditEntry).filter_by(action="gestor.password").one()
        assert GOOD not in json.dumps([audit.before, audit.after])
    assert all(GOOD not in m.text for m in tg.received if isinstance(m, Text))


def test_a_weak_password_is_deleted_too_and_asked_again(
    tg: TelegramChat, tg_office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    open_dados(tg, texts.SENHA)

    replies = tg.say("curta1")

    assert isinstance(replies[0], DeleteMessage)
    assert replies[1] == Text(f"⚠️ A senha é curta demais. {RULES}")
    assert step_of(tg) == ("dados", "senha")


def test_two_different_passwords_start_over(
    tg: TelegramChat, tg_office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    open_dados(tg, texts.SENHA)
    tg.say(GOOD)

    replies = tg.say(GOOD + "x")

    assert isinstance(replies[0], DeleteMessage)
    assert replies[1] == Text(f"⚠️ {passwords.PasswordsDiffer.message}")
    assert step_of(tg) == ("dados", "senha")
    assert gestor_row(uow_factory, tg_office.gestor.gestor_id).password_hash is None


SLASHED = "/Horizonte2026azul"


def test_a_password_starting_with_a_slash_is_the_password_not_an_unknown_command(
    tg: TelegramChat, tg_office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    """Read as a command it was echoed back ("Não conheço o comando /horizonte…") and its
    message stayed in the chat."""
    open_dados(tg, texts.SENHA)

    first = tg.say(SLASHED)
    second = tg.say(SLASHED)
    tg.press(texts.CONFIRMAR_ALTERACAO)

    assert isinstance(first[0], DeleteMessage)
    assert isinstance(second[0], DeleteMessage)
    said = [m.text for m in tg.received if isinstance(m, Text)]
    assert not [text for text in said if "horizonte2026azul" in text.lower()]
    stored = gestor_row(uow_factory, tg_office.gestor.gestor_id).password_hash
    assert stored is not None
    assert passwords.matches(stored, SLASHED)


def test_at_the_password_question_the_commands_still_work(
    tg: TelegramChat, tg_office: Office
) -> None:
    open_dados(tg, texts.SENHA)

    replies = tg.say("/cancelar")

    assert not [m for m in replies if isinstance(m, DeleteMessage)]
    assert replies[0] == Text(texts.CANCELLED)
    assert step_of(tg)[0] != "dados"


@pytest.mark.parametrize("late", ["out of order", "stale"])
def test_a_password_that_arrives_late_is_never_quoted_back(
    tg: TelegramChat, tg_office: Office, late: str
) -> None:
    open_dados(tg, texts.SENHA)
    event = tg.event(TextBody(SLASHED))
    if late == "out of order":
        event = replace(event, out_of_order=True)
    else:  # past the age after which a command is no longer acted on
        event = replace(event, received_at=event.received_at - timedelta(minutes=30))

    replies = tg.deliver(event)

    assert replies
    assert not [m for m in replies if isinstance(m, Text) and "horizonte" in m.text.lower()]


def test_a_password_that_arrives_out_of_order_is_deleted_from_the_chat(
    tg: TelegramChat, tg_office: Office
) -> None:
    open_dados(tg, texts.SENHA)
    event = replace(tg.event(TextBody(GOOD)), out_of_order=True)

    replies = tg.deliver(event)

    assert replies[0] == DeleteMessage(event.message_ref or "", if_kept=texts.APAGUE_A_SENHA)
    note = texts.OUT_OF_ORDER.format(what=texts.OUT_OF_ORDER_HIDDEN)
    assert [m for m in replies if isinstance(m, Text) and m.text.startswith(note)]
    assert not [m for m in replies if isinstance(m, Text) and GOOD in m.text]
    assert step_of(tg) == ("dados", "senha")  # ignored: the question stands


def test_a_password_out_of_order_where_the_chat_cannot_delete_is_asked_to_be_deleted(
    chat: Chat, office: Office
) -> None:
    open_dados(chat, texts.SENHA)

    replies = chat.deliver(replace(chat.event(TextBody(GOOD)), out_of_order=True))

    assert not [m for m in replies if isinstance(m, DeleteMessage)]
    assert replies[0] == Text(texts.APAGUE_A_SENHA)
    assert not [m for m in replies if isinstance(m, Text) and GOOD in m.text]


def test_a_command_out_of_order_at_the_password_question_is_not_deleted(
    tg: TelegramChat, tg_office: Office
) -> None:
    open_dados(tg, texts.SENHA)

    replies = tg.deliver(replace(tg.event(TextBody("/menu")), out_of_order=True))

    assert not [m for m in replies if isinstance(m, DeleteMessage)]
    assert Text(texts.APAGUE_A_SENHA) not in replies


def test_a_channel_that_cannot_delete_warns_before_asking_and_asks_to_delete_it_after(
    chat: Chat, office: Office
) -> None:
    open_dados(chat, texts.SENHA)

    assert chat.last_text().text.endswith(f"{texts.ASK_NOVA_SENHA}\n{texts.SENHA_FICA_NO_CHAT}")
    replies = chat.say(GOOD)
    assert not [m for m in replies if isinstance(m, DeleteMessage)]
    assert replies[0] == Text(texts.APAGUE_A_SENHA)
    assert "apague a mensagem com a senha" in texts.APAGUE_A_SENHA


def test_each_deletion_carries_the_request_to_delete_it_should_telegram_refuse(
    tg: TelegramChat, tg_office: Office
) -> None:
    open_dados(tg, texts.SENHA)

    deletion = tg.say(GOOD)[0]

    assert isinstance(deletion, DeleteMessage)
    assert deletion.if_kept == texts.APAGUE_A_SENHA


def test_a_contador_cannot_open_senha_nor_change_the_password(
    app_contador_chat: Chat, office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    chat = app_contador_chat
    open_dados(chat)
    offer(chat, "d:senha")

    chat.press_id("d:senha")

    assert chat.last_text().text.startswith(f"⚠️ {Forbidden.message}")
    member = add_member(uow_factory, office, "test:c9", Role.CONTADOR)
    with pytest.raises(Forbidden):
        passwords.prepare_new_password(uow_factory(), member, GOOD)
    with pytest.raises(Forbidden):
        passwords.change_password(uow_factory(), member, passwords.hash_password(GOOD))
    assert gestor_row(uow_factory, office.gestor.gestor_id).password_hash is None
