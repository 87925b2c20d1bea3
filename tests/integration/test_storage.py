"""Storage on SQLite, and on PostgreSQL when TEST_DATABASE_URL is set: migrations and the seeded
catalog, catalog loading, UTC datetimes, the unit of work and the outbox."""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, Row, create_engine, event, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session

from bot.cli import SEED_CATALOG
from services import access, catalog, outbox
from services.conversation import enqueue_to
from services.messages import Text
from services.outbox import MAX_ATTEMPTS, Deferred, Delivered, Failed
from services.types import UnitOfWorkFactory
from storage.conversation import StoredState
from storage.db import lock_key, make_engine, make_session_factory
from storage.migrations import alembic_config, current_heads, upgrade
from storage.models import Gestor, OutboxMessage, Software
from tests.conftest import BACKENDS, PG_URL
from tests.support import cnpj

SEEDED_FAZNOTA = {
    "Bronze": Decimal("79.90"),
    "Prata": Decimal("119.90"),
    "Ouro": Decimal("179.90"),
    "Diamante": Decimal("299.90"),
}


# -- migrations ---------------------------------------------------------------------------------


@pytest.fixture(params=BACKENDS)
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A database with no tables at all (not even alembic_version)."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
        yield engine
        engine.dispose()
        return
    assert PG_URL
    base = make_url(PG_URL)
    name = f"revendabot_empty_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(base.set(database=name).render_as_string(hide_password=False))
    yield engine
    engine.dispose()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _seeded_faznota(uow_factory: UnitOfWorkFactory) -> dict[str, Decimal]:
    softwares = {s.name: s for s in catalog.list_softwares(uow_factory())}
    return {p.name: p.list_price for p in softwares["FazNota"].plans}


def test_a_sqlite_file_engine_hands_out_the_connection_checked_in_last(tmp_path: Path) -> None:
    """A SQLite connection forgets its page cache when another one wrote since its last
    transaction: a stream of transactions keeps to the one connection used last."""
    engine = make_engine(f"sqlite:///{tmp_path / 'lifo.db'}")
    try:
        first, second = engine.connect(), engine.connect()
        older = first.connection.dbapi_connection
        newer = second.connection.dbapi_connection
        first.close()
        second.close()  # checked in last
        for _ in range(3):
            with engine.begin() as connection:
                connection.execute(text("CREATE TABLE IF NOT EXISTS t (x INTEGER)"))
                connection.execute(text("INSERT INTO t VALUES (1)"))
                assert connection.connection.dbapi_connection is newer
        assert older is not newer
    finally:
        engine.dispose()


def test_migrations_take_an_empty_database_to_head_and_seed_the_catalog(
    empty_engine: Engine,
) -> None:
    upgrade(empty_engine)

    heads = set(ScriptDirectory.from_config(alembic_config(empty_engine)).get_heads())
    assert current_heads(empty_engine) == heads
    prices = _seeded_faznota(UnitOfWorkFactory(make_session_factory(empty_engine)))
    assert prices == SEEDED_FAZNOTA
    assert list(prices) == ["Bronze", "Prata", "Ouro", "Diamante"]
    assert all(type(price) is Decimal for price in prices.values())


def test_upgrading_twice_changes_nothing_and_does_not_seed_the_catalog_again(
    empty_engine: Engine,
) -> None:
    upgrade(empty_engine)
    upgrade(empty_engine)

    with empty_engine.connect() as connection:
        plans = connection.execute(text("SELECT count(*) FROM plan")).scalar_one()
        softwares = connection.execute(text("SELECT count(*) FROM software")).scalar_one()
    assert (softwares, plans) == (2, 6)


def test_the_seeded_prices_are_exact_decimals(uow_factory: UnitOfWorkFactory) -> None:
    prices = _seeded_faznota(uow_factory)

    assert prices["Prata"] == Decimal("119.90")
    assert str(prices["Prata"]) == "119.90"
    assert sum(prices.values()) == Decimal("679.60")


