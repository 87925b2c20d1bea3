"""/entrar: a new chat binds itself with the gestor's e-mail and password; 5 misses lock it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from bot.app import App
from domain.clients import Role
from handlers import texts
from services import notices, passwords
from services.messages import DeleteMessage, Text
from services.types import UnitOfWorkFactory
from storage.models import UserIdentity
from tests.support import Chat, Office, make_office
from tests.unit.helpers import texts_of
from tests.unit.meus_dados.support import TelegramChat, gestor_audit, gestor_row

SECRET = "Horizonte2026azul"
T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
WRONG = passwords.WrongPassword.message


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def owner(app: App, uow_factory: UnitOfWorkFactory, clock: time_machine.Traveller) -> Chat:
    """The gestor's chat that already has access (identity test:gestor1)."""
    return Chat(app.conversation, app.uow_factory, identity_key="test:gestor1")


@pytest.fixture
def office_with_password(uow_factory: UnitOfWorkFactory, owner: Chat) -> Office:
    office = make_office(uow_factory, 1)
    passwords.change_password(uow_factory(), office.gestor, passwords.hash_password(SECRET))
    return office


@pytest.fixture
def newcomer(app: App, clock: time_machine.Traveller) -> TelegramChat:
    return TelegramChat(app.conversation, app.uow_factory, identity_key="tg:777")


def identity(uow_factory: UnitOfWorkFactory, key: str) -> UserIdentity | None:
    with uow_factory() as uow:
        row = uow.identities.by_key(key)
        if row is not None:
            uow.session.expunge(row)
        return row


def deliver_notices(app: App) -> None:
    notices.dispatch(app.uow_factory, app.conversation.handle)


def try_password(chat: Chat, email: str, password: str) -> list[object]:
    chat.say("/entrar")
    chat.say(email)
    return list(chat.say(password))


def test_entrar_asks_the_e_mail_then_the_password_and_binds_the_chat_as_gestor(
    app: App, newcomer: TelegramChat, office_with_password: Office, owner: Chat
) -> None:
    assert texts_of(newcomer.say("/entrar")) == [texts.ENTRAR_ASK_EMAIL]
    asked = newcomer.say(office_with_password.email.upper())
    assert texts_of(asked) == [f"{texts.ENTRAR_ASK_SENHA}\n{texts.SENHA_APAGADA_NOTE}"]

    replies = newcomer.say(SECRET)

    assert isinstance(replies[0], DeleteMessage)
    assert replies[1] == Text(texts.ENTRAR_OK.format(gestor="Escritório 1 Ltda"))
    assert newcomer.last_text().text.startswith(texts.MENU_TEXT)
    bound = identity(app.uow_factory, "tg:777")
    assert bound is not None
    assert bound.active
    assert (bound.gestor_id, bound.role) == (office_with_password.gestor.gestor_id, Role.GESTOR)
    deliver_notices(app)
    assert owner.drain() == [
        Text(texts.LOGIN_NEW_CHAT_NOTICE.format(channel="Telegram", name=", Alice"))
    ]
    assert newcomer.drain() == []


def test_a_wrong_password_is_counted_and_says_e_mail_or_password_do_not_match(
    app: App, newcomer: TelegramChat, office_with_password: Office
) -> None:
    replies = try_password(newcomer, office_with_password.email, "Errada2026abc")

    assert isinstance(replies[0], DeleteMessage)
    assert replies[1] == Text(f"⚠️ {WRONG}\n\n{texts.ENTRAR_ASK_EMAIL}")
    assert identity(app.uow_factory, "tg:777") is None
    gestor = gestor_row(app.uow_factory, office_with_password.gestor.gestor_id)
    assert gestor.failed_logins == 1


def test_an_unknown_e_mail_gets_the_same_answer_as_a_wrong_password(
    newcomer: TelegramChat, office_with_password: Office
) -> None:
    replies = try_password(newcomer, "ninguem@nada.com.br", SECRET)

    assert replies[1] == Text(f"⚠️ {WRONG}\n\n{texts.ENTRAR_ASK_EMAIL}")


def test_a_gestor_without_a_password_cannot_enter(
    app: App, newcomer: TelegramChat, uow_factory: UnitOfWorkFactory, owner: Chat
) -> None:
    office = make_office(uow_factory, 1)

    replies = try_password(newcomer, office.email, SECRET)

    assert replies[1] == Text(f"⚠️ {WRONG}\n\n{texts.ENTRAR_ASK_EMAIL}")
    assert identity(app.uow_factory, "tg:777") is None


