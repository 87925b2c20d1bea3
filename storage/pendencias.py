"""Pendências queries: per kind, one aggregate (count, overdue, nearest deadline) and one page.

Every query is scoped to one gestor. Each kind is one SELECT built once (`_query`); the
aggregate reuses its FROM and WHERE, so a group's count and its pages can never disagree.
Indexes behind them: migrations 0016 and 0018 (benchmarks/pendencias.py prints the plans).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    case,
    delete,
    exists,
    func,
    literal,
    null,
    select,
)
from sqlalchemy.orm import Session

from domain.pendencias import Kind
from storage.models import Client, Plan, Software, UserIdentity
from storage.models_billing import Fatura
from storage.models_config import Certificate
from storage.models_fiscal import FiscalDocument
from storage.models_links import ContractingLink
from storage.models_reminders import ReminderSent
from storage.models_sefaz import FiscalEvent, SefazCursor

# reminder_sent.kind of the daily digest's items (one row per item and state).
DIGEST_SENT_KIND = "pendencia"
# A client Bloqueado or Cancelado has no certificate or missing note to worry about.
ACTIVE_STATUSES = ("efetivado", "teste")


@dataclass(frozen=True, slots=True)
class Window:
    """The moment the list is computed for, and the limits derived from the settings."""

    now: datetime
    today: date  # São Paulo
    cert_horizon: datetime  # certificates ending before this are listed
    teste_before: datetime  # in Teste since before this: too long
    # The month checked for clients that stopped issuing (AAAA-MM): this month (São Paulo)
    # from its grace day on, the previous one before it; and the month before that one.
    competencia: str
    competencia_anterior: str
    # Supplier notes issued before this can no longer be manifested (the MOC's deadline).
    manifestar_desde: datetime


@dataclass(frozen=True, slots=True)
class GroupRow:
    kind: Kind
    count: int
    overdue: int
    first_due: datetime | date | None


@dataclass(frozen=True, slots=True)
class ItemRow:
    kind: Kind
    object_id: int  # the client, fatura or link
    client_id: int | None
    name: str
    detail: str | None  # the plan of a link; the fingerprint of a certificate (a key only)
    due: datetime | date | None
    since: datetime | None


@dataclass(frozen=True, slots=True)
class _Query:
    items: Select[*tuple[Any, ...]]  # ordered, columns as ItemRow's after `kind`
    overdue: ColumnElement[bool] | None
    due: Any  # the column holding the deadline, or None

    def aggregate(self) -> Select[*tuple[Any, ...]]:
        """(count, overdue, nearest deadline) over the same FROM and WHERE as the items."""
        overdue = (
            func.coalesce(func.sum(case((self.overdue, 1), else_=0)), 0)
            if self.overdue is not None
            else literal(0)
        )
        first = func.min(self.due) if self.due is not None else null()
        return self.items.with_only_columns(
            func.count(), overdue, first, maintain_column_froms=True
        ).order_by(None)


def _certificados(gestor_id: int, w: Window) -> _Query:
    # Filtered and ordered on client.certificado_ate (the certificate's not_after, kept by a
    # trigger): the count reads only index entries; the fingerprint only for a page's rows.
    fingerprint = (
        select(Certificate.fingerprint).where(Certificate.client_id == Client.id).scalar_subquery()
    )
    ends = Client.certificado_ate
    items = (
        select(Client.id, Client.id, Client.razao_social, fingerprint, ends, null())
        .where(
            Client.gestor_id == gestor_id,
            Client.status.in_(ACTIVE_STATUSES),
            ends < w.cert_horizon,
        )
        .order_by(ends, Client.id)
    )
    return _Query(items, ends < w.now, ends)


def _faturas(gestor_id: int, w: Window) -> _Query:
    items = (
        select(Fatura.id, null(), Fatura.competencia, null(), Fatura.due_date, null())
        .where(Fatura.gestor_id == gestor_id, Fatura.status == "pendente")
        .order_by(Fatura.due_date, Fatura.id)
    )
    return _Query(items, Fatura.due_date < w.today, Fatura.due_date)


def _links(gestor_id: int, w: Window) -> _Query:
    items = (
        select(
            ContractingLink.id,
            null(),
            Software.name,
            Plan.name,
            ContractingLink.expires_at,
            ContractingLink.opened_at,
        )
        .join(Software, Software.id == ContractingLink.software_id)
        .join(Plan, Plan.id == ContractingLink.plan_id)
        .where(
            ContractingLink.gestor_id == gestor_id,
            ContractingLink.opened_at.is_not(None),
            ContractingLink.used_at.is_(None),
            ContractingLink.cancelled_at.is_(None),
            ContractingLink.expires_at > w.now,
        )
        .order_by(ContractingLink.expires_at, ContractingLink.id)
    )
    return _Query(items, None, ContractingLink.expires_at)


def _teste(gestor_id: int, w: Window) -> _Query:
    since = func.coalesce(Client.status_since, Client.created_at)
    items = (
        select(Client.id, Client.id, Client.razao_social, null(), null(), since)
        .where(Client.gestor_id == gestor_id, Client.status == "teste", since < w.teste_before)
        .order_by(since, Client.id)
    )
    return _Query(items, None, None)


def _sem_notas(gestor_id: int, w: Window) -> _Query:
    """Clients whose latest emitted note is of the month before `w.competencia`: they issued
    then and nothing since (client.ultima_emissao, kept by a trigger; one index range)."""
    items = (
        select(Client.id, Client.id, Client.razao_social, null(), null(), null())
        .where(
            Client.gestor_id == gestor_id,
            Client.ultima_emissao == w.competencia_anterior,
            Client.status.in_(ACTIVE_STATUSES),
        )
        .order_by(Client.razao_social, Client.id)
    )
    return _Query(items, None, None)


# The events that close a note's manifestação (Ciência alone does not).
CONCLUSIVE_EVENTS = ("210200", "210220", "210240")


def _supplier_notes(gestor_id: int, w: Window, *, resumo: bool) -> _Query:
    """Supplier notes of clients whose capture is on, still within the manifestação
    deadline and with no conclusive event: summaries (waiting for Ciência and their XML) or
    full notes (waiting for Confirmar/Desconhecer/Não realizada). `due` is the issue: the
    deadline is a fixed number of days after it (domain/fiscal/manifestacao.py)."""
    concluded = exists().where(
        FiscalEvent.client_id == FiscalDocument.client_id,
        FiscalEvent.chave == FiscalDocument.chave,
        FiscalEvent.tp_evento.in_(CONCLUSIVE_EVENTS),
    )
    capturing = exists().where(
        SefazCursor.client_id == Client.id, SefazCursor.captura_ativa.is_(True)
    )
    # the manifestação deadlines count from the authorization (dhRecbto), the issue when unknown
    desde = func.coalesce(FiscalDocument.autorizada_em, FiscalDocument.emitida_em)
    items = (
        select(
            FiscalDocument.id,
            Client.id,
            Client.razao_social,
            FiscalDocument.emitente_nome,
            desde,
            null(),
        )
        .join(Client, Client.id == FiscalDocument.client_id)
        .where(
            Client.gestor_id == gestor_id,
            Client.status.in_(ACTIVE_STATUSES),
            FiscalDocument.tipo == "fornecedor",
            FiscalDocument.resumo.is_(resumo),
            FiscalDocument.situacao == "autorizada",
            desde >= w.manifestar_desde,
            capturing,
            ~concluded,
        )
        .order_by(desde, FiscalDocument.id)
    )
    return _Query(items, None, desde)


def _manifestacao(gestor_id: int, w: Window) -> _Query:
    return _supplier_notes(gestor_id, w, resumo=False)


def _resumos(gestor_id: int, w: Window) -> _Query:
    return _supplier_notes(gestor_id, w, resumo=True)


QUERIES: Mapping[Kind, Callable[[int, Window], _Query | None]] = {
    Kind.CERTIFICADO: _certificados,
    Kind.MANIFESTACAO: _manifestacao,
    Kind.RESUMO_SEM_XML: _resumos,
    Kind.FATURA: _faturas,
    Kind.LINK: _links,
    Kind.TESTE: _teste,
    Kind.SEM_NOTAS: _sem_notas,
}


class PendenciaRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def group(self, kind: Kind, gestor_id: int, window: Window) -> GroupRow:
        """How many items the kind has, how many overdue, and its nearest deadline."""
        query = QUERIES[kind](gestor_id, window)
        if query is None:
            return GroupRow(kind, 0, 0, None)
        count, late, nearest = self.session.execute(query.aggregate()).one()
        return GroupRow(kind, int(count), int(late), nearest)

    def items(
        self, kind: Kind, gestor_id: int, window: Window, *, offset: int = 0, limit: int | None
    ) -> list[ItemRow]:
        """Items of the kind in its own order: a page of them, or all with `limit=None`."""
        query = QUERIES[kind](gestor_id, window)
        if query is None:
            return []
        statement = query.items.offset(offset)
        if limit is not None:
            statement = statement.limit(limit)
        return [
            ItemRow(kind, row[0], row[1], row[2], row[3], row[4], row[5])
            for row in self.session.execute(statement)
        ]

    def gestores_with_chats(self) -> list[int]:
        """The offices with at least one active chat: the ones a digest can reach."""
        return list(
            self.session.scalars(
                select(UserIdentity.gestor_id)
                .where(UserIdentity.active.is_(True))
                .distinct()
                .order_by(UserIdentity.gestor_id)
            )
        )

    def told(self, gestor_id: int) -> dict[tuple[str, str], int]:
        """What the digest already told this office: (subject, state) → row id."""
        rows = self.session.execute(
            select(ReminderSent.subject, ReminderSent.threshold, ReminderSent.id).where(
                ReminderSent.gestor_id == gestor_id, ReminderSent.kind == DIGEST_SENT_KIND
            )
        )
        return {(subject, threshold): row_id for subject, threshold, row_id in rows}

    def forget(self, ids: list[int]) -> None:
        """Drop what the digest told about items that are no longer pending."""
        for start in range(0, len(ids), 1000):
            self.session.execute(
                delete(ReminderSent).where(ReminderSent.id.in_(ids[start : start + 1000]))
            )

    def statements(self, gestor_id: int, window: Window, limit: int) -> dict[str, Any]:
        """The SELECTs the list runs, by name (the benchmark prints their plans)."""
        found: dict[str, Any] = {}
        for kind, build in QUERIES.items():
            query = build(gestor_id, window)
            if query is None:
                continue
            found[f"{kind.value}: page"] = query.items.limit(limit)
            found[f"{kind.value}: count"] = query.aggregate()
        return found