# -- catalog load -------------------------------------------------------------------------------


def restore_seed_catalog(engine: Engine) -> None:
    """Put the catalog back as seeded: PostgreSQL tests share it (it is not truncated)."""
    seed = json.loads(SEED_CATALOG.read_text(encoding="utf-8"))
    wanted = {s["code"]: {p["code"] for p in s["plans"]} for s in seed["softwares"]}
    uow_factory = UnitOfWorkFactory(make_session_factory(engine))
    uow = uow_factory()
    with uow:
        for software in uow.session.scalars(select(Software)).all():
            for plan in software.plans:
                if plan.code not in wanted.get(software.code, set()):
                    uow.session.delete(plan)
            uow.session.flush()
            if software.code not in wanted:
                uow.session.delete(software)
        uow.commit()
    catalog.load_catalog(uow_factory(), SEED_CATALOG)


@pytest.fixture
def seed_catalog_restored(db_engine: Engine) -> Iterator[None]:
    yield
    restore_seed_catalog(db_engine)


def _catalog_file(tmp_path: Path, ouro: str, *, with_new: bool = True) -> Path:
    faznota_plans = [
        {"code": "bronze", "name": "Bronze", "monthly_price": "79.90"},
        {"code": "prata", "name": "Prata", "monthly_price": "119.90"},
        {"code": "ouro", "name": "Ouro", "monthly_price": ouro},
        {"code": "diamante", "name": "Diamante", "monthly_price": "299.90"},
    ]
    if with_new:
        faznota_plans.append({"code": "platina", "name": "Platina", "monthly_price": "449.99"})
    data = {
        "softwares": [
            {"code": "faznota", "name": "FazNota", "plans": faznota_plans},
            {
                "code": "faznota-mei",
                "name": "FazNota MEI",
                "plans": [{"code": "mei", "name": "MEI", "monthly_price": "29.9"}],
            },
        ]
    }
    path = tmp_path / f"catalog-{ouro}.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.mark.usefixtures("seed_catalog_restored")
def test_loading_a_catalog_inserts_new_plans_and_softwares_and_updates_prices(
    uow_factory: UnitOfWorkFactory, tmp_path: Path
) -> None:
    before = {s.name: s for s in catalog.list_softwares(uow_factory())}

    counted = catalog.load_catalog(uow_factory(), _catalog_file(tmp_path, "189.90"))

    after = {s.name: s for s in catalog.list_softwares(uow_factory())}
    assert counted == (2, 6)
    assert {p.name: p.list_price for p in after["FazNota"].plans} == {
        **SEEDED_FAZNOTA,
        "Ouro": Decimal("189.90"),
        "Platina": Decimal("449.99"),
    }
    assert [p.name for p in after["FazNota"].plans][-1] == "Platina"
    assert after["FazNota"].id == before["FazNota"].id
    assert {p.name: p.id for p in after["FazNota"].plans if p.name != "Platina"} == {
        p.name: p.id for p in before["FazNota"].plans
    }
    assert [(p.name, p.list_price) for p in after["FazNota MEI"].plans] == [
        ("MEI", Decimal("29.90"))
    ]
    assert after["FazNota PDV"] == before["FazNota PDV"]


@pytest.mark.usefixtures("seed_catalog_restored")
def test_loading_the_same_catalog_twice_is_idempotent(
    uow_factory: UnitOfWorkFactory, tmp_path: Path
) -> None:
    path = _catalog_file(tmp_path, "189.90")
    catalog.load_catalog(uow_factory(), path)
    once = catalog.list_softwares(uow_factory())

    catalog.load_catalog(uow_factory(), path)

    assert catalog.list_softwares(uow_factory()) == once


