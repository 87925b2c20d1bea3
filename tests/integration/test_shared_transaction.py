"""Events that share one transaction (services/conversation.py `handle_many`, storage/uow.py
`SharedTransaction`).

What each event reads and writes must be what it would have alone, one after the other; a unit
that leaves what it began uncommitted spoils the shared transaction, which then keeps nothing;
if anything fails, nothing of the group is kept and each event is handled alone, so none is
lost or handled twice.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.exc import OperationalError

from bot.app import App
from services import access, catalog
from services.conversation import ConversationEngine, Outcome, Result, State, Turn
from services.messages import Body, ChoiceBody, Inbound, Text, TextBody
from services.types import UnitOfWorkFactory
from storage.db import lock_key
from storage.models import Gestor, OutboxMessage
from storage.uow import SharedTransaction
from tests.support import add_client, cnpj, make_office

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


# -- the shared transaction itself --------------------------------------------------------------


def _claimed(uow_factory: UnitOfWorkFactory, event_id: str) -> bool:
    """Whether the event was recorded as processed (claiming it again says so)."""
    uow = uow_factory()
    with uow:
        return not uow.conversations.claim_event("t", event_id, NOW)


def _gestor(n: int) -> Gestor:
    return Gestor(cnpj=cnpj(n), razao_social=f"Escritório {n}", created_at=NOW)


def _cnpjs(uow_factory: UnitOfWorkFactory) -> set[str]:
    uow = uow_factory()
    with uow:
        return set(uow.session.scalars(select(Gestor.cnpj)))


def test_units_that_commit_are_kept_together_and_each_sees_the_earlier_ones(
    uow_factory: UnitOfWorkFactory,
) -> None:
    with uow_factory.shared() as shared:
        first = shared.unit_of_work()
        with first:
            first.conversations.claim_event("t", "first", NOW)
            first.commit()
        idle = shared.unit_of_work()
        with idle:  # no statement: nothing of its own to commit
            pass
        second = shared.unit_of_work()
        with second:
            assert not second.conversations.claim_event("t", "first", NOW)
            second.conversations.claim_event("t", "second", NOW)
            second.commit()
        shared.commit()

    assert [first.committed, idle.committed, second.committed] == [True, False, True]
    assert _claimed(uow_factory, "first")
    assert _claimed(uow_factory, "second")


def test_nothing_is_kept_without_the_shared_commit(uow_factory: UnitOfWorkFactory) -> None:
    with uow_factory.shared() as shared:
        unit = shared.unit_of_work()
        with unit:
            unit.conversations.claim_event("t", "e1", NOW)
            unit.gestores.add(_gestor(1))
            unit.commit()

    assert not _claimed(uow_factory, "e1")
    assert _cnpjs(uow_factory) == set()


@pytest.mark.parametrize("leaves", ["without commit", "rolled back", "raising"])
def test_a_unit_that_leaves_what_it_began_uncommitted_spoils_the_shared_transaction(
    uow_factory: UnitOfWorkFactory, leaves: str
) -> None:
    """Its statements are in the shared transaction (it has no savepoint to undo them), so the
    shared commit refuses, and nothing of any unit is kept."""
    with uow_factory.shared() as shared:
        first = shared.unit_of_work()
        with first:
            first.conversations.claim_event("t", "kept-alone", NOW)
            first.commit()
        second = shared.unit_of_work()
        with contextlib.suppress(ValueError), second:
            second.conversations.claim_event("t", "left", NOW)
            if leaves == "rolled back":
                second.rollback()
            elif leaves == "raising":
                raise ValueError("a step that fails")
        assert shared.spoiled
        with pytest.raises(RuntimeError, match="without committing"):
            shared.commit()

    assert not _claimed(uow_factory, "kept-alone")
    assert not _claimed(uow_factory, "left")


def test_a_units_orm_session_commits_with_it(uow_factory: UnitOfWorkFactory) -> None:
    with uow_factory.shared() as shared:
        first = shared.unit_of_work()
        with first:
            first.conversations.claim_event("t", "core-first", NOW)  # Core, then the session
            first.gestores.add(_gestor(1))
            first.commit()
        second = shared.unit_of_work()
        with second:
            second.gestores.add(_gestor(2))  # the session first, then Core
            second.session.flush()
            second.conversations.claim_event("t", "core-second", NOW)
            second.commit()
        third = shared.unit_of_work()
        with third:
            assert third.gestores.by_cnpj(cnpj(1)) is not None
            assert third.gestores.by_cnpj(cnpj(2)) is not None
            third.commit()
        shared.commit()

    assert _cnpjs(uow_factory) == {cnpj(1), cnpj(2)}
    assert _claimed(uow_factory, "core-first")
    assert _claimed(uow_factory, "core-second")


def test_a_unit_whose_orm_session_is_left_uncommitted_spoils_the_shared_transaction(
    uow_factory: UnitOfWorkFactory,
) -> None:
    with uow_factory.shared() as shared:
        unit = shared.unit_of_work()
        with unit:
            unit.gestores.add(_gestor(2))
            unit.session.flush()
        with pytest.raises(RuntimeError, match="without committing"):
            shared.commit()

    assert _cnpjs(uow_factory) == set()


def test_a_nested_use_case_in_a_unit_waits_for_the_units_commit(
    uow_factory: UnitOfWorkFactory,
) -> None:
    with uow_factory.shared() as shared:
        unit = shared.unit_of_work()
        with unit:
            access.create_gestor(
                unit, cnpj=cnpj(5), razao_social="Escritório Cinco", email="cinco@exemplo.com.br"
            )
            assert unit.committed is False  # the use case's commit was not the unit's
        assert shared.spoiled
        with pytest.raises(RuntimeError, match="without committing"):
            shared.commit()

    assert _cnpjs(uow_factory) == set()


def test_a_unit_that_committed_its_part_takes_no_more_work(
    uow_factory: UnitOfWorkFactory,
) -> None:
    with uow_factory.shared() as shared:
        unit = shared.unit_of_work()
        with unit:
            unit.gestores.add(_gestor(1))
            unit.commit()
            # neither its own (released) nor to be rolled back with it: refused
            with pytest.raises(RuntimeError):
                unit.conversations.claim_event("t", "late", NOW)
            with pytest.raises(RuntimeError):
                unit.session.add(_gestor(2))
        shared.commit()

    assert _cnpjs(uow_factory) == {cnpj(1)}
    assert not _claimed(uow_factory, "late")


# -- events handled together ---------------------------------------------------------------------


def counting(turn: Turn) -> Outcome:
    """Counts each identity's events in its state and answers with the count; "boom" raises."""
    body = turn.event.body
    if isinstance(body, TextBody) and body.text == "boom":
        raise RuntimeError("a step that fails")
    count = (turn.state.data["count"] if turn.state else 0) + 1
    return Outcome(
        [Text(f"{turn.event.event_id}: {count}")], State("conta", "conta", {"count": count})
    )


