"""The hot path: conversation state, processed events and the outbox, in prebuilt SQL Core.

Every inbound event and every outbox send runs these; repositories never commit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, NamedTuple, cast

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    String,
    Table,
    bindparam,
    case,
    column,
    delete,
    exists,
    func,
    insert,
    literal_column,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from storage.claims import claim_statement
from storage.db import lock_key
from storage.driver import DriverStatement
from storage.models import (
    OUTBOX_UNSENT,
    ConversationState,
    OutboxMessage,
    ProcessedEvent,
)
from storage.repositories import ACTING, ACTING_WIDTH, IDENTITY, ActingIdentity
from storage.transaction import Repository, Transaction
from storage.types import JSONData, UTCDateTime

# The hot path (every inbound event, every outbox send) runs prebuilt Core statements on the
# session's connection: building a statement and going through the ORM layer cost more than
# the round trip itself. Built once per dialect; SQLAlchemy's compiled cache does the rest.
# The ones every inbound event runs go further, straight to the driver (storage/driver.py).
_PROCESSED = cast(Table, ProcessedEvent.__table__)
_STATE = cast(Table, ConversationState.__table__)
_OUTBOX = cast(Table, OutboxMessage.__table__)
_STATE_COLUMNS = ("flow", "step", "data", "version", "updated_at", "expires_at")


def _dialect_insert(dialect: str) -> Any:
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


@cache
def _claim_event_statement(dialect: str) -> Any:
    return (
        _dialect_insert(dialect)(_PROCESSED)
        .on_conflict_do_nothing()
        .returning(_PROCESSED.c.event_id)
    )


@cache
def _claim_event_driver(dialect: str) -> DriverStatement:
    return DriverStatement(_claim_event_statement(dialect))


def _upsert_state(statement: Any) -> Any:
    return statement.on_conflict_do_update(
        index_elements=["identity_key"],
        set_={name: statement.excluded[name] for name in _STATE_COLUMNS},
    )


@cache
def _save_state_driver(dialect: str) -> DriverStatement:
    return DriverStatement(_upsert_state(_dialect_insert(dialect)(_STATE)))


# PostgreSQL: take the identity's advisory lock and claim the event in one round trip. Only the
# claim shares the statement's snapshot (ON CONFLICT looks at the latest rows anyway); whatever
# is read after the lock is read by later statements, so it sees the previous holder's commit.
_CLAIM_EVENT_LOCKED_PG = DriverStatement(
    text(
        "WITH lock AS (SELECT pg_advisory_xact_lock(:lock_key)) "
        "INSERT INTO processed_event (channel, event_id, processed_at) "
        "SELECT CAST(:channel AS VARCHAR), CAST(:event_id AS VARCHAR), :processed_at FROM lock "
        "ON CONFLICT DO NOTHING RETURNING event_id"
    ).bindparams(bindparam("processed_at", type_=UTCDateTime()))
)

# PostgreSQL: several events claimed at once, each one's identity locked first. The locks are
# taken in ascending key order (the array comes sorted), whatever the order of the events, so
# two transactions that claim overlapping sets of identities wait for one another instead of
# each holding what the other waits for. The aggregate makes one row of the locks: the INSERT
# reads it, so every lock is held before any event is claimed. An event alone keeps the scalar
# statement above: with arrays its transaction costs 15-20 µs more of this process's CPU.
_CLAIM_EVENTS_LOCKED_PG = DriverStatement(
    text(
        "WITH lock AS (SELECT count(pg_advisory_xact_lock(k)) AS n "
        "FROM unnest(CAST(:lock_keys AS BIGINT[])) AS locks(k)) "
        "INSERT INTO processed_event (channel, event_id, processed_at) "
        "SELECT claimed.channel, claimed.event_id, :processed_at "
        "FROM lock, unnest(CAST(:channels AS VARCHAR[]), CAST(:event_ids AS VARCHAR[])) "
        "AS claimed(channel, event_id) "
        "ON CONFLICT DO NOTHING RETURNING channel, event_id"
    ).bindparams(bindparam("processed_at", type_=UTCDateTime())),
    [String(), String()],
)


@cache
def _claim_events_driver(dialect: str, count: int) -> DriverStatement:
    """`count` events claimed in one INSERT (event i's values bound as `channel_i`, …)."""
    statement = (
        _dialect_insert(dialect)(_PROCESSED)
        .values(
            [
                {
                    "channel": bindparam(f"channel_{i}", type_=_PROCESSED.c.channel.type),
                    "event_id": bindparam(f"event_id_{i}", type_=_PROCESSED.c.event_id.type),
                    "processed_at": bindparam("processed_at", type_=UTCDateTime()),
                }
                for i in range(count)
            ]
        )
        .on_conflict_do_nothing()
        .returning(_PROCESSED.c.channel, _PROCESSED.c.event_id)
    )
    return DriverStatement(statement, [String(), String()])


# Key of the state data where the conversation engine keeps the outbox id of the live prompt.
PROMPT_KEY = "_prompt_msg"
# That prompt's platform id once it was sent, read with the state: a new prompt takes the old
# one's buttons off (services/conversation.py) without a query of its own. Joined on the id
# alone, so the primary key is the only index that can serve it (with `status = 'sent'` in the
# join, PostgreSQL may walk the status index over every sent row instead); sent is asked after.
_PROMPT = _OUTBOX.alias("live_prompt")
_LOADED_STATE = (
    _STATE.c.flow,
    _STATE.c.step,
    _STATE.c.data,
    _STATE.c.version,
    _STATE.c.expires_at,
    case((_PROMPT.c.status == "sent", _PROMPT.c.external_ref), else_=None),
)
_PROMPT_ROW = _PROMPT.c.id == _STATE.c.data[PROMPT_KEY].as_integer()
_LOAD_STATE_SELECT = (
    select(*_LOADED_STATE)
    .select_from(_STATE.outerjoin(_PROMPT, _PROMPT_ROW))
    .where(_STATE.c.identity_key == bindparam("identity_key"))
)
_LOAD_STATE = DriverStatement(
    _LOAD_STATE_SELECT, [c.type for c in _LOAD_STATE_SELECT.selected_columns]
)

_ENQUEUE = insert(_OUTBOX)
_ENQUEUE_RETURNING = insert(_OUTBOX).returning(_OUTBOX.c.id)
# The columns every producer of outbox rows gives (services.outbox.outbox_rows); rows with
# other keys take the plain Core path.
_ROW_KEYS = frozenset(
    (
        "channel",
        "identity_key",
        "address",
        "payload",
        "blob",
        "status",
        "attempts",
        "not_before",
        "created_at",
        "sensitive",
    )
)
# A row born claimed by this process's sender (in flight, stamped, its token 1).
_CLAIMED_ROW_KEYS = _ROW_KEYS | {"claimed_at"}
# An event's replies go in one statement, however many (a round trip each cost 25–50 µs of
# CPU on PostgreSQL, and the GIL's wait under load); longer runs in chunks of this size.
_ROWS_PER_INSERT = 16


@cache
def _insert_rows(keys: frozenset[str], count: int, *, returning: bool) -> DriverStatement:
    """INSERT of `count` outbox rows with these keys (row i's values bound as `key_i`), with
    RETURNING id when asked: compiled once per dialect, key set and count."""
    statement = insert(_OUTBOX).values(
        [
            {key: bindparam(f"{key}_{i}", type_=_OUTBOX.c[key].type) for key in sorted(keys)}
            for i in range(count)
        ]
    )
    if returning:
        return DriverStatement(statement.returning(_OUTBOX.c.id), [Integer()])
    return DriverStatement(statement)


@cache
def _insert_rows_saving_state(
    keys: frozenset[str], count: int, *, prompt: bool
) -> DriverStatement:
    """PostgreSQL: `count` outbox rows (as `_insert_rows`, RETURNING id) and the identity's
    conversation state upserted in the same statement (a data-modifying CTE), one round trip
    instead of two; with `prompt`, the state's data gets the id of the row at `prompt_row`
    (0-based, in the rows' order = ascending ids) under PROMPT_KEY."""
    inserted: Any = _insert_rows(keys, count, returning=True).statement
    rows = inserted.cte("replies")
    data: Any = bindparam("data", type_=_STATE.c.data.type)
    if prompt:
        row_id = (
            select(rows.c.id)
            .order_by(rows.c.id)
            .offset(bindparam("prompt_row", type_=Integer()))
            .limit(1)
            .scalar_subquery()
        )
        data = data.op("||")(func.jsonb_build_object(literal_column(f"'{PROMPT_KEY}'"), row_id))
    values = select(
        *(bindparam(name, type_=_STATE.c[name].type) for name in ("identity_key", "flow", "step")),
        data,
        *(bindparam(name, type_=_STATE.c[name].type) for name in _STATE_COLUMNS[3:]),
    )
    saved = _upsert_state(
        postgresql.insert(_STATE).from_select(["identity_key", *_STATE_COLUMNS], values)
    ).cte("saved")
    return DriverStatement(select(rows.c.id).add_cte(saved), [Integer()])


def _bound(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {f"{key}_{i}": value for i, row in enumerate(rows) for key, value in row.items()}


# What a delivered message that carried a secret keeps of itself.
REDACTED: dict[str, Any] = {"type": "text", "text": "[redacted]", "buttons": [], "redacted": True}
_REDACT_IF_SENSITIVE = case(
    (_OUTBOX.c.sensitive, bindparam("redacted", REDACTED, type_=JSONData)),
    else_=_OUTBOX.c.payload,
)
_MARK_SENT = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id == bindparam("message_id"))
    .values(
        status="sent",
        sent_at=bindparam("at"),
        external_ref=bindparam("ref"),
        blob=None,
        error=None,
        payload=_REDACT_IF_SENSITIVE,
    )
)


