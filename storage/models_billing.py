"""Faturas (one per gestor and competência) and their lines (migration 0007)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models import Base
from storage.types import UTCDateTime


class Fatura(Base):
    """What a gestor owes for one month: created by the monthly close, paid once."""

    __tablename__ = "fatura"
    __table_args__ = (
        UniqueConstraint("gestor_id", "competencia", name="uq_fatura_gestor_competencia"),
        Index("ix_fatura_gestor_due", "gestor_id", "due_date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    gestor_id: Mapped[int] = mapped_column(ForeignKey("gestor.id", ondelete="RESTRICT"))
    competencia: Mapped[str] = mapped_column(String(7))  # AAAA-MM
    total: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    due_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paid_via: Mapped[str | None] = mapped_column(String(40))
    # The boleto, once generated: its nosso número (8 digits) and whether a bank registered it.
    nosso_numero: Mapped[str | None] = mapped_column(String(20), unique=True)
    boleto_registered: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")

    items: Mapped[list[FaturaItem]] = relationship(
        order_by="FaturaItem.id", cascade="all, delete-orphan"
    )


class FaturaItem(Base):
    """One billed client: what it was called and cost on the close date (kept as billed)."""

    __tablename__ = "fatura_item"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fatura_id: Mapped[int] = mapped_column(ForeignKey("fatura.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("client.id", ondelete="SET NULL"))
    razao_social: Mapped[str] = mapped_column(String(120))
    documento: Mapped[str] = mapped_column(String(14))
    software: Mapped[str] = mapped_column(String(80))
    plano: Mapped[str] = mapped_column(String(80))
    list_price: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
