"""Repositories: queries by intention. They flush when they must, and never commit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Select, Table, delete, func, insert, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, selectinload

from storage.db import is_postgresql
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


def _insert(session: Session, table: Any) -> Any:
    return (postgresql.insert if is_postgresql(session) else sqlite.insert)(table)


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


class IdentityRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def by_key(self, key: str) -> UserIdentity | None:
        return self.session.scalar(select(UserIdentity).where(UserIdentity.key == key))

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


class CatalogRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

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
        self.session.add(item)
        self.session.flush()


@dataclass(frozen=True, slots=True)
class Page:
    rows: Sequence[Client]
    total: int


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


class ConversationRepository:
    """The hot path of every inbound event, written in SQL Core: a handful of round trips."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def claim_event(self, channel: str, event_id: str, now: datetime) -> bool:
        """Record (channel, event id); False when it had already been processed."""
        statement = (
            _insert(self.session, ProcessedEvent)
            .values(channel=channel, event_id=event_id, processed_at=now)
            .on_conflict_do_nothing()
            .returning(ProcessedEvent.event_id)
        )
        return self.session.execute(statement).first() is not None

    def load(self, identity_key: str) -> StoredState | None:
        row = self.session.execute(
            select(
                ConversationState.flow,
                ConversationState.step,
                ConversationState.data,
                ConversationState.version,
                ConversationState.expires_at,
            ).where(ConversationState.identity_key == identity_key)
        ).first()
        return StoredState(*row) if row else None

    def save(
        self,
        identity_key: str,
        state: StoredState,
        now: datetime,
    ) -> None:
        values = {
            "identity_key": identity_key,
            "flow": state.flow,
            "step": state.step,
            "data": state.data,
            "version": state.version,
            "updated_at": now,
            "expires_at": state.expires_at,
        }
        statement = _insert(self.session, ConversationState).values(**values)
        statement = statement.on_conflict_do_update(
            index_elements=["identity_key"],
            set_={k: statement.excluded[k] for k in values if k != "identity_key"},
        )
        self.session.execute(statement)

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


class OutboxRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def enqueue(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            self.session.execute(insert(OutboxMessage), list(rows))

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
        table = cast(Table, OutboxMessage.__table__)
        due = or_(
            (table.c.status == "pending") & (table.c.not_before <= now),
            (table.c.status == "sending") & (table.c.claimed_at < now - lease),
        )
        candidates = select(table.c.id).where(due).order_by(table.c.id).limit(limit)
        if channels is not None:
            candidates = candidates.where(table.c.channel.in_(channels))
        if identity_key is not None:
            candidates = candidates.where(table.c.identity_key == identity_key)
        if is_postgresql(self.session):
            candidates = candidates.with_for_update(skip_locked=True)
        statement = (
            update(table)
            .where(table.c.id.in_(candidates.scalar_subquery()))
            .values(status="sending", claimed_at=now, attempts=table.c.attempts + 1)
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
        rows = self.session.execute(statement).all()
        return sorted((ClaimedMessage(*row) for row in rows), key=lambda m: m.id)

    def mark_sent(self, message_id: int, now: datetime, external_ref: str | None) -> None:
        self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(status="sent", sent_at=now, external_ref=external_ref, blob=None, error=None)
        )

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