# The partial index ix_outbox_unsent's own term, with its values as literals: with it, both
# backends read one chat's unsent rows only (SQLite takes a partial index only for a WHERE
# that repeats the index's, and not for bound parameters).
_UNSENT = _OUTBOX.c.status.in_([literal_column(f"'{status}'") for status in OUTBOX_UNSENT])

_CLAIMED = (
    _OUTBOX.c.id,
    _OUTBOX.c.channel,
    _OUTBOX.c.identity_key,
    _OUTBOX.c.address,
    _OUTBOX.c.payload,
    _OUTBOX.c.blob,
    _OUTBOX.c.attempts,
)


@cache
def _claim_statement(
    dialect: str, limit: int, channels: int, by_identity: bool
) -> DriverStatement:
    """The sender's claim; `channels` names how many channels it is for (0: any), each its own
    parameter (`channel_0`, …), so the statement runs on the driver (no expanding IN)."""
    table = _OUTBOX
    where: list[ColumnElement[bool]] = []
    if channels:
        where.append(table.c.channel.in_([bindparam(f"channel_{n}") for n in range(channels)]))
    if by_identity:
        where += [table.c.identity_key == bindparam("for_identity"), _UNSENT]
    statement = claim_statement(
        table, dialect, limit=limit, in_flight="sending", where=where, returning=_CLAIMED
    )
    return DriverStatement(statement, [column.type for column in _CLAIMED])


