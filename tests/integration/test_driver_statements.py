"""The hot path's statements run on the driver's cursor (storage/driver.py): they must store
and read exactly what SQLAlchemy's own path does, on SQLite and PostgreSQL, and fail alike."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import astuple
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, Table, bindparam, event, func, insert, select
from sqlalchemy.exc import IntegrityError, StatementError

from bot.observability import scrub
from services import outbox
from services.errors import Conflict
from services.messages import Text
from services.outbox import Delivered, outbox_rows
from services.types import UnitOfWorkFactory
from storage import repositories
from storage.conversation import StateAfter, StoredState
from storage.driver import DriverStatement
from storage.models import (
    AuditEntry,
    Client,
    ConversationState,
    IntegrationKey,
    OutboxMessage,
    ProcessedEvent,
)
from tests.support import add_client, make_office

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
DATA = {"q": "São João", "p": 2, "_hist": ["lista"], "x": {"preço": "89.95", "n": None}}


def test_a_state_saved_on_the_driver_reads_back_the_same_through_the_orm(
    uow_factory: UnitOfWorkFactory,
) -> None:
    now = datetime(2026, 3, 1, 21, 30, 15, 123456, tzinfo=SAO_PAULO)
    expires = now + timedelta(hours=24)
    uow = uow_factory()
    with uow:
        uow.conversations.save("test:ana", StoredState("cadastro", "razao", DATA, 3, expires), now)
        uow.commit()

    uow = uow_factory()
    with uow:
        row = uow.session.get(ConversationState, "test:ana")
        loaded = uow.conversations.load("test:ana")
        assert row is not None
        assert (row.flow, row.step, row.data, row.version) == ("cadastro", "razao", DATA, 3)
        assert row.updated_at == now
        assert row.updated_at.tzinfo is not None
        assert row.updated_at.utcoffset() == timedelta(0)
        assert row.expires_at == expires
    assert loaded == StoredState("cadastro", "razao", DATA, 3, expires)
    assert loaded is not None
    assert loaded.expires_at is not None
    assert loaded.expires_at.utcoffset() == timedelta(0)


@contextmanager
def sent_statements(engine: Engine) -> Iterator[list[str]]:
    """Every statement sent to `engine` inside the block (the driver's ones included)."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _columns(row: Any) -> dict[str, Any]:
    values = dict(row._mapping)
    del values["id"]
    return values


def test_an_outbox_row_from_the_driver_equals_the_one_sqlalchemy_writes(
    uow_factory: UnitOfWorkFactory,
) -> None:
    now = datetime.now(UTC)
    replies = [Text("Olá, Ana! Escolha:"), Text("Senha: s3gr3d0", sensitive=True)]
    rows = outbox_rows("test", "test:ana", "ana", replies, now, "m1")
    table = cast(Table, OutboxMessage.__table__)
    uow = uow_factory()
    with uow:
        uow.outbox.enqueue(rows[:1])
        (prompt,) = uow.outbox.enqueue_returning(rows[1:])
        uow.session.execute(insert(table), rows)  # SQLAlchemy's own path, the reference
        uow.commit()

    uow = uow_factory()
    with uow:
        stored = uow.session.execute(select(table).order_by(table.c.id)).all()
    assert [r.id for r in stored][1] == prompt
    ours, reference = [_columns(r) for r in stored[:2]], [_columns(r) for r in stored[2:]]
    assert ours == reference
    assert ours[1]["sensitive"] is True
    assert ours[0]["payload"]["text"] == "Olá, Ana! Escolha:"
    assert ours[0]["created_at"] == now


def test_an_events_replies_go_in_one_statement_with_their_ids_in_order(
    db_engine: Engine, uow_factory: UnitOfWorkFactory
) -> None:
    now = datetime.now(UTC)
    # more replies than one statement takes, so the chunks are in order too
    replies = [Text(f"mensagem {n}", sensitive=n % 5 == 0) for n in range(21)]
    rows = outbox_rows("test", "test:ana", "ana", replies, now, None)
    with sent_statements(db_engine) as seen:
        uow = uow_factory()
        with uow:
            ids = uow.outbox.enqueue_returning(rows[:3])
            born = uow.outbox.enqueue_claimed(rows[3:], now)
            uow.commit()
    inserts = [s for s in seen if s.startswith("INSERT INTO outbox_message")]
    assert len(inserts) == 3  # 3 rows; then 18 born claimed: 16 and 2
    table = cast(Table, OutboxMessage.__table__)
    uow = uow_factory()
    with uow:
        stored = {r.id: r for r in uow.session.execute(select(table).order_by(table.c.id)).all()}
    assert [*ids, *(m.id for m in born)] == sorted(stored)
    for row_id, reply in zip([*ids, *(m.id for m in born)], replies, strict=True):
        assert stored[row_id].payload["text"] == reply.text
        assert stored[row_id].sensitive is reply.sensitive
    assert {stored[m.id].status for m in born} == {"sending"}
    assert [m.payload["text"] for m in born] == [r.text for r in replies[3:]]


@pytest.mark.parametrize("claimed", [False, True], ids=["queued", "born claimed"])
@pytest.mark.parametrize(
    ("count", "prompt_row"),
    [(3, 1), (3, None), (19, 1), (19, 17), (19, None)],
    ids=["prompt", "no prompt", "chunks", "prompt in the second chunk", "chunks, no prompt"],
)
def test_the_next_state_is_saved_with_the_replies_and_keeps_the_prompts_id(
    db_engine: Engine,
    uow_factory: UnitOfWorkFactory,
    claimed: bool,
    count: int,
    prompt_row: int | None,
) -> None:
    """On PostgreSQL the replies and the state go in one statement when the replies fit in
    one; elsewhere (SQLite, more replies) the state follows them. Either way the state is the
    one given, with the id of the prompt's row as its live prompt (the given one kept when
    the replies have no prompt)."""
    now = datetime.now(UTC)
    expires = now + timedelta(hours=24)
    replies = [Text(f"mensagem {n}", sensitive=n == 0) for n in range(count)]
    rows = outbox_rows("test", "test:ana", "ana", replies, now, None)
    given = {**DATA, "_prompt_msg": 7}  # the previous prompt's id, as the engine passes it
    state = StoredState("cadastro", "razao", given, 4, expires)
    with sent_statements(db_engine) as seen:
        uow = uow_factory()
        with uow:
            after = StateAfter("test:ana", state, now, prompt_row)
            if claimed:
                ids = [m.id for m in uow.outbox.enqueue_claimed(rows, now, state=after)]
            else:
                ids = uow.outbox.enqueue_returning(rows, state=after)
            uow.commit()

    writes = [s for s in seen if "outbox_message" in s or "conversation_state" in s]
    together = db_engine.dialect.name == "postgresql" and count <= 16
    assert len(writes) == (1 if together else -(-count // 16) + 1)
    assert ("conversation_state" in writes[0]) is together
    uow = uow_factory()
    with uow:
        loaded = uow.conversations.load("test:ana")
        table = cast(Table, OutboxMessage.__table__)
        stored = uow.session.execute(select(table).order_by(table.c.id)).all()
    assert [r.id for r in stored] == ids
    assert [r.payload["text"] for r in stored] == [r.text for r in replies]
    assert {r.status for r in stored} == ({"sending"} if claimed else {"pending"})
    expected = given if prompt_row is None else {**DATA, "_prompt_msg": ids[prompt_row]}
    assert loaded == StoredState("cadastro", "razao", expected, 4, expires)


def test_listeners_see_the_driver_statements(
    db_engine: Engine, uow_factory: UnitOfWorkFactory
) -> None:
    with sent_statements(db_engine) as seen:
        uow = uow_factory()
        with uow:
            uow.conversations.claim_event("tg", "1", datetime.now(UTC), lock="identity:tg:1")
            uow.conversations.load_with_identity("tg:1")
    assert any("processed_event" in s for s in seen)
    assert any("conversation_state" in s for s in seen)


def test_a_naive_datetime_is_refused_before_it_reaches_the_database(
    uow_factory: UnitOfWorkFactory,
) -> None:
    uow = uow_factory()
    with uow, pytest.raises(StatementError, match="naive datetime"):
        uow.conversations.claim_event("tg", "1", datetime(2026, 3, 1, 12, 0))  # noqa: DTZ001

    uow = uow_factory()
    with uow:
        assert uow.conversations.claim_event("tg", "1", datetime.now(UTC)) is True


def test_the_same_instant_bound_again_is_stored_the_same_whatever_its_zone(
    uow_factory: UnitOfWorkFactory,
) -> None:
    """The driver remembers the last timestamps it converted: an equal instant in another
    zone is the same UTC value, a naive one is refused however often it comes."""
    at = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
    uow = uow_factory()
    with uow:
        for n, when in enumerate([at, at.astimezone(SAO_PAULO), at, at + timedelta(seconds=1)]):
            uow.conversations.claim_event("tg", str(n), when)
        uow.commit()
    for _ in range(2):
        uow = uow_factory()
        with uow, pytest.raises(StatementError, match="naive datetime"):
            uow.conversations.claim_event("tg", "9", at.replace(tzinfo=None))
    uow = uow_factory()
    with uow:
        stored = uow.session.execute(
            select(ProcessedEvent.event_id, ProcessedEvent.processed_at).order_by(
                ProcessedEvent.event_id
            )
        ).all()
    assert [(event_id, when) for event_id, when in stored] == [
        ("0", at),
        ("1", at),
        ("2", at),
        ("3", at + timedelta(seconds=1)),
    ]


def test_a_database_error_is_sqlalchemys_and_the_next_unit_of_work_goes_on(
    uow_factory: UnitOfWorkFactory,
) -> None:
    now = datetime.now(UTC)
    (row,) = outbox_rows("test", "test:ana", "ana", [Text("Sua senha: s3gr3d0")], now, None)
    uow = uow_factory()
    with uow, pytest.raises(IntegrityError) as raised:
        uow.outbox.enqueue([{**row, "channel": None}])  # channel is NOT NULL
    # what reaches the logs names no value: the engine hides the statement's own (as on
    # SQLAlchemy's path), and the logs scrub the ones PostgreSQL's DETAIL repeats
    assert "s3gr3d0" not in scrub(str(raised.value))

    uow = uow_factory()
    with uow:
        uow.outbox.enqueue([row])
        uow.commit()
    check = uow_factory()
    with check:
        assert check.outbox.pending_count("test:ana") == 1


def test_values_the_statement_carries_itself_are_sent_with_the_given_ones(
    db_engine: Engine, uow_factory: UnitOfWorkFactory
) -> None:
    table = OutboxMessage.__table__
    now = datetime.now(UTC)
    rows = outbox_rows("test", "test:ana", "ana", [Text("a"), Text("b"), Text("c")], now, None)
    statement = DriverStatement(
        select(table.c.id)
        .where(table.c.identity_key == bindparam("who"), table.c.status == "pending")
        .order_by(table.c.id.desc())
        .limit(1)
    )
    uow = uow_factory()
    with uow:
        uow.outbox.enqueue(rows)
        found = statement.first(uow.session.connection(), {"who": "test:ana"})
        last = uow.session.scalar(select(func.max(table.c.id)))
    assert found == (last,)


def test_a_claim_for_some_channels_takes_only_theirs_with_payload_and_bytes_as_stored(
    uow_factory: UnitOfWorkFactory,
) -> None:
    now = datetime.now(UTC) - timedelta(seconds=1)
    uow = uow_factory()
    with uow:
        for channel in ("telegram", "whatsapp", "email"):
            (row,) = outbox_rows(
                channel, f"{channel}:ana", "ana", [Text(f"oi {channel}")], now, None
            )
            uow.outbox.enqueue([{**row, "blob": b"\x00\xffbytes"}])
        uow.commit()

    assert outbox.claim(uow_factory, channels=[]) == []
    taken = outbox.claim(uow_factory, channels=["whatsapp", "email"])
    rest = outbox.claim(uow_factory)

    assert [(m.channel, m.payload["text"], m.blob, m.attempts) for m in taken] == [
        ("whatsapp", "oi whatsapp", b"\x00\xffbytes", 1),
        ("email", "oi email", b"\x00\xffbytes", 1),
    ]
    assert [m.channel for m in rest] == ["telegram"]
    outbox.record(uow_factory, [Delivered(m.id, f"x{m.id}") for m in taken])
    check = uow_factory()
    with check:
        assert check.outbox.pending_count() == 1


def test_the_client_list_and_card_on_the_driver_equal_sqlalchemys_own(
    uow_factory: UnitOfWorkFactory,
) -> None:
    office = make_office(uow_factory, 1)
    other = make_office(uow_factory, 2)
    cards = [add_client(uow_factory, office.gestor, n) for n in range(11)]
    add_client(uow_factory, other.gestor, 99)
    empty = make_office(uow_factory, 3)
    uow = uow_factory()
    with uow:
        connection = uow.session.connection()
        for offset in (0, 8, 16):  # a full page, the last part, past the end
            params = {"gestor": office.gestor.gestor_id, "offset": offset, "limit": 8}
            page = uow.clients.summaries(
                office.gestor.gestor_id, busca=None, documento=None, offset=offset, limit=8
            )
            expected = connection.execute(repositories._SUMMARIES, params).all()
            assert [astuple(row) for row in page.rows] == [tuple(row[:-1]) for row in expected]
            assert page.total == 11
        assert uow.clients.summaries(
            empty.gestor.gestor_id, busca=None, documento=None, offset=0, limit=8
        ) == repositories.SummaryPage([], 0)
        for card in (cards[0], cards[7]):
            params = {"gestor": office.gestor.gestor_id, "client": card.id}
            got = uow.clients.card(office.gestor.gestor_id, card.id)
            assert got is not None
            same = tuple(connection.execute(repositories._CARD, params).one())
            assert astuple(got) == same
            assert [type(value) for value in astuple(got)] == [type(value) for value in same]
            assert got.created_at.utcoffset() == timedelta(0)
        # another office's client is not found through this office
        assert uow.clients.card(other.gestor.gestor_id, cards[0].id) is None


def test_the_live_prompts_platform_id_is_read_with_the_state_once_it_was_sent(
    uow_factory: UnitOfWorkFactory,
) -> None:
    """A new prompt takes the old one's buttons off: the old one's external_ref comes with
    the state (joined on the id the state keeps), None until it is sent, None for no prompt."""
    make_office(uow_factory, 1, identity_key="test:ana")
    now = datetime.now(UTC)
    uow = uow_factory()
    with uow:
        (prompt,) = uow.outbox.enqueue_returning(
            outbox_rows("test", "test:ana", "ana", [Text("Escolha:")], now, None)
        )
        data = {**DATA, "_prompt_msg": prompt}
        uow.conversations.save("test:ana", StoredState("menu", "main", data, 1, None), now)
        uow.conversations.save("test:bia", StoredState("menu", "main", DATA, 1, None), now)
        uow.commit()

    def loaded() -> tuple[StoredState | None, StoredState | None, StoredState | None]:
        uow = uow_factory()
        with uow:
            _identity, with_identity, _unsent = uow.conversations.load_with_identity("test:ana")
            return (
                with_identity,
                uow.conversations.load("test:ana"),
                uow.conversations.load("test:bia"),
            )

    assert [s.prompt_ref if s else "missing" for s in loaded()] == [None, None, None]
    [claimed] = outbox.claim(uow_factory)
    assert [s.prompt_ref if s else "missing" for s in loaded()] == [None, None, None]
    outbox.record(uow_factory, [Delivered(claimed.id, "4242")], {claimed.id: claimed.attempts})
    with_identity, alone, other = loaded()
    assert with_identity is not None
    assert alone is not None
    assert other is not None
    assert (with_identity.prompt_ref, alone.prompt_ref, other.prompt_ref) == ("4242", "4242", None)
    assert with_identity.data == data  # the rest of the state as saved
    uow = uow_factory()
    with uow:  # failed after it was sent (a WhatsApp status): no longer a live prompt
        table = cast(Table, OutboxMessage.__table__)
        uow.session.execute(table.update().where(table.c.id == prompt).values(status="failed"))
        uow.commit()
    assert [s.prompt_ref if s else "missing" for s in loaded()] == [None, None, None]


def test_the_catalog_from_the_driver_equals_sqlalchemys_own_rows(
    uow_factory: UnitOfWorkFactory,
) -> None:
    uow = uow_factory()
    with uow:
        ours = uow.catalog.rows()
        reference = [
            repositories.CatalogRow(*row)
            for row in uow.session.connection().execute(repositories._CATALOG)
        ]
    assert ours == reference
    assert ours  # the seeded catalog: softwares with their plans
    assert all(
        type(a) is type(b)
        for x, y in zip(ours, reference, strict=True)
        for a, b in zip(astuple(x), astuple(y), strict=True)
    )


def _rows_of_new_clients(uow_factory: UnitOfWorkFactory) -> list[int | None]:
    uow = uow_factory()
    with uow:
        return [
            uow.session.scalar(select(func.count()).select_from(model))
            for model in (Client, AuditEntry, IntegrationKey)
        ]


def test_a_new_client_its_audit_entry_and_first_key_are_one_statement_on_postgresql(
    uow_factory: UnitOfWorkFactory,
) -> None:
    office = make_office(uow_factory, 1)
    uow = uow_factory()
    with uow:
        engine = cast(Engine, uow.session.get_bind())
    with sent_statements(engine) as seen:
        add_client(uow_factory, office.gestor, 1)
    written = [statement for statement in seen if "INSERT" in statement.upper()]
    assert len(written) == (1 if engine.dialect.name == "postgresql" else 3)
    assert _rows_of_new_clients(uow_factory) == [1, 1, 1]

    # the same CPF/CNPJ again: the database refuses the client, so neither entry nor key
    with pytest.raises(Conflict):
        add_client(uow_factory, office.gestor, 1)
    assert _rows_of_new_clients(uow_factory) == [1, 1, 1]
