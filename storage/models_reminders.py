"""Reminders and the scheduler: what was sent, who runs each job, what is muted."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base
from storage.types import UTCDateTime


class ReminderSent(Base):
    """One reminder per (kind, subject, threshold), ever: the unique constraint is the guard
    against a second sweep (a restart, another instance) sending it again."""

    __tablename__ = "reminder_sent"
    __table_args__ = (
        UniqueConstraint("kind", "subject", "threshold", name="uq_reminder_sent_key"),
        # The Pendências digest reads back what it told one office (migration 0016).
        Index("ix_reminder_sent_gestor_kind", "gestor_id", "kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))  # certificado, fatura, link
    subject: Mapped[str] = mapped_column(String(80))  # fingerprint, fatura id, link id
    threshold: Mapped[str] = mapped_column(String(16))  # "30", "0", "vencido", "vence", …
    gestor_id: Mapped[int] = mapped_column(ForeignKey("gestor.id", ondelete="CASCADE"))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SchedulerLease(Base):
    """Which instance may fire a job until `expires_at` (taken with one conditional UPDATE)."""

    __tablename__ = "scheduler_lease"

    job: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(120))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class NoticeMute(Base):
    """A kind of reminder the gestor chose not to receive (Meus dados › Avisos)."""

    __tablename__ = "notice_mute"

    gestor_id: Mapped[int] = mapped_column(
        ForeignKey("gestor.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(24), primary_key=True)
    muted_at: Mapped[datetime] = mapped_column(UTCDateTime)
