"""Durable background work: one row per job a step asked for (a month's ZIP, a report, the
DANFEs), taken by any instance's workers with the claim/lease of storage/claims.py."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base
from storage.types import JSONData, UTCDateTime

# A job being waited for or built; one such row per key (pressing twice builds once).
ACTIVE = ("pending", "running")
ACTIVE_SQL = text("status IN ('pending', 'running')")


class Job(Base):
    __tablename__ = "job"
    __table_args__ = (
        Index("ix_job_due", "status", "not_before"),
        Index("ix_job_created", "created_at"),  # the retention sweep's order
        Index(
            "ux_job_active_key",
            "key",
            unique=True,
            sqlite_where=ACTIVE_SQL,
            postgresql_where=ACTIVE_SQL,
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    # What makes two requests the same job (kind, person, what): hashed, fixed width.
    key: Mapped[str] = mapped_column(String(64))
    identity_key: Mapped[str | None] = mapped_column(String(120))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONData)
    # How far the job got, written with what it sent (a retry skips it): {"parts": 2}.
    checkpoint: Mapped[dict[str, Any]] = mapped_column(JSONData, default=dict)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
