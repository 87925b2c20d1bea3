"""Repositories: queries by intention. They flush when they must, and never commit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import Any, cast

from sqlalchemy import (
    Connection,
    Select,
    Table,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, SessionTransaction, selectinload

from storage.db import is_postgresql, lock_key
from storage.models import (
    AuditEntry,
    Client,
    ConversationState,
    Gestor,
    GestorEmail,
    Invite,
    OutboxMessage,
    Plan,
    ProcessedEvent,
    Software,
    UserIdentity,
)
from storage.types import UTCDateTime


def _insert(session: Session, table: Any) -> Any:
    return (postgresql.insert if is_postgresql(session) else sqlite.insert)(table)


# The hot path (every inbound event, every outbox send) runs prebuilt Core statements on the
# session's connection: building a statement and going through the ORM layer cost more than
# the round trip itself. Built once per dialect; SQLAlchemy's compiled cache does the rest.
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
def _save_state_statement(dialect: str) -> Any:
    statement = _dialect_insert(dialect)(_STATE)
    return statement.on_conflict_do_update(
        index_elements=["identity_key"],
        set_={name: statement.excluded[name] for name in _STATE_COLUMNS},
    )


# PostgreSQL: take the identity's advisory lock and claim the event in one round trip. Only the
# claim shares the statement's snapshot (ON CONFLICT looks at the latest rows anyway); whatever
# is read after the lock is read by later statements, so it sees the previous holder's commit.
_CLAIM_EVENT_LOCKED_PG = text(
    "WITH lock AS (SELECT pg_advisory_xact_lock(:lock_key)) "
    "INSERT INTO processed_event (channel, event_id, processed_at) "
    "SELECT CAST(:channel AS VARCHAR), CAST(:event_id AS VARCHAR), :processed_at FROM lock "
    "ON CONFLICT DO NOTHING RETURNING event_id"
).bindparams(bindparam("processed_at", type_=UTCDateTime()))

_LOAD_STATE = select(
    _STATE.c.flow, _STATE.c.step, _STATE.c.data, _STATE.c.version, _STATE.c.expires_at
).where(_STATE.c.identity_key == bindparam("identity_key"))

_ENQUEUE = insert(_OUTBOX)
_ENQUEUE_RETURNING = insert(_OUTBOX).returning(_OUTBOX.c.id)
_MARK_SENT = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id == bindparam("message_id"))
    .values(
        status="sent",
        sent_at=bindparam("at"),
        external_ref=bindparam("ref"),
        blob=None,
        error=None,
    )
)


@cache
def _claim_statement(dialect: str, limit: int, by_channel: bool, by_identity: bool) -> Any:
    table = _OUTBOX
    due = or_(
        (table.c.status == "pending") & (table.c.not_before <= bindparam("now")),
        (table.c.status == "sending") & (table.c.claimed_at < bindparam("stale_before")),
    )
    candidates = select(table.c.id).where(due).order_by(table.c.id).limit(limit)
    if by_channel:
        candidates = candidates.where(table.c.channel.in_(bindparam("channels", expanding=True)))
    if by_identity:
        candidates = candidates.where(table.c.identity_key == bindparam("for_identity"))
    if dialect == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    return (
        update(table)
        .where(table.c.id.in_(candidates.scalar_subquery()))
        .values(status="sending", claimed_at=bindparam("now"), attempts=table.c.attempts + 1)
        .returning(
            table.c.id,
            table.c.channel,
            table.c.identity_key,
            table.c.address,
            table.c.payload,
            table.c.blob,
            table.c.attempts,
        )
    )


class _CoreRepository:
    """Runs Core statements straight on the session's connection (same transaction)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._dialect: str | None = None
        self._transaction: SessionTransaction | None = None
        self._connection: Connection | None = None

    @property
    def connection(self) -> Connection:
        """The session's connection; remembered while the session's transaction lasts
        (`Session.connection()` costs about as much as running a small statement)."""
        transaction = self.session.get_transaction()
        if (
            transaction is None
            or transaction is not self._transaction
            or self._connection is None
            or self._connection.closed
        ):
            self._connection = self.session.connection()
            self._transaction = self.session.get_transaction()
        return self._connection

    @property
    def dialect(self) -> str:
        if self._dialect is None:
            self._dialect = self.session.get_bind().dialect.name
        return self._dialect


