"""Repositories: queries by intention. They flush when they must, and never commit."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import (
    Connection,
    Integer,
    Select,
    String,
    Table,
    bindparam,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import selectinload
from sqlalchemy.sql.dml import Insert

from storage.driver import DriverStatement
from storage.models import (
    AuditEntry,
    Client,
    Gestor,
    GestorEmail,
    IntegrationKey,
    Invite,
    Plan,
    Software,
    UserIdentity,
)
from storage.transaction import Repository, Transaction


class GestorRepository(Repository):
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
        query = select(GestorEmail.gestor_id).where(GestorEmail.email == email)
        return self.flushed().execute(query).scalar()

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


IDENTITY = cast(Table, UserIdentity.__table__)
_GESTOR = cast(Table, Gestor.__table__)
ACTING = select(
    IDENTITY.c.id,
    IDENTITY.c.key,
    IDENTITY.c.active,
    IDENTITY.c.address,
    IDENTITY.c.gestor_id,
    IDENTITY.c.role,
    IDENTITY.c.last_inbound_at,
    _GESTOR.c.razao_social,
).select_from(IDENTITY.join(_GESTOR, _GESTOR.c.id == IDENTITY.c.gestor_id))
_ACTING_BY_KEY = ACTING.where(IDENTITY.c.key == bindparam("key"))
ACTING_WIDTH = len(ACTING.selected_columns)
_TOUCH_IDENTITY = (
    update(IDENTITY)
    .where(IDENTITY.c.id == bindparam("identity_id"))
    .values(last_inbound_at=bindparam("now"), address=bindparam("new_address"))
)


class IdentityRepository(Repository):
    def by_key(self, key: str) -> UserIdentity | None:
        return self.session.scalar(select(UserIdentity).where(UserIdentity.key == key))

    def acting(self, key: str) -> ActingIdentity | None:
        """The identity and its gestor's name (Core, one round trip; sees pending ORM changes)."""
        row = self.flushed().execute(_ACTING_BY_KEY, {"key": key}).first()
        return ActingIdentity(*row) if row else None

    def touch(self, identity_id: int, now: datetime, address: str) -> None:
        """Record an inbound event's time and the address it came from."""
        self.connection.execute(
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


class InviteRepository(Repository):
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

# Read at most once by a Novo cadastro step (software, plan, summary, Cadastrar): on the driver.
_CATALOG_DRIVER = DriverStatement(_CATALOG, [c.type for c in _CATALOG.selected_columns])


class CatalogRepository(Repository):
    def __init__(self, transaction: Transaction) -> None:
        super().__init__(transaction)
        self._rows: list[CatalogRow] | None = None

    def rows(self) -> list[CatalogRow]:
        """Active softwares and their plans in one query, kept for the rest of the transaction
        (the catalog does not change under a conversation step; `add` forgets it)."""
        if self._rows is None:
            rows = _CATALOG_DRIVER.all(self.flushed(), {})
            self._rows = [CatalogRow(*row) for row in rows]
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


# The list's page and the card are run on every step that shows them: straight on the driver.
_SUMMARIES_DRIVER = DriverStatement(_SUMMARIES, [c.type for c in _SUMMARIES.selected_columns])
_COUNT_CLIENTS_DRIVER = DriverStatement(_COUNT_CLIENTS, [Integer()])
_CARD_DRIVER = DriverStatement(_CARD, [c.type for c in _CARD.selected_columns])
# Novo cadastro's statements (the CPF/CNPJ's owner is also asked at its step), on the driver.
_DOCUMENTO_OWNER_DRIVER = DriverStatement(
    select(_CLIENT.c.gestor_id, _CLIENT.c.razao_social).where(
        _CLIENT.c.documento == bindparam("documento")
    ),
    [Integer(), String()],
)
# What a new client row is given; the other columns start empty (NULL).
NEW_CLIENT_COLUMNS = (
    "gestor_id",
    "documento",
    "razao_social",
    "nome_fantasia",
    "busca",
    "email",
    "telefone",
    "cep",
    "endereco",
    "cidade",
    "uf",
    "email_contador",
    "software_id",
    "plan_id",
    "status",
    "payer",
    "created_via",
    "created_at",
    "updated_at",
)


def _new_client(dialect: str) -> Insert:
    """INSERT of a new client that does nothing when its CPF/CNPJ is taken (the unique
    documento, checked by the database in the same round trip, racing inserts included)."""
    values = {name: bindparam(name, type_=_CLIENT.c[name].type) for name in NEW_CLIENT_COLUMNS}
    statement = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(_CLIENT)
    return (
        statement.values(values)
        .on_conflict_do_nothing(index_elements=["documento"])
        .returning(_CLIENT.c.id)
    )


@functools.cache
def _insert_client_driver(dialect: str) -> DriverStatement:
    return DriverStatement(_new_client(dialect), [Integer()])


_AUDIT = cast(Table, AuditEntry.__table__)
_AUDIT_COLUMNS = ("at", "gestor_id", "actor", "client_id", "action", "before", "after")
_INSERT_AUDIT_DRIVER = DriverStatement(
    insert(_AUDIT).values(
        {name: bindparam(name, type_=_AUDIT.c[name].type) for name in _AUDIT_COLUMNS}
    )
)
_KEY = cast(Table, IntegrationKey.__table__)
_KEY_COLUMNS = ("client_id", "prefix", "key_hash", "created_at", "created_by")
# A new active integration key (every new client gets one).
INSERT_INTEGRATION_KEY = DriverStatement(
    insert(_KEY).values({name: bindparam(name, type_=_KEY.c[name].type) for name in _KEY_COLUMNS})
)


def _registering_pg() -> DriverStatement:
    """PostgreSQL: the new client, its audit entry and its first key in one statement
    (data-modifying CTEs). The entry and the key select from the client's RETURNING, so a
    taken CPF/CNPJ writes none of the three; the entry's `after` gets the new id there."""
    new_client = _new_client("postgresql").cte("new_client")
    new_id = new_client.c.id
    after = bindparam("after", type_=_AUDIT.c.after.type)
    audit = (
        insert(_AUDIT)
        .from_select(
            ["at", "gestor_id", "actor", "client_id", "action", "after"],
            select(
                bindparam("created_at", type_=_AUDIT.c.at.type),
                bindparam("gestor_id", type_=Integer()),
                bindparam("actor", type_=String()),
                new_id,
                bindparam("action", type_=String()),
                after.op("||")(func.jsonb_build_object("id", new_id)),
            ),
        )
        .cte("audit")
    )
    key = (
        insert(_KEY)
        .from_select(
            ["client_id", "prefix", "key_hash", "created_at", "created_by"],
            select(
                new_id,
                bindparam("key_prefix", type_=String()),
                bindparam("key_hash", type_=String()),
                bindparam("created_at", type_=_KEY.c.created_at.type),
                bindparam("actor", type_=String()),
            ),
        )
        .cte("first_key")
    )
    return DriverStatement(select(new_id).add_cte(audit, key), [Integer()])


_REGISTERING_PG = _registering_pg()


@dataclass(frozen=True, slots=True)
class Registration:
    """What is written with a new client: its audit entry (`action` by `actor` at the client's
    creation; `after` without the client's id, which is added once known) and its first
    integration key (`key_prefix`, `key_hash`; created by the same actor)."""

    actor: str
    action: str
    after: Mapping[str, Any]
    key_prefix: str
    key_hash: str


@dataclass(frozen=True, slots=True)
class DocumentoOwner:
    """Whose client a CPF/CNPJ already is."""

    gestor_id: int
    razao_social: str


class ClientRepository(Repository):
    def _of_gestor(self, gestor_id: int) -> Select[Client]:
        return select(Client).where(Client.gestor_id == gestor_id)

    def get_of_gestor(self, gestor_id: int, client_id: int) -> Client | None:
        query = self._of_gestor(gestor_id).where(Client.id == client_id)
        return self.session.scalar(query.options(selectinload(Client.plan)))

    def by_documento(self, documento: str) -> Client | None:
        return self.session.scalar(select(Client).where(Client.documento == documento))

    def documento_owner(self, documento: str) -> DocumentoOwner | None:
        """The office and name of the client holding this CPF/CNPJ, if any (one round trip)."""
        row = _DOCUMENTO_OWNER_DRIVER.first(self.flushed(), {"documento": documento})
        return DocumentoOwner(*row) if row else None

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
        connection = self.flushed()
        params = {"gestor": gestor_id, "offset": offset, "limit": limit}
        if not (busca or documento):  # a page of the whole list: the usual step
            rows: Sequence[Any] = _SUMMARIES_DRIVER.all(connection, params)
            if rows:
                return SummaryPage([ClientRow(*row[:-1]) for row in rows], rows[0][-1])
            counted = _COUNT_CLIENTS_DRIVER.first(connection, {"gestor": gestor_id})
            return SummaryPage([], counted[0] if counted else 0)
        conditions = []
        if busca:
            conditions.append(_CLIENT.c.busca.contains(busca, autoescape=True))
        if documento:
            conditions.append(_CLIENT.c.documento.contains(documento, autoescape=True))
        search = or_(*conditions)
        rows = connection.execute(_SUMMARIES.where(search), params).all()
        total = (
            rows[0][-1]
            if rows
            else connection.execute(_COUNT_CLIENTS.where(search), params).scalar() or 0
        )
        return SummaryPage([ClientRow(*row[:-1]) for row in rows], total)

    def card(self, gestor_id: int, client_id: int) -> CardRow | None:
        """What the client card shows, with software and plan, in one round trip."""
        params = {"gestor": gestor_id, "client": client_id}
        row = _CARD_DRIVER.first(self.flushed(), params)
        return CardRow(*row) if row else None

    def register(self, values: Mapping[str, Any], registration: Registration) -> int | None:
        """Write a new client (every one of NEW_CLIENT_COLUMNS given) with its audit entry
        and first key, on the driver: one statement on PostgreSQL, three on SQLite. The
        client's id, or None when its `documento` is already a client's (nothing written)."""
        connection = self.flushed()
        if connection.dialect.name == "postgresql":
            params = {
                **values,
                "actor": registration.actor,
                "action": registration.action,
                "after": registration.after,
                "key_prefix": registration.key_prefix,
                "key_hash": registration.key_hash,
            }
            row = _REGISTERING_PG.first(connection, params)
            return None if row is None else int(row[0])
        row = _insert_client_driver(connection.dialect.name).first(connection, values)
        if row is None:
            return None
        client_id = int(row[0])
        _INSERT_AUDIT_DRIVER.run(
            connection,
            {
                "at": values["created_at"],
                "gestor_id": values["gestor_id"],
                "actor": registration.actor,
                "client_id": client_id,
                "action": registration.action,
                "before": None,
                "after": {"id": client_id, **registration.after},
            },
        )
        INSERT_INTEGRATION_KEY.run(
            connection,
            {
                "client_id": client_id,
                "prefix": registration.key_prefix,
                "key_hash": registration.key_hash,
                "created_at": values["created_at"],
                "created_by": registration.actor,
            },
        )
        return client_id


class AuditRepository(Repository):
    def add(self, entry: AuditEntry) -> None:
        """Write the entry now, one INSERT on the driver (every Novo cadastro writes one)."""
        _INSERT_AUDIT_DRIVER.run(
            self.flushed(),
            {name: getattr(entry, name) for name in _AUDIT_COLUMNS},
        )

    def of_client(self, client_id: int, limit: int = 20) -> list[AuditEntry]:
        query = (
            select(AuditEntry)
            .where(AuditEntry.client_id == client_id)
            .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
            .limit(limit)
        )
        return list(self.session.scalars(query))


def ping(connection: Connection) -> None:
    connection.execute(text("SELECT 1"))