_MARK_SENT_DRIVER = DriverStatement(_MARK_SENT)
# The sender's own records are fenced (storage/claims.py): only while its claim still holds.
_HELD = (_OUTBOX.c.status == "sending") & (_OUTBOX.c.attempts == bindparam("token"))
_MARK_SENT_FENCED_DRIVER = DriverStatement(_MARK_SENT.where(_HELD))
# A round's deliveries on PostgreSQL: one UPDATE joined to the fates as arrays (id, platform
# ref, claim token), where an executemany sends one statement per row (≈ 50 µs of this
# process's CPU each).
_SENT_FATES = (
    func.unnest(
        bindparam("ids", type_=postgresql.ARRAY(BigInteger)),
        bindparam("refs", type_=postgresql.ARRAY(String)),
        bindparam("tokens", type_=postgresql.ARRAY(Integer)),
    )
    .table_valued(column("id", BigInteger), column("ref", String), column("token", Integer))
    .render_derived(name="fate")
)
_MARK_SENT_FENCED_PG = DriverStatement(
    update(_OUTBOX)
    .where(
        _OUTBOX.c.id == _SENT_FATES.c.id,
        _OUTBOX.c.status == "sending",
        _OUTBOX.c.attempts == _SENT_FATES.c.token,
    )
    .values(
        status="sent",
        sent_at=bindparam("at"),
        external_ref=_SENT_FATES.c.ref,
        blob=None,
        error=None,
        payload=_REDACT_IF_SENSITIVE,
    )
)


