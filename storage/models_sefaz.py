"""SEFAZ: each client's place in the national distribution (NSU), its switches, and the events
(manifestações, cancellations, CC-e…) registered for its supplier notes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base
from storage.types import UTCDateTime


class SefazCursor(Base):
    """One row per client: the switches and where its CNPJ's distribution stands.

    `proxima_consulta_em` is the earliest moment the CNPJ may be asked again (NT 2014.002);
    `lease_holder`/`lease_ate` let one instance at a time query it.
    """

    __tablename__ = "sefaz_cursor"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(
        ForeignKey("client.id", ondelete="CASCADE"), unique=True
    )
    cnpj: Mapped[str] = mapped_column(String(14))
    captura_ativa: Mapped[bool] = mapped_column(Boolean, server_default=false())
    ciencia_automatica: Mapped[bool] = mapped_column(Boolean, server_default=false())
    ult_nsu: Mapped[str] = mapped_column(String(15), server_default="000000000000000")
    max_nsu: Mapped[str] = mapped_column(String(15), server_default="000000000000000")
    proxima_consulta_em: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ultima_consulta_em: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ultimo_c_stat: Mapped[str | None] = mapped_column(String(3))
    ultimo_x_motivo: Mapped[str | None] = mapped_column(String(255))
    bloqueado_656_em: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # consChNFe asked in the hour that began at cons_chave_desde (NT 2014.002 limit)
    cons_chave_desde: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cons_chave_feitas: Mapped[int] = mapped_column(Integer, server_default="0")
    lease_holder: Mapped[str | None] = mapped_column(String(120))
    lease_ate: Mapped[datetime | None] = mapped_column(UTCDateTime)


class FiscalEvent(Base):
    """An event of a client's note: sent by us (manifestação) or found by the capture."""

    __tablename__ = "fiscal_event"
    __table_args__ = (
        UniqueConstraint(
            "client_id", "chave", "tp_evento", "n_seq", name="uq_fiscal_event_client_chave"
        ),
        Index("ix_fiscal_event_chave", "client_id", "chave"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="RESTRICT"))
    chave: Mapped[str] = mapped_column(String(44))
    tp_evento: Mapped[str] = mapped_column(String(6))
    n_seq: Mapped[int] = mapped_column(Integer)
    descricao: Mapped[str] = mapped_column(String(120))
    c_stat: Mapped[str | None] = mapped_column(String(3))
    protocolo: Mapped[str | None] = mapped_column(String(20))
    registrado_em: Mapped[datetime] = mapped_column(UTCDateTime)
    origem: Mapped[str] = mapped_column(String(16))  # captura | manifestacao
    enviado_por: Mapped[str | None] = mapped_column(String(120))
    # procEventoNFe (or the resEvento when only the summary came), raw deflate like the notes
    xml_crc32: Mapped[int | None] = mapped_column(BigInteger)
    xml_size: Mapped[int | None] = mapped_column(Integer)
    xml_deflate: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