@pytest.mark.usefixtures("seed_catalog_restored")
def test_loading_a_changed_price_updates_it_in_place(
    uow_factory: UnitOfWorkFactory, tmp_path: Path
) -> None:
    catalog.load_catalog(uow_factory(), _catalog_file(tmp_path, "189.90", with_new=False))
    catalog.load_catalog(uow_factory(), _catalog_file(tmp_path, "199.99", with_new=False))

    assert _seeded_faznota(uow_factory)["Ouro"] == Decimal("199.99")


# -- UTC datetimes ------------------------------------------------------------------------------


def _gestor(n: int, created_at: datetime) -> Gestor:
    return Gestor(cnpj=cnpj(n), razao_social=f"Escritório {n}", created_at=created_at)


def test_an_aware_datetime_comes_back_as_the_same_instant_in_utc(
    uow_factory: UnitOfWorkFactory,
) -> None:
    sao_paulo = datetime(2026, 3, 1, 21, 30, 15, 123456, tzinfo=ZoneInfo("America/Sao_Paulo"))
    uow = uow_factory()
    with uow:
        gestor_id = uow.gestores.add(_gestor(1, sao_paulo)).id
        uow.commit()

    uow = uow_factory()
    with uow:
        stored = uow.gestores.get(gestor_id)
        assert stored is not None
        assert stored.created_at == sao_paulo
        assert stored.created_at.utcoffset() == timedelta(0)
        assert stored.created_at == datetime(2026, 3, 2, 0, 30, 15, 123456, tzinfo=UTC)


def test_a_naive_datetime_is_refused_and_nothing_is_stored(
    uow_factory: UnitOfWorkFactory,
) -> None:
    uow = uow_factory()
    with uow, pytest.raises(StatementError, match="naive datetime"):
        uow.gestores.add(_gestor(2, datetime(2026, 3, 1, 12, 0)))  # noqa: DTZ001

    uow = uow_factory()
    with uow:
        assert uow.gestores.count() == 0


# -- unit of work -------------------------------------------------------------------------------


def _gestores(uow_factory: UnitOfWorkFactory) -> int:
    uow = uow_factory()
    with uow:
        return uow.gestores.count()


def test_a_unit_of_work_rolls_back_when_not_committed(uow_factory: UnitOfWorkFactory) -> None:
    uow = uow_factory()
    with uow:
        uow.gestores.add(_gestor(3, datetime.now(UTC)))

    assert uow.committed is False
    assert _gestores(uow_factory) == 0


def test_a_unit_of_work_stores_what_it_commits(uow_factory: UnitOfWorkFactory) -> None:
    uow = uow_factory()
    with uow:
        uow.gestores.add(_gestor(4, datetime.now(UTC)))
        uow.commit()

    assert uow.committed is True
    assert _gestores(uow_factory) == 1


def test_a_nested_use_case_joins_the_outer_transaction_and_its_commit_waits_for_the_outer(
    uow_factory: UnitOfWorkFactory,
) -> None:
    uow = uow_factory()
    with uow:
        access.create_gestor(
            uow, cnpj=cnpj(5), razao_social="Escritório Cinco", email="cinco@exemplo.com.br"
        )
        assert uow.committed is False
        assert uow.gestores.by_cnpj(cnpj(5)) is not None
        uow.commit()

    assert _gestores(uow_factory) == 1


def test_an_error_after_a_nested_commit_rolls_back_everything(
    uow_factory: UnitOfWorkFactory,
) -> None:
    uow = uow_factory()

    def use_case_then_failure() -> None:
        with uow:
            uow.gestores.add(_gestor(6, datetime.now(UTC)))
            access.create_gestor(
                uow, cnpj=cnpj(7), razao_social="Escritório Sete", email="sete@exemplo.com.br"
            )
            raise RuntimeError("after the inner commit")

    with pytest.raises(RuntimeError):
        use_case_then_failure()

    assert uow.committed is False
    assert _gestores(uow_factory) == 0


