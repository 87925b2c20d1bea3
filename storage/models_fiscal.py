"""Fiscal documents: a client's NF-e/NFC-e, emitted or received from suppliers.

The XML is kept raw-deflate-compressed (zlib, wbits -15) with its CRC-32 and uncompressed size:
exactly what a ZIP member holds, so the month's ZIP copies the bytes without compressing again.
The blobs are the last columns and deferred, so listings never read them.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base
from storage.types import UTCDateTime


class FiscalDocument(Base):
    """One nota of one client: `tipo` is `emitida` (the client issued it) or `fornecedor`."""

    __tablename__ = "fiscal_document"
    __table_args__ = (
        UniqueConstraint("client_id", "chave", "tipo", name="uq_fiscal_document_client_chave"),
        Index("ix_fiscal_document_month", "client_id", "tipo", "modelo", "competencia"),
        # Pendências: which clients issued in a month (read whole, without the table).
        Index(
            "ix_fiscal_document_emitida_competencia",
            "competencia",
            "client_id",
            postgresql_where=text("tipo = 'emitida'"),
            sqlite_where=text("tipo = 'emitida'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # RESTRICT: notes are kept 5 years by law; a client with notes is not deleted by accident.
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="RESTRICT"))
    tipo: Mapped[str] = mapped_column(String(10))
    modelo: Mapped[str] = mapped_column(String(2))
    chave: Mapped[str] = mapped_column(String(44))
    serie: Mapped[int] = mapped_column(Integer)
    numero: Mapped[int] = mapped_column(Integer)
    emitida_em: Mapped[datetime] = mapped_column(UTCDateTime)
    # dhEmi's own UTC offset in minutes (-240 in Manaus): the note's local time and day.
    emitida_offset_min: Mapped[int | None] = mapped_column(Integer)
    # 'AAAA-MM' of dhEmi in its own offset (= the AAMM of the key): the month the note says.
    competencia: Mapped[str] = mapped_column(String(7))
    emitente_documento: Mapped[str] = mapped_column(String(14))
    emitente_nome: Mapped[str | None] = mapped_column(String(120))
    destinatario_documento: Mapped[str | None] = mapped_column(String(20))
    destinatario_nome: Mapped[str | None] = mapped_column(String(120))
    valor: Mapped[Decimal] = mapped_column(Numeric(15, 2))  # vNF
    situacao: Mapped[str] = mapped_column(String(16))
    protocolo: Mapped[str | None] = mapped_column(String(20))
    cancelada_em: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reconhecida_em: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reconhecida_por: Mapped[str | None] = mapped_column(String(120))
    recebida_em: Mapped[datetime] = mapped_column(UTCDateTime)
    recebida_via: Mapped[str] = mapped_column(String(16))
    # A supplier note known only by its resNFe summary ("sem XML"): the blob is the resNFe; the
    # full note (procNFe) replaces the row when it arrives.
    resumo: Mapped[bool] = mapped_column(Boolean, server_default=false())
    # protNFe/resNFe dhRecbto: the manifestação deadlines count from it (None: not known)
    autorizada_em: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # the last consChNFe asked for this summary (the capture does not ask again within a day)
    xml_pedido_em: Mapped[datetime | None] = mapped_column(UTCDateTime)
    xml_crc32: Mapped[int] = mapped_column(BigInteger)
    xml_size: Mapped[int] = mapped_column(Integer)
    cancelamento_crc32: Mapped[int | None] = mapped_column(BigInteger)
    cancelamento_size: Mapped[int | None] = mapped_column(Integer)
    xml_deflate: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    cancelamento_deflate: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