def _flushed_connection(session: Session) -> Connection:
    """The session's connection, after writing pending ORM changes (Core does not autoflush)."""
    if session.new or session.dirty or session.deleted:
        session.flush()
    return session.connection()


class GestorRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, gestor_id: int) -> Gestor | None:
        return self.session.get(Gestor, gestor_id)

    def by_cnpj(self, cnpj: str) -> Gestor | None:
        return self.session.scalar(select(Gestor).where(Gestor.cnpj == cnpj))

    def add(self, gestor: Gestor) -> Gestor:
        self.session.add(gestor)
        self.session.flush()
        return gestor

    def count(self) -> int:
        return self.session.scalar(select(func.count()).select_from(Gestor)) or 0

    def emails(self, gestor_id: int) -> list[str]:
        rows = self.session.scalars(
            select(GestorEmail.email).where(GestorEmail.gestor_id == gestor_id)
        )
        return list(rows)

    def email_owner(self, email: str) -> int | None:
        return self.session.scalar(select(GestorEmail.gestor_id).where(GestorEmail.email == email))

    def add_email(self, gestor_id: int, email: str, now: datetime) -> None:
        self.session.add(GestorEmail(gestor_id=gestor_id, email=email, created_at=now))
        self.session.flush()


@dataclass(frozen=True, slots=True)
class ActingIdentity:
    """An identity with its gestor's name: what every inbound event needs, in one query."""

    id: int
    key: str
    active: bool
    address: str
    gestor_id: int
    role: str
    last_inbound_at: datetime | None
    gestor_name: str


_IDENTITY = cast(Table, UserIdentity.__table__)
_GESTOR = cast(Table, Gestor.__table__)
_ACTING = select(
    _IDENTITY.c.id,
    _IDENTITY.c.key,
    _IDENTITY.c.active,
    _IDENTITY.c.address,
    _IDENTITY.c.gestor_id,
    _IDENTITY.c.role,
    _IDENTITY.c.last_inbound_at,
    _GESTOR.c.razao_social,
).select_from(_IDENTITY.join(_GESTOR, _GESTOR.c.id == _IDENTITY.c.gestor_id))
_ACTING_BY_KEY = _ACTING.where(_IDENTITY.c.key == bindparam("key"))
_ACTING_WIDTH = len(_ACTING.selected_columns)
_TOUCH_IDENTITY = (
    update(_IDENTITY)
    .where(_IDENTITY.c.id == bindparam("identity_id"))
    .values(last_inbound_at=bindparam("now"), address=bindparam("new_address"))
)


class IdentityRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def by_key(self, key: str) -> UserIdentity | None:
        return self.session.scalar(select(UserIdentity).where(UserIdentity.key == key))

    def acting(self, key: str) -> ActingIdentity | None:
        """The identity and its gestor's name (Core, one round trip; sees pending ORM changes)."""
        row = _flushed_connection(self.session).execute(_ACTING_BY_KEY, {"key": key}).first()
        return ActingIdentity(*row) if row else None

    def touch(self, identity_id: int, now: datetime, address: str) -> None:
        """Record an inbound event's time and the address it came from."""
        self.session.connection().execute(
            _TOUCH_IDENTITY, {"identity_id": identity_id, "now": now, "new_address": address}
        )

    def add(self, identity: UserIdentity) -> UserIdentity:
        self.session.add(identity)
        self.session.flush()
        return identity

    def of_gestor(self, gestor_id: int, *, active_only: bool = True) -> list[UserIdentity]:
        query = select(UserIdentity).where(UserIdentity.gestor_id == gestor_id)
        if active_only:
            query = query.where(UserIdentity.active.is_(True))
        return list(self.session.scalars(query.order_by(UserIdentity.id)))


class InviteRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def by_hash(self, code_hash: str, *, for_update: bool = False) -> Invite | None:
        query = select(Invite).where(Invite.code_hash == code_hash)
        if for_update:
            query = query.with_for_update()
        return self.session.scalar(query)

    def add(self, invite: Invite) -> Invite:
        self.session.add(invite)
        self.session.flush()
        return invite


@dataclass(frozen=True, slots=True)
class CatalogRow:
    """One plan of an active software (plan fields None for a software without plans)."""

    software_id: int
    software_name: str
    plan_id: int | None
    plan_name: str | None
    monthly_price: Decimal | None
    plan_active: bool | None


_SOFTWARE = cast(Table, Software.__table__)
_PLAN = cast(Table, Plan.__table__)
_CATALOG = (
    select(
        _SOFTWARE.c.id,
        _SOFTWARE.c.name,
        _PLAN.c.id,
        _PLAN.c.name,
        _PLAN.c.monthly_price,
        _PLAN.c.active,
    )
    .select_from(_SOFTWARE.outerjoin(_PLAN, _PLAN.c.software_id == _SOFTWARE.c.id))
    .where(_SOFTWARE.c.active.is_(True))
    .order_by(_SOFTWARE.c.name, _SOFTWARE.c.id, _PLAN.c.position, _PLAN.c.id)
)


class CatalogRepository:
    def __init__(self, session: Session) -> None:
        self.session = session
        self._rows: list[CatalogRow] | None = None

    def rows(self) -> list[CatalogRow]:
        """Active softwares and their plans in one query, kept for the rest of the transaction
        (the catalog does not change under a conversation step; `add` forgets it)."""
        if self._rows is None:
            result = _flushed_connection(self.session).execute(_CATALOG)
            self._rows = [CatalogRow(*row) for row in result]
        return self._rows

    def softwares(self) -> list[Software]:
        query = (
            select(Software)
            .where(Software.active.is_(True))
            .options(selectinload(Software.plans))
            .order_by(Software.name)
        )
        return list(self.session.scalars(query))

    def software(self, software_id: int) -> Software | None:
        return self.session.get(Software, software_id)

    def software_by_code(self, code: str) -> Software | None:
        return self.session.scalar(select(Software).where(Software.code == code))

    def plan(self, plan_id: int) -> Plan | None:
        return self.session.get(Plan, plan_id)

    def add(self, item: Software | Plan) -> None:
        self._rows = None
        self.session.add(item)
        self.session.flush()


@dataclass(frozen=True, slots=True)
class Page:
    rows: Sequence[Client]
    total: int


@dataclass(frozen=True, slots=True)
class ClientRow:
    id: int
    razao_social: str
    nome_fantasia: str | None
    documento: str
    status: str


@dataclass(frozen=True, slots=True)
class SummaryPage:
    rows: list[ClientRow]
    total: int


@dataclass(frozen=True, slots=True)
class CardRow:
    id: int
    razao_social: str
    nome_fantasia: str | None
    documento: str
    email: str
    telefone: str
    cep: str
    endereco: str
    cidade: str
    uf: str
    status: str
    payer: str
    created_via: str
    created_at: datetime
    software: str
    plano: str
    monthly_price: Decimal