@dataclass(frozen=True, slots=True)
class StoredState:
    flow: str
    step: str
    data: dict[str, Any]
    version: int
    expires_at: datetime | None
    # The live prompt's platform id (data[PROMPT_KEY]'s outbox row, once sent), as loaded.
    prompt_ref: str | None = None


@dataclass(frozen=True, slots=True)
class StateAfter:
    """An identity's next conversation state, saved with the replies of its event: on
    PostgreSQL in the rows' own INSERT (one round trip fewer on every event), elsewhere just
    after it. With `prompt_row`, the state's data[PROMPT_KEY] is the id of that row (the new
    live prompt); otherwise the data is saved as given."""

    identity_key: str
    state: StoredState
    now: datetime
    prompt_row: int | None = None

    def params(self, prompt_id: int | None = None) -> dict[str, Any]:
        state = self.state
        data = state.data if prompt_id is None else {**state.data, PROMPT_KEY: prompt_id}
        return {
            "identity_key": self.identity_key,
            "flow": state.flow,
            "step": state.step,
            "data": data,
            "version": state.version,
            "updated_at": self.now,
            "expires_at": state.expires_at,
        }


class Loaded(NamedTuple):
    """What an event reads first about its identity."""

    identity: ActingIdentity | None
    state: StoredState | None
    # The chat has messages waiting or in flight (None: not asked, for a stranger).
    unsent: bool | None


# Whether the chat has messages not yet delivered (waiting or in flight), read with the state:
# when it has none, an event's replies may be born claimed for this process's sender.
_CHAT_UNSENT = exists().where(_OUTBOX.c.identity_key == bindparam("key"), _UNSENT).label("unsent")
_ACTING_WITH_STATE_SELECT = (
    ACTING.add_columns(*_LOADED_STATE, _CHAT_UNSENT)
    .outerjoin(_STATE, _STATE.c.identity_key == IDENTITY.c.key)
    .outerjoin(_PROMPT, _PROMPT_ROW)
    .where(IDENTITY.c.key == bindparam("key"))
)
_ACTING_WITH_STATE = DriverStatement(
    _ACTING_WITH_STATE_SELECT, [c.type for c in _ACTING_WITH_STATE_SELECT.selected_columns]
)