def test_a_transaction_of_core_statements_alone_makes_no_orm_session(
    uow_factory: UnitOfWorkFactory,
) -> None:
    """The hot path (claim, state, replies) runs on a bare connection, and commits."""
    now = datetime.now(UTC)
    begun: list[Session] = []

    def seen(session: Session, *_: Any) -> None:
        begun.append(session)

    event.listen(Session, "after_begin", seen)
    try:
        uow = uow_factory()
        with uow:
            assert uow.conversations.claim_event("tg", "core-only", now)
            enqueue_to(uow, "tg", "tg:1", "1", [Text("oi")], now)
            uow.commit()
    finally:
        event.remove(Session, "after_begin", seen)

    assert begun == []
    uow = uow_factory()
    with uow:
        assert uow.conversations.claim_event("tg", "core-only", now) is False
        assert uow.outbox.pending_count("tg:1") == 1


@pytest.mark.parametrize("ends", ["commit", "error"])
def test_the_orm_session_takes_over_a_transaction_begun_by_core_statements(
    uow_factory: UnitOfWorkFactory, ends: str
) -> None:
    """Core statements first, then ORM work: one transaction, committed or rolled back whole,
    and the writer (SQLite) or the connection (PostgreSQL) is free again afterwards."""
    now = datetime.now(UTC)
    uow = uow_factory()
    with contextlib.suppress(RuntimeError), uow:
        assert uow.conversations.claim_event("tg", "mixed", now)
        uow.gestores.add(_gestor(8, now))
        if ends == "error":
            raise RuntimeError("after both")
        uow.commit()

    assert uow.committed is (ends == "commit")
    outcome: list[bool] = []

    def claim_again() -> None:  # on another thread: a writer left held would block it
        again = uow_factory()
        with again:
            outcome.append(again.conversations.claim_event("tg", "mixed", now))

    thread = threading.Thread(target=claim_again)
    thread.start()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert outcome == [ends == "error"]  # claimed again only if the first was rolled back
    assert _gestores(uow_factory) == (1 if ends == "commit" else 0)


def test_work_after_a_commit_in_the_same_block_is_a_transaction_of_its_own(
    uow_factory: UnitOfWorkFactory,
) -> None:
    now = datetime.now(UTC)
    uow = uow_factory()
    with uow:
        uow.conversations.claim_event("tg", "first", now)
        uow.commit()
        uow.conversations.claim_event("tg", "second", now)  # never committed

    uow = uow_factory()
    with uow:
        assert uow.conversations.claim_event("tg", "first", now) is False
        assert uow.conversations.claim_event("tg", "second", now) is True


# -- conversation state and processed events ----------------------------------------------------


def test_an_event_is_claimed_once_per_channel(uow_factory: UnitOfWorkFactory) -> None:
    now = datetime.now(UTC)
    uow = uow_factory()
    with uow:
        claims = [
            uow.conversations.claim_event("tg", "update-1", now),
            uow.conversations.claim_event("tg", "update-1", now),
            uow.conversations.claim_event("wa", "update-1", now),
        ]
        uow.commit()

    uow = uow_factory()
    with uow:
        assert uow.conversations.claim_event("tg", "update-1", now) is False
    assert claims == [True, False, True]


def test_events_claimed_together_are_each_claimed_once(uow_factory: UnitOfWorkFactory) -> None:
    now = datetime.now(UTC)
    uow = uow_factory()
    with uow:
        uow.conversations.claim_event("tg", "before", now)
        uow.commit()

    uow = uow_factory()
    with uow:
        fresh = uow.conversations.claim_events(
            [("tg", "before"), ("tg", "new"), ("wa", "new"), ("tg", "new")],
            now,
            locks=["identity:tg:1", "identity:wa:1", "identity:tg:1"],
        )
        uow.commit()

    assert fresh == {("tg", "new"), ("wa", "new")}
    uow = uow_factory()
    with uow:
        assert uow.conversations.claim_events([("tg", "new"), ("wa", "new")], now) == set()
        assert uow.conversations.claim_events([], now) == set()


