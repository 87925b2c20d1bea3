"""Concurrency on SQLite and PostgreSQL: events of one identity serialize; a duplicated event
acts once. Two threads start together on a barrier and call the engine directly.

The dialogue is wrapped so the first event to get in holds its transaction a little longer: that
widens the race window (the second event arrives while the first is mid-transaction); the test
never relies on the pause for ordering, only on the locks under test.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, func, select

from bot.app import App, build_app
from bot.settings import Settings
from domain.clients import Role
from handlers.core import DialogueConfig
from handlers.router import Dialogue
from services import access
from services.conversation import Outcome, Result, Turn
from services.errors import InviteRefused
from services.messages import ChoiceBody, Inbound, Text, TextBody
from storage.conversation import StoredState
from storage.models import Client, OutboxMessage
from tests.support import Chat, add_client, cnpj, make_office

HOLD_SECONDS = 0.15


@dataclass
class SlowDialogue:
    """The real dialogue, pausing inside the event's transaction before it answers."""

    inner: Dialogue
    calls: int = 0

    def __call__(self, turn: Turn) -> Outcome:
        self.calls += 1
        time.sleep(HOLD_SECONDS)
        return self.inner(turn)


@pytest.fixture
def slow() -> SlowDialogue:
    return SlowDialogue(Dialogue(DialogueConfig()))


@pytest.fixture
def slow_app(db_engine: Engine, slow: SlowDialogue) -> App:
    settings = Settings(environment="test", database_url=str(db_engine.url), _env_file=None)
    return build_app(settings, db=db_engine, dialogue=slow)


@pytest.fixture
def gestor_chat(slow_app: App) -> Chat:
    office = make_office(slow_app.uow_factory, 1, identity_key="test:alice")
    for n, name in enumerate(["Padaria Sol Ltda", "Mercado Lua Ltda", "Farmácia Mar Ltda"]):
        add_client(slow_app.uow_factory, office.gestor, n + 1, name=name)
    return Chat(slow_app.conversation, slow_app.uow_factory, identity_key="test:alice")


def _at_once(handle: Callable[[Inbound], Result], events: list[Inbound]) -> list[Result]:
    """Hand every event to the engine from its own thread, all released together."""
    start = threading.Barrier(len(events))
    results: list[Result | None] = [None] * len(events)

    def worker(index: int) -> None:
        start.wait()
        results[index] = handle(events[index])

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(events))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "an event never finished"
    assert all(result is not None for result in results)
    return [result for result in results if result is not None]


def _state(app: App, key: str) -> StoredState:
    uow = app.uow_factory()
    with uow:
        stored = uow.conversations.load(key)
    assert stored is not None
    return stored


def _outbox_rows(app: App, key: str) -> int:
    uow = app.uow_factory()
    with uow:
        query = select(func.count()).where(OutboxMessage.identity_key == key)
        return uow.session.scalar(query) or 0


def _clients(app: App, documento: str) -> int:
    uow = app.uow_factory()
    with uow:
        query = select(func.count()).select_from(Client).where(Client.documento == documento)
        return uow.session.scalar(query) or 0


def test_two_searches_of_one_identity_at_once_are_applied_one_after_the_other(
    slow_app: App, gestor_chat: Chat
) -> None:
    gestor_chat.say("/menu")
    gestor_chat.press("Clientes")
    before = _state(slow_app, "test:alice")

    results = _at_once(
        slow_app.conversation.handle,
        [gestor_chat.event(TextBody("padaria")), gestor_chat.event(TextBody("mercado"))],
    )
    replies = gestor_chat.drain()

    assert results == [Result.DONE, Result.DONE]
    after = _state(slow_app, "test:alice")
    assert after.version == before.version + 2
    texts = [m.text for m in replies if isinstance(m, Text)]
    assert len(texts) == 2
    assert {("Padaria Sol" in t, "Mercado Lua" in t) for t in texts} == {
        (True, False),
        (False, True),
    }
    # The state kept is the one written by the event whose answer was committed last.
    last_query = "padaria" if "Padaria Sol" in texts[-1] else "mercado"
    assert after.data["q"] == last_query


def test_two_answers_in_novo_cadastro_at_once_both_move_the_flow_forward(
    slow_app: App, gestor_chat: Chat
) -> None:
    gestor_chat.say("/menu")
    gestor_chat.press("Novo cliente")
    gestor_chat.press("Novo cadastro")
    gestor_chat.press("Gestor")
    gestor_chat.press("FazNota")
    gestor_chat.press(next(label for label in gestor_chat.labels() if label.startswith("Ouro")))
    gestor_chat.say(cnpj(50))
    before = _state(slow_app, "test:alice")
    assert before.step == "razao"

    # Two answers that are each valid at the step they may land on (razão social, nome fantasia).
    results = _at_once(
        slow_app.conversation.handle,
        [
            gestor_chat.event(TextBody("Padaria Concorrente Ltda")),
            gestor_chat.event(TextBody("Padaria Concorrente")),
        ],
    )
    gestor_chat.drain()

    assert results == [Result.DONE, Result.DONE]
    after = _state(slow_app, "test:alice")
    assert after.version == before.version + 2
    assert after.step == "email"


