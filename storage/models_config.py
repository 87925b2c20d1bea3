"""Configurações: the client's A1 certificate and the software access links."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base
from storage.types import UTCDateTime


class Certificate(Base):
    """The client's current A1 certificate: public facts in clear, PFX and password encrypted."""

    __tablename__ = "certificate"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(
        ForeignKey("client.id", ondelete="CASCADE"), unique=True
    )
    subject_cn: Mapped[str] = mapped_column(String(250))
    holder_name: Mapped[str] = mapped_column(String(250))
    documento: Mapped[str | None] = mapped_column(String(14))
    issuer_cn: Mapped[str] = mapped_column(String(250))
    serial: Mapped[str] = mapped_column(String(80))
    fingerprint: Mapped[str] = mapped_column(String(64))
    not_before: Mapped[datetime] = mapped_column(UTCDateTime)
    not_after: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # Fernet tokens (MultiFernet, ENCRYPTION_KEYS): never the clear bytes.
    pfx_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    password_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    uploaded_by: Mapped[str] = mapped_column(String(120))


class AccessLink(Base):
    """A short-lived, single-use link into the client's software: only its hash is kept."""

    __tablename__ = "access_link"
    __table_args__ = (Index("ix_access_link_client", "client_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"))
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