def _try_lock(engine: Engine, key: int) -> bool:
    """Whether another session can take advisory lock `key` now (and gives it back at once)."""
    with engine.connect() as connection:
        taken = connection.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": key})
        result = bool(taken.scalar_one())
        connection.rollback()
    return result


@pytest.mark.postgres
@pytest.mark.parametrize("given", ["ascending", "descending"])
def test_on_postgresql_events_claimed_together_lock_their_identities_in_one_order(
    db_engine: Engine, given: str
) -> None:
    """Whatever the order given, the claim takes its identities' locks in ascending key order:
    two groups of events with identities in common then wait for one another instead of each
    holding what the other waits for."""
    if db_engine.dialect.name != "postgresql":
        pytest.skip("advisory locks are PostgreSQL's")
    uow_factory = UnitOfWorkFactory(make_session_factory(db_engine))
    names = sorted(["identity:tg:1", "identity:tg:2"], key=lock_key)
    low, high = (lock_key(name) for name in names)
    if given == "descending":
        names.reverse()
    now = datetime.now(UTC)
    claimed: list[set[tuple[str, str]]] = []

    def claim() -> None:
        uow = uow_factory()
        with uow:
            claimed.append(
                uow.conversations.claim_events([("tg", "1"), ("tg", "2")], now, locks=names)
            )
            uow.commit()

    with db_engine.connect() as holder:
        holder.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": high})
        thread = threading.Thread(target=claim)
        thread.start()
        deadline = time.monotonic() + 10
        while _try_lock(db_engine, low) and time.monotonic() < deadline:
            time.sleep(0.02)
        # the claim took the lower key and waits for the higher one (it has not returned)
        assert not _try_lock(db_engine, low)
        assert thread.is_alive()
        assert claimed == []
        holder.rollback()  # frees the higher key
    thread.join(timeout=10)

    assert claimed == [{("tg", "1"), ("tg", "2")}]
    assert _try_lock(db_engine, low)  # given back at the commit
    assert _try_lock(db_engine, high)


def test_old_processed_events_are_forgotten(uow_factory: UnitOfWorkFactory) -> None:
    now = datetime.now(UTC)
    uow = uow_factory()
    with uow:
        uow.conversations.claim_event("tg", "old", now - timedelta(days=3))
        uow.conversations.claim_event("tg", "new", now)
        forgotten = uow.conversations.forget_events_before(now - timedelta(days=1))
        uow.commit()

    uow = uow_factory()
    with uow:
        assert forgotten == 1
        assert uow.conversations.claim_event("tg", "old", now) is True
        assert uow.conversations.claim_event("tg", "new", now) is False


def test_the_conversation_state_round_trips_and_is_replaced_on_save(
    uow_factory: UnitOfWorkFactory,
) -> None:
    now = datetime.now(UTC)
    expires = datetime(2026, 12, 1, 9, 30, tzinfo=ZoneInfo("America/Sao_Paulo"))
    data = {"q": "São João", "p": 2, "_hist": ["lista"], "x": {"preço": "89.95", "n": None}}
    uow = uow_factory()
    with uow:
        assert uow.conversations.load("test:ana") is None
        uow.conversations.save("test:ana", StoredState("clientes", "lista", data, 1, None), now)
        uow.conversations.save("test:ana", StoredState("cadastro", "razao", data, 2, expires), now)
        uow.commit()

    uow = uow_factory()
    with uow:
        stored = uow.conversations.load("test:ana")

    assert stored == StoredState("cadastro", "razao", data, 2, expires)
    assert stored is not None
    assert stored.expires_at is not None
    assert stored.expires_at.utcoffset() == timedelta(0)


# -- outbox -------------------------------------------------------------------------------------