def test_five_wrong_passwords_lock_for_15_minutes_and_the_owner_is_told(
    app: App,
    newcomer: TelegramChat,
    office_with_password: Office,
    owner: Chat,
    clock: time_machine.Traveller,
) -> None:
    email = office_with_password.email
    for _ in range(4):
        try_password(newcomer, email, "Errada2026abc")

    fifth = try_password(newcomer, email, "Errada2026abc")

    locked = (
        "⛔ Foram 5 tentativas com a senha errada: o acesso por senha desta conta está bloqueado "
        "por 15 minutos, até as 09:15. Os chats já vinculados foram avisados."
    )
    assert fifth[1] == Text(locked)
    # Even the right password is refused while locked.
    clock.shift(timedelta(minutes=14))
    assert try_password(newcomer, email, SECRET)[1] == Text(locked)
    assert identity(app.uow_factory, "tg:777") is None
    deliver_notices(app)
    assert owner.drain() == [Text(texts.LOGIN_LOCKED_NOTICE.format(channel="Telegram"))]
    actions = [
        e.action for e in gestor_audit(app.uow_factory, office_with_password.gestor.gestor_id)
    ]
    assert actions.count("gestor.login_locked") == 1

    clock.shift(timedelta(minutes=1, seconds=1))
    replies = try_password(newcomer, email, SECRET)

    assert replies[1] == Text(texts.ENTRAR_OK.format(gestor="Escritório 1 Ltda"))
    gestor = gestor_row(app.uow_factory, office_with_password.gestor.gestor_id)
    assert (gestor.failed_logins, gestor.locked_until) == (0, None)


def test_a_right_password_resets_the_count_of_misses(
    app: App, newcomer: TelegramChat, office_with_password: Office, uow_factory: UnitOfWorkFactory
) -> None:
    for _ in range(4):
        try_password(newcomer, office_with_password.email, "Errada2026abc")
    passwords.log_in(
        uow_factory(),
        email=office_with_password.email,
        password=SECRET,
        identity_key="tg:888",
        channel="telegram",
        address="888",
        display_name=None,
    )

    try_password(newcomer, office_with_password.email, "Errada2026abc")

    assert gestor_row(uow_factory, office_with_password.gestor.gestor_id).failed_logins == 1


def test_cancelar_during_entrar_stops_it(
    newcomer: TelegramChat, office_with_password: Office
) -> None:
    newcomer.say("/entrar")

    assert texts_of(newcomer.say("/cancelar")) == [texts.ENTRAR_CANCELLED]
    assert texts_of(newcomer.say(office_with_password.email)) == [
        texts.NO_ACCESS.format(support="suporte@revendabot.com.br")
    ]


def test_on_the_console_the_password_question_warns_it_stays_in_the_history(
    app: App, office_with_password: Office, clock: time_machine.Traveller
) -> None:
    console = Chat(
        app.conversation, app.uow_factory, identity_key="console:novo", channel="console"
    )
    console.say("/entrar")

    asked = console.say(office_with_password.email)

    assert texts_of(asked) == [f"{texts.ENTRAR_ASK_SENHA}\n{texts.SENHA_FICA_NO_CHAT}"]
    assert console.say(SECRET)[0] == Text(texts.APAGUE_A_SENHA)  # said at once, after it


def test_a_password_starting_with_a_slash_logs_in_and_is_deleted(
    app: App, newcomer: TelegramChat, office_with_password: Office
) -> None:
    """It was taken for a command: the question was asked again and the message stayed."""
    slashed = "/Horizonte2026azul"
    passwords.change_password(
        app.uow_factory(), office_with_password.gestor, passwords.hash_password(slashed)
    )

    replies = try_password(newcomer, office_with_password.email, slashed)

    assert isinstance(replies[0], DeleteMessage)
    assert replies[1] == Text(texts.ENTRAR_OK.format(gestor="Escritório 1 Ltda"))
    assert identity(app.uow_factory, "tg:777") is not None


def test_ajuda_at_the_password_question_asks_it_again_without_a_miss(
    app: App, newcomer: TelegramChat, office_with_password: Office
) -> None:
    newcomer.say("/entrar")
    newcomer.say(office_with_password.email)

    replies = newcomer.say("/ajuda")

    assert texts_of(replies) == [f"{texts.ENTRAR_ASK_SENHA}\n{texts.SENHA_APAGADA_NOTE}"]
    assert gestor_row(app.uow_factory, office_with_password.gestor.gestor_id).failed_logins == 0


def test_a_chat_with_access_is_told_it_already_has_it(
    owner: Chat, office_with_password: Office
) -> None:
    owner.say("/entrar")

    assert owner.received[-2] == Text(texts.ENTRAR_ALREADY.format(gestor="Escritório 1 Ltda"))


def test_ten_wrong_passwords_from_one_chat_pause_it_whatever_the_e_mails(
    newcomer: TelegramChat, office_with_password: Office, clock: time_machine.Traveller
) -> None:
    for n in range(9):
        try_password(newcomer, f"pessoa{n}@nada.com.br", "Errada2026abc")

    tenth = try_password(newcomer, "pessoa9@nada.com.br", "Errada2026abc")

    paused = Text(f"⛔ {texts.ENTRAR_PAUSED.format(time='09:15')}")
    assert tenth[1] == paused
    newcomer.say("/cancelar")
    assert texts_of(newcomer.say("/entrar")) == [paused.text]
    clock.shift(timedelta(minutes=15, seconds=1))
    assert texts_of(newcomer.say("/entrar")) == [texts.ENTRAR_ASK_EMAIL]
