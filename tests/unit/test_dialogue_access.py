"""People without access: the polite explanation, and binding a chat with an invite code."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from domain.clients import Role
from handlers import texts
from services import access
from services.access import IssuedInvite, resolve_principal
from services.messages import Text
from services.types import UnitOfWorkFactory
from tests.support import Chat, cnpj
from tests.unit.helpers import state_of, step_of, texts_of

SUPPORT = "suporte@revendabot.com.br"
NO_ACCESS = texts.NO_ACCESS.format(support=SUPPORT)


@pytest.fixture
def gestor_invite(uow_factory: UnitOfWorkFactory) -> IssuedInvite:
    return access.create_gestor(
        uow_factory(),
        cnpj=cnpj(9100),
        razao_social="Contabilidade Horizonte Ltda",
        email="gestor@horizonte.com.br",
    )


def role_of(uow_factory: UnitOfWorkFactory, identity_key: str) -> Role | None:
    with uow_factory() as uow:
        principal = resolve_principal(uow, identity_key)
    return principal.role if principal else None


@pytest.mark.parametrize("first", ["oi", "/menu", "/start", "/ajuda", "12345"])
def test_an_unknown_identity_gets_only_the_polite_explanation(
    chat: Chat, uow_factory: UnitOfWorkFactory, first: str
) -> None:
    replies = chat.say(first)

    assert texts_of(replies) == [NO_ACCESS]
    assert isinstance(replies[0], Text)
    assert replies[0].buttons == ()
    assert state_of(chat) is None
    assert role_of(uow_factory, chat.identity_key) is None


def test_the_explanation_says_how_to_get_access(chat: Chat) -> None:
    chat.say("oi")

    shown = chat.last_text().text
    assert "código de convite" in shown
    assert "/start SEU-CODIGO" in shown
    assert f"Suporte: {SUPPORT}" in shown


def test_an_unknown_identity_pressing_a_button_gets_the_explanation(chat: Chat) -> None:
    replies = chat.press_id("m:clientes")

    assert texts_of(replies) == [NO_ACCESS]
    assert state_of(chat) is None


def test_start_with_a_gestor_code_binds_the_chat_and_shows_the_menu(
    chat: Chat, uow_factory: UnitOfWorkFactory, gestor_invite: IssuedInvite
) -> None:
    replies = chat.say(f"/start {gestor_invite.code}")

    assert texts_of(replies) == [
        texts.INVITE_ACCEPTED.format(gestor="Contabilidade Horizonte Ltda", role="gestor"),
        texts.WELCOME.format(name="Contabilidade Horizonte Ltda"),
        f"{texts.MENU_TEXT}\n\n{texts.MENU_HINT}",
    ]
    assert chat.labels() == [
        texts.CLIENTES,
        texts.NOVO_CLIENTE,
        texts.CONSULTAR_NOTA,
        texts.MEUS_DADOS,
        texts.AJUDA,
        texts.PENDENCIAS_BUTTON.format(count=0),
    ]
    assert role_of(uow_factory, chat.identity_key) is Role.GESTOR
    assert step_of(chat) == ("menu", "inicio")


def test_a_contador_code_binds_with_the_contador_role(
    chat: Chat, uow_factory: UnitOfWorkFactory, gestor_invite: IssuedInvite
) -> None:
    issued = access.invite(
        uow_factory(), gestor_cnpj=gestor_invite.gestor_cnpj, role=Role.CONTADOR
    )

    replies = chat.say(f"/start {issued.code}")

    assert texts_of(replies)[0] == texts.INVITE_ACCEPTED.format(
        gestor="Contabilidade Horizonte Ltda", role="contador"
    )
    assert role_of(uow_factory, chat.identity_key) is Role.CONTADOR
    assert texts.NOVO_CLIENTE not in chat.labels()
    replies = chat.press_id("m:novo")  # forged: a contador is never offered Novo cliente
    assert texts_of(replies)[0] == texts.EXPIRED


def test_a_code_typed_alone_in_lower_case_with_dashes_also_binds(
    chat: Chat, uow_factory: UnitOfWorkFactory, gestor_invite: IssuedInvite
) -> None:
    code = gestor_invite.code.lower()
    typed = f"{code[:4]}-{code[4:8]}-{code[8:]}"

    chat.say(typed)

    assert role_of(uow_factory, chat.identity_key) is Role.GESTOR


def test_a_code_is_single_use(
    chat: Chat, app: object, uow_factory: UnitOfWorkFactory, gestor_invite: IssuedInvite
) -> None:
    chat.say(f"/start {gestor_invite.code}")
    second = Chat(chat.engine, uow_factory, identity_key="test:mallory")

    replies = second.say(f"/start {gestor_invite.code}")

    [shown] = texts_of(replies)
    assert shown.startswith("⚠️ ")
    assert "já foi usado" in shown
    assert role_of(uow_factory, second.identity_key) is None
    assert state_of(second) is None


def test_an_expired_code_is_refused(
    chat: Chat, uow_factory: UnitOfWorkFactory, gestor_invite: IssuedInvite
) -> None:
    later = gestor_invite.expires_at + timedelta(minutes=1)

    with time_machine.travel(later, tick=False):
        replies = chat.say(f"/start {gestor_invite.code}")

    [shown] = texts_of(replies)
    assert "expirou" in shown
    assert role_of(uow_factory, chat.identity_key) is None
    assert state_of(chat) is None


def test_a_code_just_before_expiry_still_binds(
    chat: Chat, uow_factory: UnitOfWorkFactory, gestor_invite: IssuedInvite
) -> None:
    with time_machine.travel(gestor_invite.expires_at - timedelta(minutes=1), tick=False):
        chat.say(f"/start {gestor_invite.code}")

    assert role_of(uow_factory, chat.identity_key) is Role.GESTOR


def test_an_unknown_code_is_refused(
    chat: Chat, uow_factory: UnitOfWorkFactory, gestor_invite: IssuedInvite
) -> None:
    replies = chat.say("/start ABCDEFGHJKMN")

    [shown] = texts_of(replies)
    assert shown.startswith("⚠️ Não encontrei este código de convite")
    assert role_of(uow_factory, chat.identity_key) is None


def test_invites_expire_after_seven_days_by_default(
    uow_factory: UnitOfWorkFactory, gestor_invite: IssuedInvite
) -> None:
    remaining = gestor_invite.expires_at - datetime.now(UTC)

    assert timedelta(days=6, hours=23) < remaining <= timedelta(days=7)