def test_the_same_event_delivered_twice_at_once_acts_once(
    slow_app: App, gestor_chat: Chat, slow: SlowDialogue
) -> None:
    gestor_chat.say("/menu")
    gestor_chat.press("Clientes")
    before = _state(slow_app, "test:alice")
    rows_before = _outbox_rows(slow_app, "test:alice")
    calls_before = slow.calls
    event = gestor_chat.event(TextBody("farmácia"))

    results = _at_once(slow_app.conversation.handle, [event, event])
    replies = gestor_chat.drain()

    assert sorted(results) == sorted([Result.DONE, Result.DUPLICATE])
    assert slow.calls == calls_before + 1
    assert _state(slow_app, "test:alice").version == before.version + 1
    assert _outbox_rows(slow_app, "test:alice") == rows_before + len(replies)
    assert len(replies) == 1
    assert isinstance(replies[0], Text)
    assert "Farmácia Mar" in replies[0].text


def _to_the_summary(chat: Chat, documento: str) -> None:
    chat.say("/menu")
    chat.press("Novo cliente")
    chat.press("Novo cadastro")
    chat.press("Cliente")
    chat.press("FazNota")
    chat.press(next(label for label in chat.labels() if label.startswith("Bronze")))
    for answer in (
        documento,
        "Oficina Dupla Ltda",
        "Oficina Dupla",
        "contato@oficinadupla.com.br",
        "(21) 99876-5432",
        "20040-002",
        "Av. Rio Branco, 1 - Centro - Rio de Janeiro/RJ",
    ):
        chat.say(answer)
    assert "Cadastrar" in chat.labels()


def test_a_cadastrar_press_delivered_twice_at_once_registers_one_client(
    slow_app: App, gestor_chat: Chat
) -> None:
    _to_the_summary(gestor_chat, cnpj(60))
    press = gestor_chat.event(ChoiceBody(gestor_chat.button_id("Cadastrar")))

    results = _at_once(slow_app.conversation.handle, [press, press])
    replies = gestor_chat.drain()

    assert sorted(results) == sorted([Result.DONE, Result.DUPLICATE])
    assert _clients(slow_app, cnpj(60)) == 1
    texts = [m.text for m in replies if isinstance(m, Text)]
    assert sum("cadastrado com status Teste" in t for t in texts) == 1
    assert not any("algo deu errado" in t for t in texts)


def test_cadastrar_pressed_twice_quickly_registers_one_client_and_the_second_press_expires(
    slow_app: App, gestor_chat: Chat
) -> None:
    _to_the_summary(gestor_chat, cnpj(61))
    choice = gestor_chat.button_id("Cadastrar")

    results = _at_once(
        slow_app.conversation.handle,
        [gestor_chat.event(ChoiceBody(choice)), gestor_chat.event(ChoiceBody(choice))],
    )
    replies = gestor_chat.drain()

    assert results == [Result.DONE, Result.DONE]
    assert _clients(slow_app, cnpj(61)) == 1
    texts = [m.text for m in replies if isinstance(m, Text)]
    assert sum("cadastrado com status Teste" in t for t in texts) == 1
    assert any("Essa opção expirou" in t for t in texts)
    assert not any("algo deu errado" in t for t in texts)


@dataclass
class Rendezvous:
    """The real dialogue, which first waits until every expected event is inside one too."""

    inner: Dialogue
    meeting: threading.Barrier

    def __call__(self, turn: Turn) -> Outcome:
        self.meeting.wait()  # raises BrokenBarrierError (→ FAILED) if the others never come in
        return self.inner(turn)


def test_events_of_two_identities_are_processed_at_the_same_time_on_postgresql(
    db_engine: Engine,
) -> None:
    if db_engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time by design")
    settings = Settings(environment="test", database_url=str(db_engine.url), _env_file=None)
    meeting = threading.Barrier(2, timeout=10)
    app = build_app(settings, db=db_engine, dialogue=Rendezvous(Dialogue(), meeting))
    chats = []
    for n, key in enumerate(["test:ana", "test:bruno"], start=1):
        make_office(app.uow_factory, n, identity_key=key)
        chats.append(Chat(app.conversation, app.uow_factory, identity_key=key))

    results = _at_once(
        app.conversation.handle,
        [chats[0].event(TextBody("/menu")), chats[1].event(TextBody("/menu"))],
    )

    assert results == [Result.DONE, Result.DONE]
    assert not meeting.broken
    assert all("O que você quer fazer?" in c.drain()[-1].text for c in chats)  # type: ignore[union-attr]


def test_one_invite_code_redeemed_from_two_chats_at_once_binds_only_one(
    slow_app: App,
) -> None:
    office = make_office(slow_app.uow_factory, 3)
    issued = access.invite(slow_app.uow_factory(), gestor_cnpj=office.cnpj, role=Role.CONTADOR)
    start = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def redeem(key: str) -> None:
        start.wait()
        try:
            access.redeem_invite(
                slow_app.uow_factory(),
                code=issued.code,
                identity_key=key,
                channel="tg",
                address=key.split(":", 1)[1],
                display_name=None,
            )
            outcomes[key] = "bound"
        except InviteRefused as exc:
            outcomes[key] = exc.message

    threads = [threading.Thread(target=redeem, args=(k,)) for k in ("tg:301", "tg:302")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(outcomes) == 2
    assert list(outcomes.values()).count("bound") == 1
    assert any("já foi usado" in outcome for outcome in outcomes.values())
    bound = [k for k in outcomes if access.resolve_principal(slow_app.uow_factory(), k)]
    assert bound == [k for k, v in outcomes.items() if v == "bound"]
