"""The database schema (SQLAlchemy 2.0 declarative). Changes go through Alembic migrations."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from storage.types import JSONData, UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Gestor(Base):
    __tablename__ = "gestor"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cnpj: Mapped[str] = mapped_column(String(14), unique=True)
    razao_social: Mapped[str] = mapped_column(String(120))
    nome_fantasia: Mapped[str | None] = mapped_column(String(120))
    telefone: Mapped[str | None] = mapped_column(String(20))
    endereco: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # migration 0007: the password that binds a new chat (/entrar), its lockout, and
    # how the gestor pays its faturas.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    payment_method: Mapped[str] = mapped_column(
        String(16), default="boleto", server_default="boleto"
    )

    emails: Mapped[list[GestorEmail]] = relationship(
        back_populates="gestor", order_by="GestorEmail.id"
    )


class GestorEmail(Base):
    """E-mails linked to a gestor: a client typing one as its contador's is linked to it."""

    __tablename__ = "gestor_email"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    gestor_id: Mapped[int] = mapped_column(ForeignKey("gestor.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    gestor: Mapped[Gestor] = relationship(back_populates="emails")


class UserIdentity(Base):
    """A chat identity (`tg:<id>`, `wa:<bsuid>`, `console:<name>`) bound to a gestor's office."""

    __tablename__ = "user_identity"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(120))
    gestor_id: Mapped[int] = mapped_column(ForeignKey("gestor.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    display_name: Mapped[str | None] = mapped_column(String(120))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONData, default=dict)
    last_inbound_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Invite(Base):
    """A single-use, expiring code that binds a chat identity to a gestor with a role."""

    __tablename__ = "invite"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    gestor_id: Mapped[int] = mapped_column(ForeignKey("gestor.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    used_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_identity.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Software(Base):
    __tablename__ = "software"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    base_url: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    plans: Mapped[list[Plan]] = relationship(back_populates="software", order_by="Plan.position")


class Plan(Base):
    __tablename__ = "plan"
    __table_args__ = (UniqueConstraint("software_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    software_id: Mapped[int] = mapped_column(ForeignKey("software.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(80))
    monthly_price: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    software: Mapped[Software] = relationship(back_populates="plans")


class Client(Base):
    __tablename__ = "client"
    __table_args__ = (
        Index("ix_client_gestor_name", "gestor_id", "razao_social"),
        # Pendências: the office's clients by status, with the id for index-only joins.
        Index("ix_client_gestor_status", "gestor_id", "status", "id"),
        # Pendências counts read only these (migration 0018).
        Index("ix_client_gestor_emissao", "gestor_id", "ultima_emissao", "status"),
        Index("ix_client_gestor_certificado", "gestor_id", "certificado_ate", "status"),
        # Clients in Teste too long: a range of the expression the list filters and orders
        # by; its two columns too, so PostgreSQL can count without the heap (migration 0020).
        Index(
            "ix_client_gestor_teste",
            "gestor_id",
            "status",
            text("coalesce(status_since, created_at)"),
            "status_since",
            "created_at",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    gestor_id: Mapped[int] = mapped_column(ForeignKey("gestor.id", ondelete="RESTRICT"))
    documento: Mapped[str] = mapped_column(String(14), unique=True)
    razao_social: Mapped[str] = mapped_column(String(120))
    nome_fantasia: Mapped[str | None] = mapped_column(String(120))
    # razão social + nome fantasia, lower-case without accents: what a search matches.
    busca: Mapped[str] = mapped_column(String(250))
    email: Mapped[str] = mapped_column(String(254))
    telefone: Mapped[str] = mapped_column(String(20))
    cep: Mapped[str] = mapped_column(String(8))
    endereco: Mapped[str] = mapped_column(String(200))
    cidade: Mapped[str] = mapped_column(String(80))
    uf: Mapped[str] = mapped_column(String(2))
    email_contador: Mapped[str | None] = mapped_column(String(254))
    # Pacote mensal: None follows the contract (on while Efetivado); True/False was chosen.
    pacote_mensal: Mapped[bool | None] = mapped_column(Boolean)
    software_id: Mapped[int] = mapped_column(ForeignKey("software.id"))
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id"))
    status: Mapped[str] = mapped_column(String(16))
    payer: Mapped[str] = mapped_column(String(16))
    created_via: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # migration 0016: when the contract entered its current status (None: since created_at),
    # so Pendências can tell a client that has been in Teste too long.
    status_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # migration 0018, written only by database triggers (never by the code): the month
    # (AAAA-MM) of the client's latest emitted note, and its certificate's not_after.
    ultima_emissao: Mapped[str | None] = mapped_column(String(7))
    certificado_ate: Mapped[datetime | None] = mapped_column(UTCDateTime)

    software: Mapped[Software] = relationship()
    plan: Mapped[Plan] = relationship()


class AuditEntry(Base):
    """Who changed what, when: before → after."""

    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_client", "client_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    gestor_id: Mapped[int | None] = mapped_column(ForeignKey("gestor.id", ondelete="CASCADE"))
    actor: Mapped[str] = mapped_column(String(120))
    client_id: Mapped[int | None] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(60))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONData)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONData)


class ConversationState(Base):
    """Where each identity is in its dialogue; one row per identity, saved once per event."""

    __tablename__ = "conversation_state"

    identity_key: Mapped[str] = mapped_column(String(120), primary_key=True)
    flow: Mapped[str] = mapped_column(String(40))
    step: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict[str, Any]] = mapped_column(JSONData)
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ProcessedEvent(Base):
    """(channel, event id) of every inbound event already acted on: duplicates are skipped."""

    __tablename__ = "processed_event"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(120), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


# The outbox rows waiting or in flight. A query that should use ix_outbox_unsent repeats its
# term (SQLite takes a partial index only for a WHERE that contains the index's own).
OUTBOX_UNSENT = ("pending", "sending")
OUTBOX_UNSENT_SQL = text(f"status IN ({', '.join(repr(status) for status in OUTBOX_UNSENT)})")


class OutboxMessage(Base):
    """A message committed with the event that caused it and delivered later by the sender."""

    __tablename__ = "outbox_message"
    __table_args__ = (
        Index("ix_outbox_pending", "status", "not_before"),
        Index("ix_outbox_identity", "identity_key", "id"),
        Index("ix_outbox_created", "created_at"),  # the retention sweep's order
        # A WhatsApp status names the message by its wamid: a failed one finds its row. Only
        # the rows that have one: the others would each be an entry written at the insert.
        Index(
            "ix_outbox_external_ref",
            "external_ref",
            sqlite_where=text("external_ref IS NOT NULL"),
            postgresql_where=text("external_ref IS NOT NULL"),
        ),
        # A chat's messages not yet delivered, without its history: whether it has any, read
        # with its state (storage.conversation), and the claim of one chat's messages.
        Index(
            "ix_outbox_unsent",
            "identity_key",
            "id",
            sqlite_where=OUTBOX_UNSENT_SQL,
            postgresql_where=OUTBOX_UNSENT_SQL,
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    identity_key: Mapped[str] = mapped_column(String(120))
    address: Mapped[str] = mapped_column(String(120))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONData)
    blob: Mapped[bytes | None] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    external_ref: Mapped[str | None] = mapped_column(String(120))
    # The payload carries a secret: replaced by REDACTED once delivered (or given up on).
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class IntegrationKey(Base):
    """A client's key to the integration API: only a hash and a display prefix are kept."""

    __tablename__ = "integration_key"
    __table_args__ = (Index("ix_integration_key_client", "client_id", "revoked_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(120))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Notice(Base):
    """Something a gestor must be told (a sign-up, a reminder), committed with its cause and
    then turned into a message on every chat bound to the gestor by the notice dispatcher."""

    __tablename__ = "notice"
    __table_args__ = (Index("ix_notice_pending", "dispatched_at", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    gestor_id: Mapped[int] = mapped_column(ForeignKey("gestor.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONData)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# Feature model modules register their tables on Base.metadata when imported: one line each,
# so that Alembic, the tests (which truncate every table) and the app see the whole schema.
import storage.models_billing  # noqa: E402  (fatura, fatura_item)
import storage.models_config  # noqa: E402  (certificate, access_link)
import storage.models_fiscal  # noqa: E402  (fiscal_document)
import storage.models_jobs  # noqa: E402  (job)
import storage.models_links  # noqa: E402  (contracting_link, sign_up)
import storage.models_pacote  # noqa: E402  (pacote, pacote_envio)
import storage.models_reminders  # noqa: E402  (reminder_sent, scheduler_lease, …)
import storage.models_sefaz  # noqa: E402  (sefaz_cursor, fiscal_event)
import storage.models_whatsapp  # noqa: E402, F401  (whatsapp_status, whatsapp_user, …)