def said(identity: str, event_id: str, text: str = "oi") -> Inbound:
    return Inbound("t", identity, event_id, identity, TextBody(text), datetime.now(UTC))


def outbox_texts(uow_factory: UnitOfWorkFactory) -> dict[str, list[str]]:
    uow = uow_factory()
    with uow:
        found = uow.session.execute(
            select(OutboxMessage.identity_key, OutboxMessage.payload).order_by(OutboxMessage.id)
        ).all()
    texts: dict[str, list[str]] = defaultdict(list)
    for identity, payload in found:
        texts[identity].append(payload.get("text", ""))
    return texts


@contextmanager
def commits(app: App) -> Iterator[list[int]]:
    """Counts the engine's COMMITs while the block runs."""
    seen: list[int] = []

    def committed(_connection: Any) -> None:
        seen.append(1)

    event.listen(app.db, "commit", committed)
    try:
        yield seen
    finally:
        event.remove(app.db, "commit", committed)


def test_events_handled_together_commit_once_and_each_is_kept(app: App) -> None:
    engine = ConversationEngine(app.uow_factory, counting)
    events = [said("t:a", "a1"), said("t:b", "b1"), said("t:c", "c1")]

    with commits(app) as seen:
        results = engine.handle_many(events)

    assert results == [Result.DONE] * 3
    assert len(seen) == 1
    assert outbox_texts(app.uow_factory) == {"t:a": ["a1: 1"], "t:b": ["b1: 1"], "t:c": ["c1: 1"]}


def test_one_identitys_events_together_are_handled_in_their_order(app: App) -> None:
    engine = ConversationEngine(app.uow_factory, counting)

    results = engine.handle_many([said("t:a", "a1"), said("t:a", "a2"), said("t:a", "a3")])

    assert results == [Result.DONE] * 3
    assert outbox_texts(app.uow_factory) == {"t:a": ["a1: 1", "a2: 2", "a3: 3"]}


def test_a_duplicate_among_events_handled_together_is_skipped(app: App) -> None:
    engine = ConversationEngine(app.uow_factory, counting)
    assert engine.handle(said("t:a", "a1")) is Result.DONE

    results = engine.handle_many(
        [said("t:a", "a1"), said("t:b", "b1"), said("t:b", "b1"), said("t:a", "a2")]
    )

    assert results == [Result.DUPLICATE, Result.DONE, Result.DUPLICATE, Result.DONE]
    assert outbox_texts(app.uow_factory) == {"t:a": ["a1: 1", "a2: 2"], "t:b": ["b1: 1"]}