class ConversationRepository(Repository):
    """The hot path of every inbound event, written in SQL Core: a handful of round trips."""

    def claim_event(
        self, channel: str, event_id: str, now: datetime, *, lock: str | None = None
    ) -> bool:
        """Record (channel, event id); False when it had already been processed.

        With `lock`, first serialize on that name until the transaction ends, like
        `UnitOfWork.lock` (PostgreSQL: in the same round trip; SQLite's BEGIN already did it).
        """
        params: dict[str, Any] = {"channel": channel, "event_id": event_id, "processed_at": now}
        dialect = self.dialect
        if lock is not None and dialect == "postgresql":
            params["lock_key"] = lock_key(lock)
            return _CLAIM_EVENT_LOCKED_PG.first(self.connection, params) is not None
        return _claim_event_driver(dialect).first(self.connection, params) is not None

    def claim_events(
        self, events: Sequence[tuple[str, str]], now: datetime, *, locks: Sequence[str] = ()
    ) -> set[tuple[str, str]]:
        """Record several (channel, event id) at once; the set of those not processed before.
        An event given twice is recorded once (and is in the set once).

        With `locks`, first serialize on each of those names until the transaction ends,
        in one fixed order whatever the order given (PostgreSQL: in the same round trip;
        SQLite's BEGIN already did it)."""
        unique = list(dict.fromkeys(events))
        if not unique:
            return set()
        if locks and self.dialect == "postgresql":
            params: dict[str, Any] = {
                "lock_keys": sorted({lock_key(name) for name in locks}),
                "channels": [channel for channel, _ in unique],
                "event_ids": [event_id for _, event_id in unique],
                "processed_at": now,
            }
            rows = _CLAIM_EVENTS_LOCKED_PG.all(self.connection, params)
        else:
            params = {"processed_at": now}
            for i, (channel, event_id) in enumerate(unique):
                params[f"channel_{i}"] = channel
                params[f"event_id_{i}"] = event_id
            rows = _claim_events_driver(self.dialect, len(unique)).all(self.connection, params)
        return {(channel, event_id) for channel, event_id in rows}

    def load_with_identity(self, identity_key: str) -> Loaded:
        """The identity (with its gestor's name), its state and whether its chat has messages
        not yet delivered, in one round trip."""
        row = _ACTING_WITH_STATE.first(self.flushed(), {"key": identity_key})
        if row is None:  # a stranger: no identity, but a state may still be there
            return Loaded(None, self.load(identity_key), None)
        identity = ActingIdentity(*row[:ACTING_WIDTH])
        state = row[ACTING_WIDTH:-1]
        stored = StoredState(*state) if state[0] is not None else None
        return Loaded(identity, stored, bool(row[-1]))

    def load(self, identity_key: str) -> StoredState | None:
        row = _LOAD_STATE.first(self.connection, {"identity_key": identity_key})
        return StoredState(*row) if row else None

    def save(
        self,
        identity_key: str,
        state: StoredState,
        now: datetime,
    ) -> None:
        _save_state_driver(self.dialect).run(
            self.connection, StateAfter(identity_key, state, now).params()
        )

    def forget_events_before(self, cutoff: datetime, limit: int | None = None) -> int:
        """Forget up to `limit` (None: all) events processed before `cutoff`, oldest first."""
        old = ProcessedEvent.processed_at < cutoff
        if limit is None:
            result: Any = self.session.execute(delete(ProcessedEvent).where(old))
            return int(result.rowcount)
        batch = (
            select(ProcessedEvent.channel, ProcessedEvent.event_id)
            .where(old)
            .order_by(ProcessedEvent.processed_at)
            .limit(limit)
        )
        result = self.session.execute(
            delete(ProcessedEvent).where(
                tuple_(ProcessedEvent.channel, ProcessedEvent.event_id).in_(batch)
            )
        )
        return int(result.rowcount)


@dataclass(frozen=True, slots=True)
class ClaimedMessage:
    id: int
    channel: str
    identity_key: str
    address: str
    payload: dict[str, Any]
    blob: bytes | None
    attempts: int