def _enqueue(uow_factory: UnitOfWorkFactory, count: int, identity: str = "test:ana") -> None:
    uow = uow_factory()
    with uow:
        enqueue_to(
            uow,
            "test",
            identity,
            identity.split(":", 1)[1],
            [Text(f"mensagem {n}") for n in range(count)],
            datetime.now(UTC),
        )
        uow.commit()


def _later() -> datetime:
    """A moment after the messages were enqueued (time-machine travels there)."""
    return datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)


def _rows(uow_factory: UnitOfWorkFactory) -> dict[int, Row[Any]]:
    uow = uow_factory()
    with uow:
        table = OutboxMessage.__table__
        rows = uow.session.execute(select(table).order_by(table.c.id)).all()
        return {row.id: row for row in rows}


def test_claimed_messages_come_in_order_and_are_not_claimed_again(
    uow_factory: UnitOfWorkFactory,
) -> None:
    _enqueue(uow_factory, 3)

    first = outbox.claim(uow_factory)
    second = outbox.claim(uow_factory)

    assert [m.payload["text"] for m in first] == ["mensagem 0", "mensagem 1", "mensagem 2"]
    assert [m.attempts for m in first] == [1, 1, 1]
    assert second == []
    assert {row.status for row in _rows(uow_factory).values()} == {"sending"}


def test_a_claim_takes_only_the_asked_identity_and_at_most_the_limit(
    uow_factory: UnitOfWorkFactory,
) -> None:
    _enqueue(uow_factory, 3, "test:ana")
    _enqueue(uow_factory, 2, "test:bia")

    bia = outbox.claim(uow_factory, identity_key="test:bia")
    ana = outbox.claim(uow_factory, limit=2, identity_key="test:ana")

    assert [m.identity_key for m in bia] == ["test:bia", "test:bia"]
    assert [m.payload["text"] for m in ana] == ["mensagem 0", "mensagem 1"]
    assert outbox.pending_count(uow_factory, "test:ana") == 3


def test_delivered_messages_are_marked_sent_with_their_reference(
    uow_factory: UnitOfWorkFactory,
) -> None:
    _enqueue(uow_factory, 1)
    [message] = outbox.claim(uow_factory)

    outbox.record(uow_factory, [Delivered(message.id, "tg-42")])

    row = _rows(uow_factory)[message.id]
    assert (row.status, row.external_ref, row.sent_at is not None) == ("sent", "tg-42", True)
    assert outbox.pending_count(uow_factory) == 0
    assert outbox.claim(uow_factory) == []


def test_a_message_whose_sender_crashed_after_claiming_is_delivered_again_after_the_lease(
    uow_factory: UnitOfWorkFactory,
) -> None:
    _enqueue(uow_factory, 1)
    with time_machine.travel(_later(), tick=False) as clock:
        # The sender dies here: the message stays "sending" and nobody records its fate.
        [claimed] = outbox.claim(uow_factory)
        clock.shift(outbox.CLAIM_LEASE - timedelta(seconds=1))
        assert outbox.claim(uow_factory) == []

        clock.shift(timedelta(seconds=2))
        [again] = outbox.claim(uow_factory)

    assert again.id == claimed.id
    assert again.attempts == 2


def test_a_deferred_message_waits_until_its_time_and_is_claimed_again(
    uow_factory: UnitOfWorkFactory,
) -> None:
    _enqueue(uow_factory, 1)
    start = _later()
    with time_machine.travel(start, tick=False) as clock:
        [message] = outbox.claim(uow_factory)
        outbox.record(
            uow_factory, [Deferred(message.id, message.attempts, timedelta(seconds=30), "429")]
        )
        row = _rows(uow_factory)[message.id]
        assert (row.status, row.not_before, row.error) == (
            "pending",
            start + timedelta(seconds=30),
            "429",
        )
        clock.shift(timedelta(seconds=29))
        assert outbox.claim(uow_factory) == []

        clock.shift(timedelta(seconds=1))
        [again] = outbox.claim(uow_factory)

    assert (again.id, again.attempts) == (message.id, 2)


