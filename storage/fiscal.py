"""Fiscal documents: bulk insert, cancellation, month listings and counts, blob streaming.

Ingest is the hot path (thousands of notes per call), so inserts are Core `INSERT … ON CONFLICT
DO NOTHING RETURNING chave` executed as one multi-row statement per chunk; listings select
only the columns they show and never load the XML blobs.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVarTuple, cast

from sqlalchemy import Row, Select, Table, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from storage.models import Client
from storage.models_fiscal import FiscalDocument
from storage.transaction import Repository

_TABLE = cast(Table, FiscalDocument.__table__)
CANCELADA = "cancelada"  # `situacao` of a note with a registered cancellation
_Columns = TypeVarTuple("_Columns")
AnyRow = Row[*tuple[Any, ...]]
_LISTED = (
    FiscalDocument.id,
    FiscalDocument.tipo,
    FiscalDocument.modelo,
    FiscalDocument.chave,
    FiscalDocument.serie,
    FiscalDocument.numero,
    FiscalDocument.emitida_em,
    FiscalDocument.emitida_offset_min,
    FiscalDocument.competencia,
    FiscalDocument.emitente_documento,
    FiscalDocument.emitente_nome,
    FiscalDocument.destinatario_documento,
    FiscalDocument.destinatario_nome,
    FiscalDocument.valor,
    FiscalDocument.situacao,
    FiscalDocument.cancelada_em,
    FiscalDocument.reconhecida_em,
    FiscalDocument.reconhecida_por,
    FiscalDocument.resumo,
)


@dataclass(frozen=True, slots=True)
class Stored:
    """What ingest needs to know about a chave already stored for the client."""

    id: int
    tipo: str
    situacao: str
    has_cancel_event: bool


@dataclass(frozen=True, slots=True)
class MonthFilter:
    """Which notes: one client, one kind, optionally one model / month / acknowledgement."""

    client_id: int
    tipo: str
    modelo: str | None = None
    competencia: str | None = None
    reconhecida: bool | None = None
    competencias: Collection[str] | None = None
    # Received in [desde, ate) (a background job's batch: the notes one ingest wrote).
    recebida_desde: datetime | None = None
    recebida_ate: datetime | None = None
    # SEFAZ summaries (resNFe, "sem XML"): listed in the chat's supplier notes, never where
    # notes stand for their XML (the integration API, reports, ZIPs, the monthly package)
    com_resumos: bool = True


class FiscalDocumentRepository(Repository):
    # --- ingest ---------------------------------------------------------------------------

    def existing(self, client_id: int, chaves: Collection[str]) -> dict[tuple[str, str], Stored]:
        """(chave, tipo) → what is stored, for the chaves of one chunk."""
        if not chaves:
            return {}
        rows = self.session.execute(
            select(
                FiscalDocument.id,
                FiscalDocument.chave,
                FiscalDocument.tipo,
                FiscalDocument.situacao,
                FiscalDocument.cancelamento_crc32,
            ).where(FiscalDocument.client_id == client_id, FiscalDocument.chave.in_(chaves))
        )
        return {
            (row.chave, row.tipo): Stored(
                row.id, row.tipo, row.situacao, row.cancelamento_crc32 is not None
            )
            for row in rows
        }

    def insert_many(self, rows: Sequence[dict[str, Any]]) -> set[tuple[str, str]]:
        """Insert rows (column → value); return the (chave, tipo) really inserted.

        A row whose (client, chave, tipo) exists meanwhile (a concurrent upload) is skipped
        by the database, not raised: the caller reports it as a duplicate.
        """
        if not rows:
            return set()
        insert = (postgresql.insert if self.dialect == "postgresql" else sqlite.insert)(_TABLE)
        statement = insert.on_conflict_do_nothing(
            index_elements=["client_id", "chave", "tipo"]
        ).returning(_TABLE.c.chave, _TABLE.c.tipo)
        # executemany + RETURNING: SQLAlchemy's "insertmanyvalues" batches it in few round trips.
        return {(row.chave, row.tipo) for row in self.session.execute(statement, list(rows))}

    def cancel(
        self,
        document_id: int,
        *,
        cancelada_em: datetime | None,
        event: tuple[bytes, int, int] | None = None,
        xml: tuple[bytes, int, int] | None = None,
    ) -> None:
        """Mark a note cancelada, storing the event's blob and/or a newer note XML."""
        values: dict[str, Any] = {"situacao": "cancelada", "cancelada_em": cancelada_em}
        if event is not None:
            values.update(
                cancelamento_deflate=event[0],
                cancelamento_crc32=event[1],
                cancelamento_size=event[2],
            )
        if xml is not None:
            values.update(xml_deflate=xml[0], xml_crc32=xml[1], xml_size=xml[2])
        self.session.execute(
            update(FiscalDocument).where(FiscalDocument.id == document_id).values(**values)
        )

    # --- queries for the chat and the API -------------------------------------------------

    def client_of_gestor(self, gestor_id: int, client_id: int) -> Client | None:
        return self.session.scalar(
            select(Client).where(Client.id == client_id, Client.gestor_id == gestor_id)
        )

    def client_by_documento(self, documento: str) -> Client | None:
        return self.session.scalar(select(Client).where(Client.documento == documento))

    def page(self, where: MonthFilter, offset: int, limit: int) -> tuple[list[AnyRow], int]:
        """One page of notes (oldest first, as the month reads) and the total count."""
        base = _filtered(select(*_LISTED), where)
        rows = list(
            self.session.execute(
                base.order_by(FiscalDocument.emitida_em, FiscalDocument.id)
                .offset(offset)
                .limit(limit)
            )
        )
        total = self.session.scalar(_filtered(select(func.count()), where)) or 0
        return rows, total

    def ids_in_order(self, where: MonthFilter) -> list[int]:
        """Every note's id in the month's order (oldest first), for reading them in batches."""
        statement = _filtered(select(FiscalDocument.id), where)
        return list(
            self.session.scalars(statement.order_by(FiscalDocument.emitida_em, FiscalDocument.id))
        )

    def listed_with_xml(self, ids: Collection[int]) -> list[AnyRow]:
        """These notes as listed, with their stored XML (a batch of `ids_in_order`)."""
        statement = select(*_LISTED, FiscalDocument.xml_deflate)
        return list(self.session.execute(statement.where(FiscalDocument.id.in_(list(ids)))))

    def counts(self, where: MonthFilter) -> list[tuple[str, int, Decimal]]:
        """(situação, how many, Σ vNF) for the filter."""
        statement = _filtered(
            select(
                FiscalDocument.situacao,
                func.count(),
                func.coalesce(func.sum(FiscalDocument.valor), 0),
            ),
            where,
        ).group_by(FiscalDocument.situacao)
        return [(row[0], int(row[1]), Decimal(row[2])) for row in self.session.execute(statement)]

    def month_totals(self, where: MonthFilter) -> list[tuple[str, int]]:
        """(competência, how many) of every month with notes, newest first.

        One grouped query; with the client and kind (and model, when given) fixed it is read
        from the (client, tipo, modelo, competência) index, never from the notes themselves.
        """
        statement = (
            _filtered(select(FiscalDocument.competencia, func.count()), where)
            .group_by(FiscalDocument.competencia)
            .order_by(FiscalDocument.competencia.desc())
        )
        return [(row[0], int(row[1])) for row in self.session.execute(statement)]

    def acknowledgement_counts(self, where: MonthFilter) -> tuple[int, int, int]:
        """(pendentes, reconhecidas, canceladas sem reconhecimento) among the filter's notes.

        A note cancelled before anyone acknowledged it is not pending (there is nothing to
        acknowledge): it is counted apart. An acknowledged note stays reconhecida.
        """
        open_ = FiscalDocument.reconhecida_em.is_(None)
        cancelled = FiscalDocument.situacao == CANCELADA
        statement = _filtered(
            select(
                func.count().filter(open_, ~cancelled),
                func.count().filter(FiscalDocument.reconhecida_em.is_not(None)),
                func.count().filter(open_, cancelled),
            ),
            where,
        )
        row = self.session.execute(statement).one()
        return int(row[0]), int(row[1]), int(row[2])

    def by_chave(
        self, client_id: int, chave: str, tipo: str | None = None
    ) -> FiscalDocument | None:
        """The stored note (emitida first when the client is on both sides)."""
        statement = select(FiscalDocument).where(
            FiscalDocument.client_id == client_id, FiscalDocument.chave == chave
        )
        if tipo is not None:
            statement = statement.where(FiscalDocument.tipo == tipo)
        return self.session.scalars(statement.order_by(FiscalDocument.tipo)).first()

    def blob(self, document_id: int, *, cancelamento: bool = False) -> bytes | None:
        column = (
            FiscalDocument.cancelamento_deflate if cancelamento else FiscalDocument.xml_deflate
        )
        return self.session.scalar(select(column).where(FiscalDocument.id == document_id))

    def blobs_after(self, where: MonthFilter, after_id: int, limit: int) -> list[AnyRow]:
        """The next `limit` notes by id with their blobs (keyset pagination, for ZIP writers)."""
        statement = _filtered(
            select(
                FiscalDocument.id,
                FiscalDocument.chave,
                FiscalDocument.modelo,
                FiscalDocument.emitida_em,
                FiscalDocument.emitida_offset_min,
                FiscalDocument.situacao,
                FiscalDocument.xml_deflate,
                FiscalDocument.xml_crc32,
                FiscalDocument.xml_size,
                FiscalDocument.cancelamento_deflate,
                FiscalDocument.cancelamento_crc32,
                FiscalDocument.cancelamento_size,
            ),
            where,
        )
        # A summary from SEFAZ (resNFe) is not the note: it never goes into a ZIP of notes.
        statement = statement.where(FiscalDocument.resumo.is_(False))
        return list(
            self.session.execute(
                statement.where(FiscalDocument.id > after_id)
                .order_by(FiscalDocument.id)
                .limit(limit)
            )
        )

    def acknowledge(self, document_id: int, at: datetime, by: str) -> None:
        self.session.execute(
            update(FiscalDocument)
            .where(FiscalDocument.id == document_id)
            .values(reconhecida_em=at, reconhecida_por=by)
        )


def _filtered(statement: Select[*_Columns], where: MonthFilter) -> Select[*_Columns]:
    statement = statement.where(
        FiscalDocument.client_id == where.client_id, FiscalDocument.tipo == where.tipo
    )
    if where.modelo is not None:
        statement = statement.where(FiscalDocument.modelo == where.modelo)
    if where.competencia is not None:
        statement = statement.where(FiscalDocument.competencia == where.competencia)
    if where.competencias is not None:
        statement = statement.where(FiscalDocument.competencia.in_(list(where.competencias)))
    if not where.com_resumos:
        statement = statement.where(FiscalDocument.resumo.is_(False))
    if where.reconhecida is True:
        statement = statement.where(FiscalDocument.reconhecida_em.is_not(None))
    elif where.reconhecida is False:
        statement = statement.where(FiscalDocument.reconhecida_em.is_(None))
    if where.recebida_desde is not None:
        statement = statement.where(FiscalDocument.recebida_em >= where.recebida_desde)
    if where.recebida_ate is not None:
        statement = statement.where(FiscalDocument.recebida_em < where.recebida_ate)
    return statement
