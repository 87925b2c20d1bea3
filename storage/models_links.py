"""Contracting links and the sign-ups that arrived without one."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base
from storage.types import UTCDateTime


class ContractingLink(Base):
    """A single-use sign-up link a gestor sends; only the token's SHA-256 is kept."""

    __tablename__ = "contracting_link"
    __table_args__ = (Index("ix_contracting_link_gestor", "gestor_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    gestor_id: Mapped[int] = mapped_column(ForeignKey("gestor.id", ondelete="CASCADE"))
    software_id: Mapped[int] = mapped_column(ForeignKey("software.id"))
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id"))
    payer: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    client_id: Mapped[int | None] = mapped_column(
        ForeignKey("client.id", ondelete="SET NULL"), unique=True
    )


class SignUp(Base):
    """A sign-up from /cadastro whose contador e-mail matched no gestor: for the operator."""

    __tablename__ = "sign_up"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    documento: Mapped[str] = mapped_column(String(14), unique=True)
    razao_social: Mapped[str] = mapped_column(String(120))
    nome_fantasia: Mapped[str | None] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(254))
    telefone: Mapped[str] = mapped_column(String(20))
    cep: Mapped[str] = mapped_column(String(8))
    endereco: Mapped[str] = mapped_column(String(200))
    email_contador: Mapped[str | None] = mapped_column(String(254))
    software_id: Mapped[int] = mapped_column(ForeignKey("software.id"))
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
