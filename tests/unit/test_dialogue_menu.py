"""The main menu, the commands from any state, and stale or forged buttons."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import Engine

from bot.app import build_app
from bot.settings import Settings
from domain.clients import Role
from handlers import texts
from handlers.router import COMMANDS
from services import access
from services.conversation import Result
from services.types import UnitOfWorkFactory
from tests.support import Chat, Office, add_client
from tests.unit.helpers import client_count, state_of, step_of, texts_of, walk_to

pytestmark = pytest.mark.usefixtures("office")
MENU_LABELS = [
    texts.CLIENTES,
    texts.NOVO_CLIENTE,
    texts.CONSULTAR_NOTA,
    texts.MEUS_DADOS,
    texts.AJUDA,
    texts.PENDENCIAS_BUTTON.format(count=0),
]


def test_the_first_message_greets_by_office_and_shows_the_menu_with_the_hint(
    chat: Chat, office: Office
) -> None:
    replies = chat.say("oi")

    assert texts_of(replies) == [
        texts.WELCOME.format(name="Escritório 1 Ltda"),
        f"{texts.MENU_TEXT}\n\n{texts.MENU_HINT}",
    ]
    assert chat.labels() == MENU_LABELS
    assert step_of(chat) == ("menu", "inicio")


def test_meus_dados_opens_its_screen_and_voltar_returns_to_the_menu(chat: Chat) -> None:
    chat.say("/menu")

    chat.press(texts.MEUS_DADOS)

    assert chat.last_text().text == texts.DADOS_TEXT.format(name="Escritório 1 Ltda")
    chat.press(texts.VOLTAR)
    assert chat.labels() == MENU_LABELS


def test_the_ajuda_button_explains_the_bot_and_keeps_the_menu(chat: Chat) -> None:
    chat.say("/menu")

    chat.press(texts.AJUDA)

    shown = chat.last_text().text
    assert shown.startswith(texts.HELP.format(support="suporte@revendabot.com.br"))
    assert shown.endswith(texts.MENU_TEXT)
    assert chat.labels() == MENU_LABELS


def test_text_typed_at_the_menu_reprompts(chat: Chat) -> None:
    chat.say("/menu")

    chat.say("bom dia, tudo bem?")  # not a shortcut (tests/unit/test_dialogue_shortcuts.py)

    assert chat.last_text().text == f"{texts.USE_BUTTONS}\n\n{texts.MENU_TEXT}"


# -- commands from any state ----------------------------------------------------------------


@pytest.mark.parametrize("step", ["software", "email", "resumo"])
def test_menu_command_leaves_any_step_for_the_menu(
    chat: Chat, uow_factory: UnitOfWorkFactory, step: str
) -> None:
    walk_to(chat, step)

    replies = chat.say("/menu")

    assert texts_of(replies) == [texts.MENU_TEXT]
    assert chat.labels() == MENU_LABELS
    assert step_of(chat) == ("menu", "inicio")
    assert client_count(uow_factory) == 0


def test_menu_command_addressed_to_the_bot_in_a_group_works(chat: Chat) -> None:
    walk_to(chat, "documento")

    chat.say("/menu@RevendaBot")

    assert step_of(chat) == ("menu", "inicio")


def test_cancelar_with_nothing_going_on_says_so(chat: Chat) -> None:
    chat.say("/menu")

    replies = chat.say("/cancelar")

    assert texts_of(replies) == [texts.NOTHING_TO_CANCEL, texts.MENU_TEXT]


def test_cancelar_in_the_middle_of_a_flow_cancels(chat: Chat) -> None:
    walk_to(chat, "cep")

    replies = chat.say("/CANCELAR")

    assert texts_of(replies) == [texts.CANCELLED, texts.MENU_TEXT]
    assert step_of(chat) == ("menu", "inicio")


def test_ajuda_from_a_flow_shows_the_help_with_the_support_contact(chat: Chat) -> None:
    walk_to(chat, "razao")

    replies = chat.say("/ajuda")

    assert texts_of(replies) == [
        texts.HELP.format(support="suporte@revendabot.com.br"),
        texts.MENU_TEXT,
    ]
    assert "/cancelar" in texts_of(replies)[0]


def test_ajuda_names_the_configured_support_contact(db_engine: Engine) -> None:
    settings = Settings(
        environment="test",
        database_url=str(db_engine.url),
        support_contact="WhatsApp (11) 4000-1234",
        _env_file=None,
    )
    app = build_app(settings, db=db_engine)
    issued = access.create_gestor(
        app.uow_factory(),
        cnpj="11.222.333/0001-81",
        razao_social="Contábil Sul",
        email="a@contabilsul.com.br",
    )
    chat = Chat(app.conversation, app.uow_factory, identity_key="test:bob")
    chat.say(f"/start {issued.code}")

    chat.say("/ajuda")

    assert "Suporte: WhatsApp (11) 4000-1234" in texts_of(chat.received[-2:])[0]


def test_start_without_a_code_greets_again_and_shows_the_menu(chat: Chat) -> None:
    walk_to(chat, "email")

    replies = chat.say("/start")

    assert texts_of(replies) == [
        texts.WELCOME.format(name="Escritório 1 Ltda"),
        f"{texts.MENU_TEXT}\n\n{texts.MENU_HINT}",
    ]
    assert step_of(chat) == ("menu", "inicio")


def test_start_with_a_code_on_a_chat_that_has_access_leaves_the_code_unused(
    chat: Chat, office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    issued = access.invite(uow_factory(), gestor_cnpj=office.cnpj, role=Role.CONTADOR)

    replies = chat.say(f"/start {issued.code}")

    assert texts_of(replies)[0] == texts.ALREADY_BOUND
    principal = access.redeem_invite(
        uow_factory(),
        code=issued.code,
        identity_key="test:carol",
        channel="test",
        address="carol",
        display_name=None,
    )
    assert principal.role is Role.CONTADOR


def test_an_unknown_command_at_the_menu_says_which_commands_exist(chat: Chat) -> None:
    chat.say("/menu")

    replies = chat.say("/relatorio")

    assert texts_of(replies) == [
        f"{texts.UNKNOWN_COMMAND.format(command='/relatorio')}\n\n{texts.MENU_TEXT}"
    ]
    assert step_of(chat) == ("menu", "inicio")


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_the_router_knows_is_acted_on(chat: Chat, command: str) -> None:
    chat.say("/menu")

    replies = chat.say(command)

    assert chat.result is Result.DONE
    assert replies
    assert not [m for m in texts_of(replies) if "Não conheço o comando" in m]


def test_an_unknown_command_in_a_flow_asks_the_same_question_again(chat: Chat) -> None:
    walk_to(chat, "telefone")

    chat.say("/telefone")

    assert chat.last_text().text == (
        f"{texts.UNKNOWN_COMMAND.format(command='/telefone')}\n\n{texts.ASK_PHONE}"
    )
    assert step_of(chat) == ("cadastro", "telefone")


# -- stale and forged buttons ---------------------------------------------------------------


def test_a_button_from_an_old_menu_answers_expired_and_asks_the_live_question_again(
    chat: Chat,
) -> None:
    chat.say("/menu")
    clientes = chat.button_id(texts.CLIENTES)
    chat.press(texts.NOVO_CLIENTE)
    chat.press(texts.NOVO_CADASTRO)
    payer = chat.last_text()

    replies = chat.press_id(clientes)

    assert texts_of(replies) == [texts.EXPIRED_KEPT, payer.text]
    assert chat.labels() == [c.label for c in payer.choices]
    assert step_of(chat) == ("cadastro", "pagador")


def test_a_button_from_an_old_message_at_the_menu_answers_expired_and_shows_the_menu(
    chat: Chat,
) -> None:
    chat.say("/menu")
    clientes = chat.button_id(texts.CLIENTES)
    chat.press(texts.AJUDA)
    chat.say("/menu")

    replies = chat.press_id(clientes)

    assert texts_of(replies) == [texts.EXPIRED, texts.MENU_TEXT]
    assert chat.labels() == MENU_LABELS
    assert step_of(chat) == ("menu", "inicio")


@pytest.mark.parametrize("forged", ["c:1", "ok", "pl:1", "g:open", "x" * 64, ""])
def test_a_forged_button_never_offered_answers_expired(chat: Chat, forged: str) -> None:
    walk_to(chat, "documento")

    replies = chat.press_id(forged)

    assert texts_of(replies) == [texts.EXPIRED, texts.MENU_TEXT]
    assert step_of(chat) == ("menu", "inicio")


def test_after_menu_an_old_cadastrar_press_creates_nothing(
    chat: Chat, uow_factory: UnitOfWorkFactory
) -> None:
    walk_to(chat, "resumo")
    confirm = chat.button_id(texts.CADASTRAR)
    chat.say("/menu")

    replies = chat.press_id(confirm)

    assert client_count(uow_factory) == 0
    assert texts_of(replies) == [texts.EXPIRED, texts.MENU_TEXT]


def test_a_button_pressed_after_the_conversation_expired_answers_expired(
    chat: Chat, uow_factory: UnitOfWorkFactory
) -> None:
    walk_to(chat, "resumo")
    confirm = chat.button_id(texts.CADASTRAR)

    with time_machine.travel(datetime.now(UTC) + timedelta(hours=25)):
        replies = chat.press_id(confirm)

    assert client_count(uow_factory) == 0
    assert texts_of(replies) == [texts.EXPIRED, texts.MENU_TEXT]


def test_the_menu_button_of_a_card_goes_home(
    chat: Chat, office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    add_client(uow_factory, office.gestor, 1)
    chat.say("/menu")
    chat.press(texts.CLIENTES)
    chat.press("Cliente 001 Ltda")

    chat.press(texts.MENU)

    assert chat.last_text().text == texts.MENU_TEXT
    assert step_of(chat) == ("menu", "inicio")


def test_the_menu_button_of_an_old_message_leaves_the_live_flow_as_it_is(
    chat: Chat, office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    add_client(uow_factory, office.gestor, 1)
    chat.say("/menu")
    chat.press(texts.CLIENTES)
    chat.press("Cliente 001 Ltda")
    old_menu = chat.button_id(texts.MENU)
    chat.press(texts.GERENCIAR)

    replies = chat.press_id(old_menu)

    assert texts_of(replies)[0] == texts.EXPIRED_KEPT
    assert step_of(chat) == ("clientes", "gerenciar")


def test_a_stale_menu_button_with_no_state_at_all_answers_expired(chat: Chat) -> None:
    assert state_of(chat) is None

    replies = chat.press_id("m:clientes")

    assert texts_of(replies) == [texts.EXPIRED, texts.MENU_TEXT]


def test_consultar_nota_of_a_key_no_client_may_ask_for_says_so_and_queues_nothing(
    chat: Chat, uow_factory: UnitOfWorkFactory
) -> None:
    from services.sefaz_consulta import SemCertificadoParaConsulta
    from tests.unit.fiscal.samples import Ide

    chat.say("/menu")
    chat.press(texts.CONSULTAR_NOTA)
    chat.say(Ide(nnf="77").chave())  # no client of the office has a certificate
    said = chat.last_text().text
    assert SemCertificadoParaConsulta.message in said
    assert said.endswith(texts.CONSULTA_ASK)  # the key may be typed again (or Menu)
    uow = uow_factory()
    with uow:
        assert not any(uow.jobs.counts().values())


def test_consultar_nota_where_the_sefaz_is_not_configured_says_so(db_engine: Engine) -> None:
    from handlers.core import DialogueConfig
    from handlers.router import Dialogue
    from tests.unit.fiscal.samples import Ide

    settings = Settings(environment="test", database_url=str(db_engine.url), _env_file=None)
    app = build_app(settings, db=db_engine, dialogue=Dialogue(DialogueConfig(sefaz=None)))
    issued = access.create_gestor(
        app.uow_factory(), cnpj="11.222.333/0001-81", razao_social="Sul", email="a@sul.com.br"
    )
    chat = Chat(app.conversation, app.uow_factory, identity_key="test:bob")
    chat.say(f"/start {issued.code}")
    chat.press(texts.CONSULTAR_NOTA)
    chat.say(Ide(nnf="78").chave())
    assert texts.SEFAZ_INDISPONIVEL in chat.last_text().text
