"""SEFAZ rows: the per-client cursor (with its lease), the events of notes, the summaries."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from storage.models import Client
from storage.models_config import Certificate
from storage.models_fiscal import FiscalDocument
from storage.models_sefaz import FiscalEvent, SefazCursor
from storage.transaction import Repository


@dataclass(frozen=True, slots=True)
class CaptureTarget:
    """A client whose supplier notes the capture fetches."""

    cursor_id: int
    client_id: int
    gestor_id: int
    cnpj: str
    uf: str
    nome: str
    ciencia_automatica: bool
    proxima_consulta_em: datetime | None


class SefazRepository(Repository):
    # --- cursor and switches ----------------------------------------------------------------

    def cursor(self, client_id: int) -> SefazCursor | None:
        return self.session.scalars(
            select(SefazCursor).where(SefazCursor.client_id == client_id)
        ).one_or_none()

    def ensure_cursor(self, client_id: int, cnpj: str) -> SefazCursor:
        """The client's row, created (capture off) when missing; concurrent creators: one wins."""
        module: Any = postgresql if self.dialect == "postgresql" else sqlite
        self.session.execute(
            module.insert(SefazCursor)
            .values(client_id=client_id, cnpj=cnpj)
            .on_conflict_do_nothing(index_elements=["client_id"])
        )
        cursor = self.cursor(client_id)
        assert cursor is not None  # noqa: S101 - inserted or already there
        return cursor

    def targets(self, now: datetime, documento: str | None = None) -> list[CaptureTarget]:
        """Clients with capture on and a certificate valid now (optionally one CNPJ)."""
        query = (
            select(
                SefazCursor.id,
                Client.id,
                Client.gestor_id,
                SefazCursor.cnpj,
                Client.uf,
                Client.nome_fantasia,
                Client.razao_social,
                SefazCursor.ciencia_automatica,
                SefazCursor.proxima_consulta_em,
            )
            .join(Client, Client.id == SefazCursor.client_id)
            .join(Certificate, Certificate.client_id == Client.id)
            .where(
                SefazCursor.captura_ativa.is_(True),
                Certificate.not_before <= now,
                Certificate.not_after > now,
            )
            .order_by(SefazCursor.id)
        )
        if documento is not None:
            query = query.where(Client.documento == documento)
        return [
            CaptureTarget(
                row[0], row[1], row[2], row[3], row[4], row[5] or row[6], bool(row[7]), row[8]
            )
            for row in self.session.execute(query)
        ]

    def target(self, client_id: int) -> CaptureTarget | None:
        """The client's cursor as a capture target, whatever its switches."""
        row = self.session.execute(
            select(SefazCursor, Client)
            .join(Client, Client.id == SefazCursor.client_id)
            .where(SefazCursor.client_id == client_id)
        ).first()
        if row is None:
            return None
        cursor, client = row
        return CaptureTarget(
            cursor.id, client.id, client.gestor_id, cursor.cnpj, client.uf,
            client.nome_fantasia or client.razao_social, cursor.ciencia_automatica,
            cursor.proxima_consulta_em,
        )  # fmt: skip

    def take_for_key(self, cursor_id: int, holder: str, now: datetime, ttl: timedelta) -> bool:
        """Hold this CNPJ for a consChNFe: nobody else holds it (the distNSU wait after 137
        does not apply to a query by key)."""
        return self._lease(cursor_id, holder, now, ttl)

    def summaries_awaiting_xml(
        self,
        client_id: int,
        *,
        manifestada_antes: datetime,
        pedido_antes: datetime,
        tp_eventos: Collection[str],
        autorizada_desde: datetime,
        limit: int,
    ) -> list[str]:
        """Keys of the client's summaries manifested (one of `tp_eventos`) before
        `manifestada_antes` whose XML was not asked by key since `pedido_antes`, authorized
        (issued, when unknown) since `autorizada_desde`, oldest manifestação first."""
        manifestada = func.min(FiscalEvent.registrado_em)
        rows = self.session.execute(
            select(FiscalDocument.chave, manifestada)
            .join(
                FiscalEvent,
                (FiscalEvent.client_id == FiscalDocument.client_id)
                & (FiscalEvent.chave == FiscalDocument.chave),
            )
            .where(
                FiscalDocument.client_id == client_id,
                FiscalDocument.resumo.is_(True),
                FiscalDocument.situacao != "cancelada",
                FiscalEvent.tp_evento.in_(list(tp_eventos)),
                func.coalesce(FiscalDocument.autorizada_em, FiscalDocument.emitida_em)
                >= autorizada_desde,
                or_(
                    FiscalDocument.xml_pedido_em.is_(None),
                    FiscalDocument.xml_pedido_em < pedido_antes,
                ),
            )
            .group_by(FiscalDocument.chave)
            .having(manifestada <= manifestada_antes)
            .order_by(manifestada, FiscalDocument.chave)
            .limit(limit)
        )
        return [row[0] for row in rows]

    def mark_xml_asked(self, client_id: int, chave: str, at: datetime) -> None:
        self.session.execute(
            update(FiscalDocument)
            .where(
                FiscalDocument.client_id == client_id,
                FiscalDocument.chave == chave,
                FiscalDocument.resumo.is_(True),
            )
            .values(xml_pedido_em=at)
            .execution_options(synchronize_session=False)
        )

    def take(self, cursor_id: int, holder: str, now: datetime, ttl: timedelta) -> bool:
        """Hold this CNPJ until now + ttl when it may be asked now and nobody else holds it."""
        return self._lease(
            cursor_id,
            holder,
            now,
            ttl,
            or_(SefazCursor.proxima_consulta_em.is_(None), SefazCursor.proxima_consulta_em <= now),
        )

    def _lease(
        self,
        cursor_id: int,
        holder: str,
        now: datetime,
        ttl: timedelta,
        *when: ColumnElement[bool],
    ) -> bool:
        """Hold the cursor's CNPJ until now + ttl when nobody else holds it (and `when`)."""
        taken = self.session.execute(
            update(SefazCursor)
            .where(
                SefazCursor.id == cursor_id,
                or_(
                    SefazCursor.lease_ate.is_(None),
                    SefazCursor.lease_ate <= now,
                    SefazCursor.lease_holder == holder,
                ),
                *when,
            )
            .values(lease_holder=holder, lease_ate=now + ttl)
            .execution_options(synchronize_session=False)
        )
        return bool(taken.rowcount)  # type: ignore[attr-defined]

    def release(self, cursor_id: int, holder: str) -> None:
        self.session.execute(
            update(SefazCursor)
            .where(SefazCursor.id == cursor_id, SefazCursor.lease_holder == holder)
            .values(lease_holder=None, lease_ate=None)
            .execution_options(synchronize_session=False)
        )

    def record_answer(self, cursor_id: int, **values: Any) -> None:
        self.session.execute(
            update(SefazCursor)
            .where(SefazCursor.id == cursor_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )

    # --- summaries (resNFe) -----------------------------------------------------------------

    def summaries(self, client_id: int, chaves: Collection[str]) -> dict[str, FiscalDocument]:
        if not chaves:
            return {}
        rows = self.session.scalars(
            select(FiscalDocument).where(
                FiscalDocument.client_id == client_id,
                FiscalDocument.chave.in_(list(chaves)),
                FiscalDocument.resumo.is_(True),
            )
        )
        return {row.chave: row for row in rows}

    def drop_summaries(self, ids: Collection[int]) -> None:
        if ids:
            self.session.execute(delete(FiscalDocument).where(FiscalDocument.id.in_(list(ids))))

    def acknowledge(self, client_id: int, chave: str, at: datetime, by: str | None) -> None:
        """Carry a summary's acknowledgement over to the full note that replaced it."""
        self.session.execute(
            update(FiscalDocument)
            .where(
                FiscalDocument.client_id == client_id,
                FiscalDocument.chave == chave,
                FiscalDocument.tipo == "fornecedor",
            )
            .values(reconhecida_em=at, reconhecida_por=by)
            .execution_options(synchronize_session=False)
        )

    # --- consulta pela chave ------------------------------------------------------------------

    def note_of_gestor(self, gestor_id: int, chave: str) -> tuple[FiscalDocument, Client] | None:
        """The stored note with this key among the gestor's clients (an emitida first)."""
        row = self.session.execute(
            select(FiscalDocument, Client)
            .join(Client, Client.id == FiscalDocument.client_id)
            .where(Client.gestor_id == gestor_id, FiscalDocument.chave == chave)
            .order_by(FiscalDocument.tipo, FiscalDocument.resumo)
        ).first()
        return (row[0], row[1]) if row is not None else None

    def client_with_certificate(
        self, gestor_id: int, documento: str, now: datetime
    ) -> Client | None:
        """The gestor's client with this CNPJ and a certificate valid now."""
        return self.session.scalars(
            select(Client)
            .join(Certificate, Certificate.client_id == Client.id)
            .where(
                Client.gestor_id == gestor_id,
                Client.documento == documento,
                Certificate.not_before <= now,
                Certificate.not_after > now,
            )
        ).first()

    def clients_buying_from(
        self, gestor_id: int, emitente: str, now: datetime, limit: int
    ) -> list[Client]:
        """The gestor's clients with a certificate valid now that have supplier notes (or
        summaries) from `emitente`, the most recent buyer first: the likely destinatário."""
        ultima = func.max(FiscalDocument.emitida_em)
        rows = self.session.execute(
            select(Client, ultima)
            .join(Certificate, Certificate.client_id == Client.id)
            .join(FiscalDocument, FiscalDocument.client_id == Client.id)
            .where(
                Client.gestor_id == gestor_id,
                Client.documento != emitente,
                FiscalDocument.tipo == "fornecedor",
                FiscalDocument.emitente_documento == emitente,
                Certificate.not_before <= now,
                Certificate.not_after > now,
            )
            .group_by(Client.id)
            .order_by(ultima.desc(), Client.id)
            .limit(limit)
        )
        return [row[0] for row in rows]

    def clients_capturing(
        self, gestor_id: int, now: datetime, limit: int, skip: Collection[int] = ()
    ) -> list[Client]:
        """The gestor's clients with capture on and a certificate valid now (not in `skip`)."""
        query = (
            select(Client)
            .join(Certificate, Certificate.client_id == Client.id)
            .join(SefazCursor, SefazCursor.client_id == Client.id)
            .where(
                Client.gestor_id == gestor_id,
                SefazCursor.captura_ativa.is_(True),
                Certificate.not_before <= now,
                Certificate.not_after > now,
            )
            .order_by(Client.id)
            .limit(limit)
        )
        if skip:
            query = query.where(Client.id.not_in(list(skip)))
        return list(self.session.scalars(query))

    # --- events -----------------------------------------------------------------------------

    def add_event(self, row: dict[str, Any]) -> bool:
        """Store an event once (client, chave, type, sequence); False when it was there."""
        module: Any = postgresql if self.dialect == "postgresql" else sqlite
        inserted = self.session.execute(
            module.insert(FiscalEvent)
            .values(**row)
            .on_conflict_do_nothing(index_elements=["client_id", "chave", "tp_evento", "n_seq"])
            .returning(FiscalEvent.id)
        ).first()
        return inserted is not None

    def events(self, client_id: int, chave: str) -> list[FiscalEvent]:
        return list(
            self.session.scalars(
                select(FiscalEvent)
                .where(FiscalEvent.client_id == client_id, FiscalEvent.chave == chave)
                .order_by(FiscalEvent.registrado_em, FiscalEvent.id)
            )
        )

    def next_seq(self, client_id: int, chave: str, tp_evento: str) -> int:
        seqs = self.session.scalars(
            select(FiscalEvent.n_seq).where(
                FiscalEvent.client_id == client_id,
                FiscalEvent.chave == chave,
                FiscalEvent.tp_evento == tp_evento,
                FiscalEvent.origem == "manifestacao",
            )
        ).all()
        return max(seqs, default=0) + 1