_CLIENT = cast(Table, Client.__table__)
_SUMMARIES = (
    select(
        _CLIENT.c.id,
        _CLIENT.c.razao_social,
        _CLIENT.c.nome_fantasia,
        _CLIENT.c.documento,
        _CLIENT.c.status,
        func.count().over(),
    )
    .where(_CLIENT.c.gestor_id == bindparam("gestor"))
    .order_by(_CLIENT.c.razao_social, _CLIENT.c.id)
    .offset(bindparam("offset"))
    .limit(bindparam("limit"))
)
_COUNT_CLIENTS = (
    select(func.count()).select_from(_CLIENT).where(_CLIENT.c.gestor_id == bindparam("gestor"))
)
_CARD = (
    select(
        _CLIENT.c.id,
        _CLIENT.c.razao_social,
        _CLIENT.c.nome_fantasia,
        _CLIENT.c.documento,
        _CLIENT.c.email,
        _CLIENT.c.telefone,
        _CLIENT.c.cep,
        _CLIENT.c.endereco,
        _CLIENT.c.cidade,
        _CLIENT.c.uf,
        _CLIENT.c.status,
        _CLIENT.c.payer,
        _CLIENT.c.created_via,
        _CLIENT.c.created_at,
        _SOFTWARE.c.name,
        _PLAN.c.name,
        _PLAN.c.monthly_price,
    )
    .select_from(
        _CLIENT.join(_SOFTWARE, _SOFTWARE.c.id == _CLIENT.c.software_id).join(
            _PLAN, _PLAN.c.id == _CLIENT.c.plan_id
        )
    )
    .where(_CLIENT.c.gestor_id == bindparam("gestor"), _CLIENT.c.id == bindparam("client"))
)


class ClientRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def _of_gestor(self, gestor_id: int) -> Select[Client]:
        return select(Client).where(Client.gestor_id == gestor_id)

    def get_of_gestor(self, gestor_id: int, client_id: int) -> Client | None:
        query = self._of_gestor(gestor_id).where(Client.id == client_id)
        return self.session.scalar(query.options(selectinload(Client.plan)))

    def by_documento(self, documento: str) -> Client | None:
        return self.session.scalar(select(Client).where(Client.documento == documento))

    def page(
        self, gestor_id: int, *, busca: str | None, documento: str | None, offset: int, limit: int
    ) -> Page:
        query = self._of_gestor(gestor_id)
        conditions = []
        if busca:
            conditions.append(Client.busca.contains(busca, autoescape=True))
        if documento:
            conditions.append(Client.documento.contains(documento, autoescape=True))
        if conditions:
            query = query.where(or_(*conditions))
        total = self.session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = self.session.scalars(
            query.order_by(Client.razao_social, Client.id).offset(offset).limit(limit)
        ).all()
        return Page(rows=rows, total=total)

    def summaries(
        self, gestor_id: int, *, busca: str | None, documento: str | None, offset: int, limit: int
    ) -> SummaryPage:
        """Like `page`, in Core and, when the page is not past the end, in one round trip."""
        if busca or documento:
            conditions = []
            if busca:
                conditions.append(_CLIENT.c.busca.contains(busca, autoescape=True))
            if documento:
                conditions.append(_CLIENT.c.documento.contains(documento, autoescape=True))
            search = or_(*conditions)
            statement = _SUMMARIES.where(search)
            counting = _COUNT_CLIENTS.where(search)
        else:
            statement, counting = _SUMMARIES, _COUNT_CLIENTS
        connection = _flushed_connection(self.session)
        params = {"gestor": gestor_id, "offset": offset, "limit": limit}
        rows = connection.execute(statement, params).all()
        total = rows[0][-1] if rows else connection.execute(counting, params).scalar() or 0
        return SummaryPage([ClientRow(*row[:-1]) for row in rows], total)

    def card(self, gestor_id: int, client_id: int) -> CardRow | None:
        """What the client card shows, with software and plan, in one round trip."""
        params = {"gestor": gestor_id, "client": client_id}
        row: Any = _flushed_connection(self.session).execute(_CARD, params).first()
        return CardRow(*row) if row else None

    def add(self, client: Client) -> Client:
        self.session.add(client)
        self.session.flush()
        return client


class AuditRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, entry: AuditEntry) -> None:
        self.session.add(entry)

    def of_client(self, client_id: int, limit: int = 20) -> list[AuditEntry]:
        query = (
            select(AuditEntry)
            .where(AuditEntry.client_id == client_id)
            .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
            .limit(limit)
        )
        return list(self.session.scalars(query))


@dataclass(frozen=True, slots=True)
class StoredState:
    flow: str
    step: str
    data: dict[str, Any]
    version: int
    expires_at: datetime | None


