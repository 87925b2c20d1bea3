"""Integration keys (hash only, shown once, replaceable) and notices pushed to a gestor's chats."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, update

from bot.app import CHANNEL_CAPABILITIES, App
from domain.clients import ContractStatus, Role
from handlers import notices as notice_renderers
from handlers.core import Ctx, go_card
from services import integration_keys, notices
from services.capabilities import Capabilities
from services.conversation import ConversationEngine, Outcome, Turn
from services.errors import Forbidden, NotFound
from services.messages import Choice, Inbound, Outbound, Text, TextBody
from services.types import UnitOfWorkFactory
from storage.models import AuditEntry, Client, IntegrationKey
from tests.support import Chat, add_client, add_member, make_office


def set_status(uow_factory: UnitOfWorkFactory, client_id: int, status: ContractStatus) -> None:
    uow = uow_factory()
    with uow:
        uow.session.execute(update(Client).where(Client.id == client_id).values(status=status))
        uow.commit()


def test_a_new_client_gets_a_key_that_is_stored_only_as_a_hash(
    uow_factory: UnitOfWorkFactory,
) -> None:
    office = make_office(uow_factory, 1)
    card = add_client(uow_factory, office.gestor, 1)

    assert card.integration_key is not None
    assert integration_keys.authenticate(uow_factory(), card.integration_key).client_id == card.id
    uow = uow_factory()
    with uow:
        [stored] = uow.session.scalars(select(IntegrationKey)).all()
        assert card.integration_key not in (stored.key_hash, stored.prefix)
        assert card.integration_key.startswith(stored.prefix)
    info = integration_keys.current(uow_factory(), office.gestor, card.id)
    assert info is not None
    assert info.prefix == card.integration_key[:12]


def test_a_regenerated_key_replaces_the_old_one_at_once_and_is_audited(
    uow_factory: UnitOfWorkFactory,
) -> None:
    office = make_office(uow_factory, 1)
    card = add_client(uow_factory, office.gestor, 1)
    assert card.integration_key is not None

    new_key = integration_keys.regenerate(uow_factory(), office.gestor, card.id)

    with pytest.raises(integration_keys.KeyRefused):
        integration_keys.authenticate(uow_factory(), card.integration_key)
    assert integration_keys.authenticate(uow_factory(), new_key).client_id == card.id
    uow = uow_factory()
    with uow:
        entry = uow.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "integration_key.regenerate")
        ).one()
        assert entry.before == {"prefix": card.integration_key[:12]}
        assert entry.after == {"prefix": new_key[:12]}


@pytest.mark.parametrize("status", [ContractStatus.BLOQUEADO, ContractStatus.CANCELADO])
def test_a_blocked_or_cancelled_client_key_is_refused_until_efetivado_again(
    uow_factory: UnitOfWorkFactory, status: ContractStatus
) -> None:
    office = make_office(uow_factory, 1)
    card = add_client(uow_factory, office.gestor, 1)
    assert card.integration_key is not None

    set_status(uow_factory, card.id, status)
    with pytest.raises(integration_keys.AccessCut):
        integration_keys.authenticate(uow_factory(), card.integration_key)

    set_status(uow_factory, card.id, ContractStatus.EFETIVADO)
    assert integration_keys.authenticate(uow_factory(), card.integration_key).client_id == card.id


@pytest.mark.parametrize("raw", ["", "Bearer x", "rvb_naoexiste", "rvb_" + "x" * 200])
def test_unknown_or_malformed_keys_are_refused(uow_factory: UnitOfWorkFactory, raw: str) -> None:
    with pytest.raises(integration_keys.KeyRefused, match="Chave de integração inválida"):
        integration_keys.authenticate(uow_factory(), raw)


def test_another_gestor_cannot_see_or_replace_a_client_key(
    uow_factory: UnitOfWorkFactory,
) -> None:
    mine = make_office(uow_factory, 1)
    theirs = make_office(uow_factory, 2)
    card = add_client(uow_factory, theirs.gestor, 1)

    with pytest.raises(NotFound):
        integration_keys.current(uow_factory(), mine.gestor, card.id)
    with pytest.raises(NotFound):
        integration_keys.regenerate(uow_factory(), mine.gestor, card.id)


def test_a_contador_cannot_see_or_replace_a_client_key(uow_factory: UnitOfWorkFactory) -> None:
    office = make_office(uow_factory, 1)
    contador = add_member(uow_factory, office, "test:carol", Role.CONTADOR)
    card = add_client(uow_factory, office.gestor, 1)

    with pytest.raises(Forbidden):
        integration_keys.current(uow_factory(), contador, card.id)
    with pytest.raises(Forbidden):
        integration_keys.regenerate(uow_factory(), contador, card.id)


def _signed_up(ctx: Ctx, data: dict[str, Any]) -> list[Outbound]:
    return [
        Text(
            f"Novo cliente: {data['name']}",
            ((Choice(go_card(data["cid"]), "Abrir cliente"),),),
        )
    ]


@pytest.fixture
def renderer(monkeypatch: pytest.MonkeyPatch) -> None:
    renderers = {**notice_renderers.NOTICE_RENDERERS, "test.signed_up": _signed_up}
    monkeypatch.setattr("handlers.router.NOTICE_RENDERERS", renderers)


@pytest.mark.usefixtures("renderer")
def test_a_notice_reaches_every_chat_of_the_gestor_once_and_opens_the_card(app: App) -> None:
    office = make_office(app.uow_factory, 1, identity_key="test:alice")
    add_member(app.uow_factory, office, "test:carol", Role.CONTADOR)
    other = make_office(app.uow_factory, 2, identity_key="test:bob")
    card = add_client(app.uow_factory, office.gestor, 1)
    alice = Chat(app.conversation, app.uow_factory, identity_key="test:alice")
    carol = Chat(app.conversation, app.uow_factory, identity_key="test:carol")
    bob = Chat(app.conversation, app.uow_factory, identity_key="test:bob")
    alice.say("/menu")
    alice.press("Clientes")  # in the middle of something: the notice must not disturb it

    uow = app.uow_factory()
    with uow:
        notices.publish(
            uow,
            office.gestor.gestor_id,
            "test.signed_up",
            {"cid": card.id, "name": card.razao_social},
        )
        uow.commit()
    assert notices.dispatch(app.uow_factory, app.conversation.handle) == 1
    assert notices.dispatch(app.uow_factory, app.conversation.handle) == 0

    [to_alice] = alice.drain()
    [to_carol] = carol.drain()
    assert bob.drain() == []
    assert other.gestor.gestor_id != office.gestor.gestor_id
    assert isinstance(to_alice, Text)
    assert to_alice.text == f"Novo cliente: {card.razao_social}"
    assert isinstance(to_carol, Text)

    alice.press("Abrir cliente")
    assert alice.last_text().text.startswith(f"🏢 {card.razao_social}\n")
    alice.press("Voltar")
    assert "Clientes" not in alice.labels()  # back to the list, not the menu
    assert card.razao_social in alice.labels()


@pytest.mark.usefixtures("renderer")
def test_a_notice_dispatched_twice_reaches_each_chat_once(app: App) -> None:
    office = make_office(app.uow_factory, 1, identity_key="test:alice")
    card = add_client(app.uow_factory, office.gestor, 1)
    alice = Chat(app.conversation, app.uow_factory, identity_key="test:alice")
    uow = app.uow_factory()
    with uow:
        notices.publish(
            uow, office.gestor.gestor_id, "test.signed_up", {"cid": card.id, "name": "X"}
        )
        uow.commit()
    handled: list[object] = []

    def handle_twice(event: Any) -> None:  # a second instance racing on the same notice
        handled.append(app.conversation.handle(event))
        handled.append(app.conversation.handle(event))

    notices.dispatch(app.uow_factory, handle_twice)

    assert [str(h) for h in handled] == ["done", "duplicate"]
    assert len(alice.drain()) == 1


def test_a_notice_reaches_each_chat_as_an_event_with_that_channels_capabilities(
    app: App, uow_factory: UnitOfWorkFactory
) -> None:
    office = make_office(uow_factory, 1, identity_key="whatsapp:5511")
    add_member(uow_factory, office, "telegram:42", Role.GESTOR)
    notices.publish(uow_factory(), office.gestor.gestor_id, "login.locked", {"channel": "x"})
    seen: dict[str, Capabilities] = {}

    def handle(event: Inbound) -> None:
        seen[event.channel] = event.capabilities

    notices.dispatch(uow_factory, handle, capabilities=CHANNEL_CAPABILITIES)

    assert seen == {
        "whatsapp": CHANNEL_CAPABILITIES["whatsapp"],
        "telegram": CHANNEL_CAPABILITIES["telegram"],
    }


def test_only_an_event_that_publishes_a_notice_wakes_the_notice_loop(app: App) -> None:
    office = make_office(app.uow_factory, 1, identity_key="test:alice")
    woken = {"sender": 0, "notices": 0}

    def dialogue(turn: Turn) -> Outcome:
        if isinstance(turn.event.body, TextBody) and turn.event.body.text == "publica":
            notices.publish(turn.uow, office.gestor.gestor_id, "test.signed_up", {"cid": 1})
        return Outcome([Text("ok")], None)

    engine = ConversationEngine(
        app.uow_factory,
        dialogue,
        on_enqueued=lambda: woken.__setitem__("sender", woken["sender"] + 1),
        on_published=lambda: woken.__setitem__("notices", woken["notices"] + 1),
    )
    alice = Chat(engine, app.uow_factory, identity_key="test:alice")
    alice.say("oi")
    alice.say("tudo bem?")
    assert woken == {"sender": 2, "notices": 0}
    alice.say("publica")
    assert woken == {"sender": 3, "notices": 1}
    alice.say("oi de novo")  # the count is the transaction's, not the engine's
    assert woken == {"sender": 4, "notices": 1}
    assert notices.dispatch(app.uow_factory, lambda _event: None) == 1


def test_the_app_wakes_the_notice_loop_apart_from_the_sender(app: App) -> None:
    sender: list[str] = []
    loop: list[str] = []
    app.wakeup.subscribe(lambda: sender.append("woken"))
    app.notice_wakeup.subscribe(lambda: loop.append("woken"))
    make_office(app.uow_factory, 1, identity_key="test:alice")
    Chat(app.conversation, app.uow_factory, identity_key="test:alice").say("/menu")
    assert (len(sender), loop) == (1, [])
    app.wake()  # outside a chat event (a sign-up, a sweep): both look
    assert (len(sender), len(loop)) == (2, 1)
