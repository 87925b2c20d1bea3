"""Pacote do mês: one package per client and month, and each time it was sent to someone."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base
from storage.types import UTCDateTime

# pendente: queued, not built yet; pronto: in the file store; vazio: no notes after all;
# falhou: no worker could build it (after the job's attempts).
PENDENTE, PRONTO, VAZIO, FALHOU = "pendente", "pronto", "vazio", "falhou"


class Pacote(Base):
    """The unique (client, competência) is what makes a second sweep build nothing again."""

    __tablename__ = "pacote"
    __table_args__ = (
        UniqueConstraint("client_id", "competencia", name="uq_pacote_client_competencia"),
        Index("ix_pacote_gestor_competencia", "gestor_id", "competencia", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    gestor_id: Mapped[int] = mapped_column(ForeignKey("gestor.id", ondelete="CASCADE"))
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"))
    competencia: Mapped[str] = mapped_column(String(7))
    status: Mapped[str] = mapped_column(String(12), default=PENDENTE)
    nome: Mapped[str] = mapped_column(String(120))  # ACME_2026-11_pacote.zip
    # The file store's reference, once built (the store's key is random).
    file_key: Mapped[str | None] = mapped_column(String(120))
    file_size: Mapped[int | None] = mapped_column(BigInteger)
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    # CRC-32 of the file: the ZIP of all packages stores each one with it, read once.
    file_crc32: Mapped[int | None] = mapped_column(BigInteger)
    notas: Mapped[int] = mapped_column(Integer, default=0)
    eventos: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    built_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PacoteEnvio(Base):
    """Histórico: the package sent to one address (as an attachment or a link), once."""

    __tablename__ = "pacote_envio"
    __table_args__ = (UniqueConstraint("pacote_id", "destino", name="uq_pacote_envio_destino"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pacote_id: Mapped[int] = mapped_column(ForeignKey("pacote.id", ondelete="CASCADE"))
    destino: Mapped[str] = mapped_column(String(254))
    via: Mapped[str] = mapped_column(String(8))  # anexo, link
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