_ACTING_WITH_STATE = (
    _ACTING.add_columns(
        _STATE.c.flow, _STATE.c.step, _STATE.c.data, _STATE.c.version, _STATE.c.expires_at
    )
    .outerjoin(_STATE, _STATE.c.identity_key == _IDENTITY.c.key)
    .where(_IDENTITY.c.key == bindparam("key"))
)


class ConversationRepository(_CoreRepository):
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
            result = self.connection.execute(_CLAIM_EVENT_LOCKED_PG, params)
        else:
            result = self.connection.execute(_claim_event_statement(dialect), params)
        return result.first() is not None

    def load_with_identity(
        self, identity_key: str
    ) -> tuple[ActingIdentity | None, StoredState | None]:
        """The identity (with its gestor's name) and its state, in one round trip."""
        row = (
            _flushed_connection(self.session)
            .execute(_ACTING_WITH_STATE, {"key": identity_key})
            .first()
        )
        if row is None:  # a stranger: no identity, but a state may still be there
            return None, self.load(identity_key)
        identity = ActingIdentity(*row[:_ACTING_WIDTH])
        state = row[_ACTING_WIDTH:]
        return identity, (StoredState(*state) if state[0] is not None else None)

    def load(self, identity_key: str) -> StoredState | None:
        row = self.connection.execute(_LOAD_STATE, {"identity_key": identity_key}).first()
        return StoredState(*row) if row else None

    def save(
        self,
        identity_key: str,
        state: StoredState,
        now: datetime,
    ) -> None:
        self.connection.execute(
            _save_state_statement(self.dialect),
            {
                "identity_key": identity_key,
                "flow": state.flow,
                "step": state.step,
                "data": state.data,
                "version": state.version,
                "updated_at": now,
                "expires_at": state.expires_at,
            },
        )

    def forget_events_before(self, cutoff: datetime) -> int:
        result: Any = self.session.execute(
            delete(ProcessedEvent).where(ProcessedEvent.processed_at < cutoff)
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


class OutboxRepository(_CoreRepository):
    def enqueue(self, rows: Sequence[dict[str, Any]]) -> None:
        if len(rows) == 1:  # the usual case: plain execute, no executemany batching
            self.connection.execute(_ENQUEUE, rows[0])
        elif rows:
            self.connection.execute(_ENQUEUE, list(rows))

    def enqueue_returning(self, rows: Sequence[dict[str, Any]]) -> list[int]:
        """Like `enqueue`, and the new rows' ids in order (a job edits one of them later)."""
        return [int(self.connection.execute(_ENQUEUE_RETURNING, row).scalar_one()) for row in rows]

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
        statement = _claim_statement(
            self.dialect, limit, channels is not None, identity_key is not None
        )
        params: dict[str, Any] = {"now": now, "stale_before": now - lease}
        if channels is not None:
            params["channels"] = list(channels)
        if identity_key is not None:
            params["for_identity"] = identity_key
        rows = self.connection.execute(statement, params).all()
        return sorted((ClaimedMessage(*row) for row in rows), key=lambda m: m.id)

    def mark_sent(self, message_id: int, now: datetime, external_ref: str | None) -> None:
        self.mark_sent_many([(message_id, external_ref)], now)

    def mark_sent_many(self, sent: Sequence[tuple[int, str | None]], now: datetime) -> None:
        """Record several deliveries (message id, platform ref) in one executemany."""
        params = [{"message_id": id_, "at": now, "ref": ref} for id_, ref in sent]
        if params:
            self.connection.execute(_MARK_SENT, params[0] if len(params) == 1 else params)

    def retry_later(self, message_id: int, not_before: datetime, error: str) -> None:
        self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(status="pending", not_before=not_before, claimed_at=None, error=error)
        )

    def mark_failed(self, message_id: int, error: str) -> None:
        self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(status="failed", error=error, blob=None)
        )

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


def ping(session: Session) -> None:
    session.execute(text("SELECT 1"))