class OutboxRepository(Repository):
    def __init__(self, transaction: Transaction) -> None:
        super().__init__(transaction)
        # The (channel, identity) of every row enqueued through this repository (one unit of
        # work): whom the sender must be woken for.
        self.enqueued_to: set[tuple[str, str]] = set()

    def enqueue(self, rows: Sequence[dict[str, Any]]) -> None:
        if not rows:
            return
        self._note(rows)
        if any(row.keys() != _ROW_KEYS for row in rows):
            self.connection.execute(_ENQUEUE, list(rows))
            return
        for start in range(0, len(rows), _ROWS_PER_INSERT):
            chunk = rows[start : start + _ROWS_PER_INSERT]
            _insert_rows(_ROW_KEYS, len(chunk), returning=False).run(
                self.connection, _bound(chunk)
            )

    def enqueue_returning(
        self, rows: Sequence[dict[str, Any]], *, state: StateAfter | None = None
    ) -> list[int]:
        """Like `enqueue`, and the new rows' ids in order (a job edits one of them later);
        with `state`, that conversation state is saved with them."""
        self._note(rows)
        return self._insert_returning(_ROW_KEYS, rows, state)

    def enqueue_claimed(
        self, rows: Sequence[dict[str, Any]], now: datetime, *, state: StateAfter | None = None
    ) -> list[ClaimedMessage]:
        """Insert rows already claimed for this process's sender, as its own claim would have
        left them (in flight, stamped `now`, token 1): it is handed them after the commit.
        With `state`, that conversation state is saved with them."""
        self._note(rows)
        claimed = [{**row, "status": "sending", "attempts": 1, "claimed_at": now} for row in rows]
        ids = self._insert_returning(_CLAIMED_ROW_KEYS, claimed, state)
        return [
            ClaimedMessage(
                found,
                row["channel"],
                row["identity_key"],
                row["address"],
                row["payload"],
                row["blob"],
                1,
            )
            for found, row in zip(ids, rows, strict=True)
        ]

    def _insert_returning(
        self,
        keys: frozenset[str],
        rows: Sequence[Mapping[str, Any]],
        state: StateAfter | None = None,
    ) -> list[int]:
        """The rows in one statement per chunk; their ids in the rows' order. The ids come
        from the table's sequence (rowid on SQLite) row after row, so ascending is the rows'
        order whatever order RETURNING lists them in. Then `state`, in the same statement
        on PostgreSQL when the rows fit in one."""
        uniform = all(row.keys() == keys for row in rows)
        if (
            state is not None
            and uniform
            and 0 < len(rows) <= _ROWS_PER_INSERT
            and self.dialect == "postgresql"
        ):
            prompt = state.prompt_row is not None
            statement = _insert_rows_saving_state(keys, len(rows), prompt=prompt)
            params = {**_bound(rows), **state.params()}
            if prompt:
                params["prompt_row"] = state.prompt_row
            return sorted(int(found) for (found,) in statement.all(self.connection, params))
        ids: list[int] = []
        if not uniform:
            ids = [
                int(self.connection.execute(_ENQUEUE_RETURNING, row).scalar_one()) for row in rows
            ]
        for start in range(0, len(rows) if uniform else 0, _ROWS_PER_INSERT):
            chunk = rows[start : start + _ROWS_PER_INSERT]
            statement = _insert_rows(keys, len(chunk), returning=True)
            ids += sorted(int(found) for (found,) in statement.all(self.connection, _bound(chunk)))
        if state is not None:
            prompt_id = None if state.prompt_row is None else ids[state.prompt_row]
            _save_state_driver(self.dialect).run(self.connection, state.params(prompt_id))
        return ids

    def _note(self, rows: Sequence[dict[str, Any]]) -> None:
        self.enqueued_to.update((row["channel"], row["identity_key"]) for row in rows)

    def row(self, message_id: int) -> ClaimedMessage | None:
        """One message as the sender sees it (where it goes, what it carries)."""
        found = self.session.get(OutboxMessage, message_id)
        if found is None:
            return None
        return ClaimedMessage(
            found.id,
            found.channel,
            found.identity_key,
            found.address,
            dict(found.payload),
            None,
            found.attempts,
        )

    def external_ref(self, message_id: int) -> str | None:
        """The platform id of an outbox message once delivered; None until then."""
        return self.session.scalar(
            select(OutboxMessage.external_ref).where(
                OutboxMessage.id == message_id, OutboxMessage.status == "sent"
            )
        )

    def claim(
        self,
        now: datetime,
        *,
        limit: int,
        lease: timedelta,
        channels: Sequence[str] | None = None,
        identity_key: str | None = None,
    ) -> list[ClaimedMessage]:
        """Take up to `limit` due messages (and ones whose sender died) for this sender."""
        if channels is not None and not channels:
            return []  # for no channel at all: nothing
        statement = _claim_statement(
            self.dialect, limit, len(channels or ()), identity_key is not None
        )
        params: dict[str, Any] = {"now": now, "stale_before": now - lease}
        for number, channel in enumerate(channels or ()):
            params[f"channel_{number}"] = channel
        if identity_key is not None:
            params["for_identity"] = identity_key
        rows = statement.all(self.connection, params)
        return sorted((ClaimedMessage(*row) for row in rows), key=lambda m: m.id)

    def mark_sent(self, message_id: int, now: datetime, external_ref: str | None) -> None:
        self.mark_sent_many([(message_id, external_ref)], now)

    def mark_sent_many(
        self,
        sent: Sequence[tuple[int, str | None]],
        now: datetime,
        tokens: Mapping[int, int] | None = None,
    ) -> None:
        """Record several deliveries (message id, platform ref) in one executemany; with
        `tokens` (message id → its claim's `attempts`), only the rows still so claimed."""
        if tokens is not None and len(sent) > 1 and self.dialect == "postgresql":
            ids = [id_ for id_, _ in sent]
            _MARK_SENT_FENCED_PG.run(
                self.connection,
                {
                    "ids": ids,
                    "refs": [ref for _, ref in sent],
                    "tokens": [tokens[id_] for id_ in ids],
                    "at": now,
                    "redacted": REDACTED,
                },
            )
            return
        params: list[dict[str, Any]] = [
            {"message_id": id_, "at": now, "ref": ref, "redacted": REDACTED} for id_, ref in sent
        ]
        driver = _MARK_SENT_DRIVER
        if tokens is not None:
            driver = _MARK_SENT_FENCED_DRIVER
            for (id_, _), row in zip(sent, params, strict=True):
                row["token"] = tokens[id_]
        if len(params) == 1:
            driver.run(self.connection, params[0])
        elif params:
            driver.run_many(self.connection, params)

    def retry_later(
        self, message_id: int, not_before: datetime, error: str, token: int | None = None
    ) -> bool:
        """Give the message back to wait until `not_before`; False if `token` no longer
        holds it (another sender took it over)."""
        statement = (
            update(_OUTBOX)
            .where(_OUTBOX.c.id == message_id, *self._fence(token))
            .values(status="pending", not_before=not_before, claimed_at=None, error=error)
        )
        result: Any = self.session.execute(statement, {"token": token})
        return bool(result.rowcount)

    def mark_failed(self, message_id: int, error: str, token: int | None = None) -> bool:
        result: Any = self.session.execute(
            update(_OUTBOX)
            .where(_OUTBOX.c.id == message_id, *self._fence(token))
            .values(status="failed", error=error, blob=None, payload=_REDACT_IF_SENSITIVE),
            {"redacted": REDACTED, "token": token},
        )
        return bool(result.rowcount)

    @staticmethod
    def _fence(token: int | None) -> tuple[ColumnElement[bool], ...]:
        return () if token is None else (_HELD,)

    def renew_claims(self, held: Mapping[int, int], now: datetime) -> set[int]:
        """Keep the claims of the messages `held` (id → token): those still so claimed get
        `claimed_at = now`; returns their ids (the others were lost to another sender)."""
        if not held:
            return set()
        result = self.session.execute(
            update(_OUTBOX)
            .where(
                _OUTBOX.c.status == "sending",
                tuple_(_OUTBOX.c.id, _OUTBOX.c.attempts).in_(list(held.items())),
            )
            .values(claimed_at=now)
            .returning(_OUTBOX.c.id)
        )
        return {int(row[0]) for row in result}

    def forget_done_before(self, cutoff: datetime, limit: int) -> int:
        """Delete up to `limit` sent or failed messages created before `cutoff`, oldest first."""
        batch = (
            select(OutboxMessage.id)
            .where(
                OutboxMessage.created_at < cutoff,
                OutboxMessage.status.in_(("sent", "failed")),
            )
            .order_by(OutboxMessage.created_at)
            .limit(limit)
        )
        result: Any = self.session.execute(
            delete(OutboxMessage).where(OutboxMessage.id.in_(batch))
        )
        return int(result.rowcount)

    def pending_stats(self) -> tuple[int, datetime | None]:
        """How many messages wait to be sent, and when the oldest of them was created."""
        row = self.session.execute(
            select(func.count(), func.min(OutboxMessage.created_at)).where(
                OutboxMessage.status.in_(("pending", "sending"))
            )
        ).one()
        oldest = row[1]
        if oldest is not None and oldest.tzinfo is None:  # SQLite hands back naive UTC
            oldest = oldest.replace(tzinfo=UTC)
        return int(row[0]), oldest

    def pending_count(self, identity_key: str | None = None) -> int:
        query = (
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.status.in_(("pending", "sending")))
        )
        if identity_key is not None:
            query = query.where(OutboxMessage.identity_key == identity_key)
        return self.session.scalar(query) or 0

    def last_external_ref(self, identity_key: str) -> str | None:
        return self.session.scalar(
            select(OutboxMessage.external_ref)
            .where(OutboxMessage.identity_key == identity_key, OutboxMessage.status == "sent")
            .order_by(OutboxMessage.id.desc())
            .limit(1)
        )