def test_a_message_deferred_max_attempts_times_is_given_up_as_failed(
    uow_factory: UnitOfWorkFactory,
) -> None:
    _enqueue(uow_factory, 1)
    start = _later()
    with time_machine.travel(start, tick=False) as clock:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            [message] = outbox.claim(uow_factory)
            assert message.attempts == attempt
            outbox.record(
                uow_factory, [Deferred(message.id, message.attempts, timedelta(seconds=5), "x")]
            )
            clock.shift(timedelta(seconds=5))

        assert outbox.claim(uow_factory) == []

    row = _rows(uow_factory)[message.id]
    assert (row.status, row.attempts, row.blob) == ("failed", MAX_ATTEMPTS, None)


def test_a_failed_message_is_never_claimed_again(uow_factory: UnitOfWorkFactory) -> None:
    _enqueue(uow_factory, 1)
    [message] = outbox.claim(uow_factory)

    outbox.record(uow_factory, [Failed(message.id, "chat not found")])

    with time_machine.travel(datetime.now(UTC) + timedelta(days=1)):
        assert outbox.claim(uow_factory) == []
    row = _rows(uow_factory)[message.id]
    assert (row.status, row.error) == ("failed", "chat not found")


def test_two_senders_claiming_at_once_never_get_the_same_message(
    uow_factory: UnitOfWorkFactory,
) -> None:
    _enqueue(uow_factory, 60)
    start = threading.Barrier(2)
    taken: list[list[int]] = [[], []]

    def sender(index: int) -> None:
        start.wait()
        while claimed := outbox.claim(uow_factory, limit=7):
            taken[index].extend(m.id for m in claimed)

    threads = [threading.Thread(target=sender, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    everything = taken[0] + taken[1]
    assert len(everything) == len(set(everything)) == 60
    assert set(everything) == set(_rows(uow_factory))


@pytest.mark.postgres
def test_on_postgresql_a_second_claimer_skips_rows_locked_by_an_open_claim(
    db_engine: Engine,
) -> None:
    if db_engine.dialect.name != "postgresql":
        pytest.skip("SKIP LOCKED is PostgreSQL's")
    uow_factory = UnitOfWorkFactory(make_session_factory(db_engine))
    _enqueue(uow_factory, 10)
    now = datetime.now(UTC)

    first = uow_factory()
    with first:
        held = first.outbox.claim(now, limit=4, lease=outbox.CLAIM_LEASE)
        second = uow_factory()
        with second:
            # A claimer that waited on the locked rows would hit this instead of skipping them.
            second.session.execute(text("SET LOCAL lock_timeout = '2s'"))
            other = second.outbox.claim(now, limit=4, lease=outbox.CLAIM_LEASE)
            second.commit()
        first.commit()

    assert [m.payload["text"] for m in held] == [f"mensagem {n}" for n in range(4)]
    assert [m.payload["text"] for m in other] == [f"mensagem {n}" for n in range(4, 8)]
    with db_engine.connect() as connection:
        sending = connection.execute(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.status == "sending")
        ).scalar_one()
    assert sending == 8


def test_a_failed_statements_error_names_no_value_it_was_given(
    uow_factory: UnitOfWorkFactory,
) -> None:
    """The error of a failed statement goes to the logs whole (an event that fails is logged
    with it): it must not carry the values bound to the statement, which are the gestores'
    data, message texts and keys."""
    uow = uow_factory()
    with uow:
        uow.gestores.add(_gestor(8, datetime.now(UTC)))
        uow.commit()
    again = Gestor(
        cnpj=cnpj(8), razao_social="Segredo Guardado Ltda", created_at=datetime.now(UTC)
    )

    uow = uow_factory()
    with uow, pytest.raises(IntegrityError) as raised:
        uow.gestores.add(again)  # (flushed: the INSERT fails here)

    assert "Segredo Guardado" not in str(raised.value)
    assert "hidden" in str(raised.value)