def test_a_failing_event_costs_the_others_nothing_and_none_is_handled_twice(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    engine = ConversationEngine(app.uow_factory, counting)
    events = [said("t:a", "a1"), said("t:b", "b1", "boom"), said("t:c", "c1")]

    with commits(app) as seen:
        results = engine.handle_many(events)

    assert results == [Result.DONE, Result.FAILED, Result.DONE]
    texts = outbox_texts(app.uow_factory)
    assert texts["t:a"] == ["a1: 1"]  # counted once: the abandoned group kept nothing
    assert texts["t:c"] == ["c1: 1"]
    [error] = texts["t:b"]
    assert error.startswith("Ops, algo deu errado do nosso lado e nada foi salvo.")
    assert len(seen) == 3  # each alone (its failure recorded in a transaction of its own)
    assert "3 events shared a transaction that failed" in caplog.text
    for identity, event_id in (("t:a", "a1"), ("t:b", "b1"), ("t:c", "c1")):
        assert engine.handle(said(identity, event_id)) is Result.DUPLICATE


def test_events_handled_together_are_claimed_in_one_statement_before_any_step(
    app: App,
) -> None:
    """The group's claim records every event and serializes on every identity (PostgreSQL:
    their advisory locks, taken in one order) before the first step runs, so two groups with
    identities in common never hold what the other waits for."""
    seen: list[tuple[str, bool]] = []

    def looking(turn: Turn) -> Outcome:
        if app.db.dialect.name == "postgresql":
            with app.db.connect() as other:  # another session: is the last identity held?
                free = other.execute(
                    text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": lock_key("identity:t:c")}
                ).scalar_one()
                other.rollback()
            seen.append((turn.event.event_id, bool(free)))
        return counting(turn)

    engine = ConversationEngine(app.uow_factory, looking)
    statements: list[str] = []

    def executed(_c: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(app.db, "before_cursor_execute", executed)
    try:
        results = engine.handle_many([said("t:a", "a1"), said("t:b", "b1"), said("t:c", "c1")])
    finally:
        event.remove(app.db, "before_cursor_execute", executed)

    assert results == [Result.DONE] * 3
    claims = [s for s in statements if "processed_event" in s]
    assert len(claims) == 1
    if app.db.dialect.name == "postgresql":
        assert seen[0] == ("a1", False)  # c's identity held while a's step ran


def test_groups_with_identities_in_common_in_opposite_orders_take_turns(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    """Two threads (as two processes would) handle groups of the same three identities, one in
    the opposite order of the other: each identity's events are serialized across the groups
    (every count follows the one before; without the claim's locks two groups read the same
    count on PostgreSQL), and no group fails. The order the locks are taken in, which keeps
    such groups from deadlocking, is shown step by step in test_storage.py."""
    engine = ConversationEngine(app.uow_factory, counting)
    identities = ["t:a", "t:b", "t:c"]
    rounds = 15
    failures: list[BaseException] = []

    def run(name: str, order: list[str]) -> None:
        try:
            for n in range(rounds):
                events = [said(key, f"{name}-{n}-{key}") for key in order]
                assert engine.handle_many(events) == [Result.DONE] * 3
        except BaseException as error:  # (reported by the main thread)
            failures.append(error)

    threads = [
        threading.Thread(target=run, args=("up", identities)),
        threading.Thread(target=run, args=("down", identities[::-1])),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert failures == []
    assert "shared a transaction that failed" not in caplog.text
    for key, texts in outbox_texts(app.uow_factory).items():
        assert [int(text.rsplit(": ", 1)[1]) for text in texts] == list(range(1, 2 * rounds + 1))
        assert key in identities


def test_when_the_shared_commit_fails_each_event_is_handled_alone(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = ConversationEngine(app.uow_factory, counting)
    wakes: list[int] = []
    engine.on_enqueued = lambda: wakes.append(1)
    commit = SharedTransaction.commit
    failures = [OperationalError("COMMIT", {}, Exception("disk I/O error"))]

    def failing_once(shared: SharedTransaction) -> None:
        if failures:
            raise failures.pop()
        commit(shared)

    monkeypatch.setattr(SharedTransaction, "commit", failing_once)

    results = engine.handle_many([said("t:a", "a1"), said("t:b", "b1")])

    assert results == [Result.DONE, Result.DONE]
    assert not failures
    assert outbox_texts(app.uow_factory) == {"t:a": ["a1: 1"], "t:b": ["b1: 1"]}
    assert len(wakes) == 2  # each event's replies, once: none for the group that failed


def test_one_event_handled_together_is_handled_alone(app: App) -> None:
    engine = ConversationEngine(app.uow_factory, counting)

    with commits(app) as seen:
        assert engine.handle_many([said("t:a", "a1")]) == [Result.DONE]

    assert len(seen) == 1
    assert engine.handle_many([]) == []


def test_around_wraps_each_events_own_processing(app: App) -> None:
    engine = ConversationEngine(app.uow_factory, counting)
    seen: list[str] = []

    @contextmanager
    def around(inbound: Inbound) -> Iterator[None]:
        seen.append(f"begin {inbound.event_id}")
        yield
        seen.append(f"end {inbound.event_id}")

    engine.handle_many([said("t:a", "a1"), said("t:b", "b1")], around=around)

    assert seen == ["begin a1", "end a1", "begin b1", "end b1"]


# -- the real dialogue: together or one by one, the same replies and states -----------------------


def _office(app: App, n: int, identity: str) -> None:
    """An office with three clients; its name and theirs differ from run to run only by
    numbers, which `_masked` masks."""
    office = make_office(app.uow_factory, 700 + n, identity_key=identity)
    for i in range(3):
        add_client(app.uow_factory, office.gestor, 8000 + 10 * n + i, name=f"Cliente {i} Ltda")


def _walk(app: App, n: int) -> list[Body]:
    """The menu, the client list, a wrong CNPJ and a whole Novo cadastro."""
    software = catalog.list_softwares(app.uow_factory())[0]
    return [
        TextBody("/menu"),
        ChoiceBody("m:clientes"),
        ChoiceBody("nav:menu"),
        ChoiceBody("m:novo"),
        ChoiceBody("n:cadastro"),
        ChoiceBody("pay:gestor"),
        ChoiceBody(f"sw:{software.id}"),
        ChoiceBody(f"pl:{software.plans[-1].id}"),
        TextBody("123"),  # not a CNPJ: asked again
        TextBody(cnpj(9500 + n)),
        TextBody("Padaria Pão Quente Ltda"),
        ChoiceBody("skip"),
        TextBody("contato@paoquente.com.br"),
        TextBody("(11) 98765-4321"),
        TextBody("01310-100"),
        TextBody("Av. Paulista, 1000 - Bela Vista - São Paulo/SP"),
        ChoiceBody("ok"),
        TextBody("/menu"),
    ]


def _masked(value: object) -> str:
    """Numbers (ids, CNPJs, dates), the prompts' random tokens and the new client's random
    integration key masked."""
    shown = json.dumps(value, sort_keys=True)
    shown = re.sub(r"rvb_[\w-]+", "rvb_key", shown)
    shown = re.sub(r'"[\w-]{6}\|', '"token|', shown)
    shown = re.sub(r'"_prompt": "[\w-]+"', '"_prompt": "token"', shown)
    return re.sub(r"\d+", "#", shown)


def _shown(app: App, identities: Sequence[str]) -> list[tuple[list[str], Any]]:
    """Each identity's replies and state, masked (`_masked`)."""
    uow = app.uow_factory()
    with uow:
        found = uow.session.execute(
            select(OutboxMessage.identity_key, OutboxMessage.payload).order_by(OutboxMessage.id)
        ).all()
        states = {key: uow.conversations.load(key) for key in identities}
    payloads: dict[str, list[str]] = defaultdict(list)
    for identity, payload in found:
        payloads[identity].append(_masked(payload))
    shown = []
    for key in identities:
        state = states[key]
        assert state is not None
        shown.append((payloads[key], (state.flow, state.step, _masked(state.data), state.version)))
    return shown


def test_the_dialogue_answers_the_same_together_as_one_by_one(app: App) -> None:
    alone, together = ["t:a1", "t:a2", "t:a3"], ["t:b1", "t:b2", "t:b3"]
    for n, identity in enumerate(alone + together):
        _office(app, n, identity)
    walks = {identity: _walk(app, n) for n, identity in enumerate(alone + together)}

    def inbound(identity: str, step: int) -> Inbound:
        body = walks[identity][step]
        return Inbound(
            "t",
            identity,
            f"{identity}:{step}",
            identity.split(":", 1)[1],
            body,
            datetime.now(UTC),
            message_ref="m1" if isinstance(body, ChoiceBody) else None,
        )

    steps = len(walks[alone[0]])
    for step in range(steps):
        for identity in alone:
            assert app.conversation.handle(inbound(identity, step)) is Result.DONE
    with commits(app) as seen:
        for step in range(steps):
            results = app.conversation.handle_many([inbound(key, step) for key in together])
            assert results == [Result.DONE] * 3

    assert len(seen) == steps
    one_by_one, shared = _shown(app, alone), _shown(app, together)
    assert shared == one_by_one
    assert len(one_by_one[0][0]) > steps  # (every step answered)
