"""WhatsApp Cloud API bookkeeping: delivery statuses, who is who, updates we could not read."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base
from storage.types import JSONData, UTCDateTime


class WhatsAppStatus(Base):
    """One status (sent, delivered, read, failed) of one message we sent (its wamid).

    Meta redelivers webhooks: the unique constraint keeps each (wamid, status) once.
    """

    __tablename__ = "whatsapp_status"
    __table_args__ = (UniqueConstraint("wamid", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    wamid: Mapped[str] = mapped_column(String(160))
    status: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str | None] = mapped_column(String(120))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WhatsAppUser(Base):
    """A person's BSUID and the phone number (wa_id) last seen with it.

    Lets a payload of the older shape (wa_id only, no user_id) reach the identity keyed by BSUID.
    """

    __tablename__ = "whatsapp_user"
    __table_args__ = (Index("ix_whatsapp_user_wa_id", "wa_id"),)

    bsuid: Mapped[str] = mapped_column(String(120), primary_key=True)
    wa_id: Mapped[str | None] = mapped_column(String(32))
    username: Mapped[str | None] = mapped_column(String(120))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WhatsAppRawUpdate(Base):
    """A webhook update nobody could read, kept for a person to look at (never dropped)."""

    __tablename__ = "whatsapp_raw_update"
    __table_args__ = (Index("ix_whatsapp_raw_update_received", "received_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONData)


class WhatsAppWindow(Base):
    """When each WhatsApp identity last wrote to us: opens the 24-hour window for free-form
    replies, also for people without access yet (their identity row may not exist)."""

    __tablename__ = "whatsapp_window"

    identity_key: Mapped[str] = mapped_column(String(120), primary_key=True)
    last_inbound_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # WhatsApp's own date of the latest message processed, as sent (not held to our clock):
    # a message dated before it arrived out of order.
    last_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
