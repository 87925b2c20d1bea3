"""Pendências queries: per kind, one aggregate (count, overdue, nearest deadline) and one page.

Every query is scoped to one gestor. Each kind is one SELECT built once, at import, over bound
parameters (the gestor, the window's instants and months); the aggregate reuses its FROM and
WHERE, so a group's count and its pages can never disagree. The main menu asks for every
count at each `/menu`: building and compiling seven aggregates there cost more CPU than the
rest of the step, so the counts (and the list's groups) are ONE statement per role's kinds —
the aggregates side by side, each a one-row subquery — compiled once per dialect and run on
the driver's cursor (storage/driver.py), like the pages. Indexes behind them: migrations
0016, 0018 and 0020 (benchmarks/pendencias.py prints the plans).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
    Select,
    String,
    bindparam,
    case,
    delete,
    exists,
    func,
    literal,
    literal_column,
    null,
    select,
    true,
)

from domain.pendencias import Kind
from storage.driver import DriverStatement
from storage.models import Client, Plan, Software, UserIdentity
from storage.models_billing import Fatura
from storage.models_config import Certificate
from storage.models_fiscal import FiscalDocument
from storage.models_links import ContractingLink
from storage.models_reminders import ReminderSent
from storage.models_sefaz import FiscalEvent, SefazCursor
from storage.transaction import Repository
from storage.types import UTCDateTime

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


# The window's values as bound parameters: every statement below is built once over them.
_GESTOR = bindparam("gestor_id", type_=Integer())
_NOW = bindparam("now", type_=UTCDateTime())
_TODAY = bindparam("today", type_=Date())
_CERT_HORIZON = bindparam("cert_horizon", type_=UTCDateTime())
_TESTE_BEFORE = bindparam("teste_before", type_=UTCDateTime())
_COMPETENCIA_ANTERIOR = bindparam("competencia_anterior", type_=String())
_MANIFESTAR_DESDE = bindparam("manifestar_desde", type_=UTCDateTime())
_OFFSET = bindparam("offset", type_=Integer())
_LIMIT = bindparam("limit", type_=Integer())


def _parameters(gestor_id: int, w: Window) -> dict[str, Any]:
    return {
        "gestor_id": gestor_id,
        "now": w.now,
        "today": w.today,
        "cert_horizon": w.cert_horizon,
        "teste_before": w.teste_before,
        "competencia_anterior": w.competencia_anterior,
        "manifestar_desde": w.manifestar_desde,
    }


def _one_of(column: Any, values: tuple[str, ...]) -> ColumnElement[bool]:
    """`column IN ('a', 'b')` with the constants in the SQL: the driver path takes no IN
    list of parameters, and the plans stay the ones of a literal list."""
    if not all(value.isalnum() for value in values):  # our own constants, never input
        raise ValueError("only plain constants are written into the SQL")
    return cast(
        "ColumnElement[bool]", column.in_([literal_column(f"'{value}'") for value in values])
    )


@dataclass(frozen=True, slots=True)
class _Query:
    items: Select[*tuple[Any, ...]]  # ordered, columns as ItemRow's after `kind`
    overdue: ColumnElement[bool] | None
    due: Any  # the column holding the deadline, or None

    def count(self) -> Select[*tuple[Any, ...]]:
        """How many items: over the same FROM and WHERE as the items."""
        return self.items.with_only_columns(func.count(), maintain_column_froms=True).order_by(
            None
        )

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


def _certificados() -> _Query:
    # Filtered and ordered on client.certificado_ate (the certificate's not_after, kept by a
    # trigger): the count reads only index entries; the fingerprint only for a page's rows.
    fingerprint = (
        select(Certificate.fingerprint).where(Certificate.client_id == Client.id).scalar_subquery()
    )
    ends = Client.certificado_ate
    items = (
        select(Client.id, Client.id, Client.razao_social, fingerprint, ends, null())
        .where(
            Client.gestor_id == _GESTOR,
            _one_of(Client.status, ACTIVE_STATUSES),
            ends < _CERT_HORIZON,
        )
        .order_by(ends, Client.id)
    )
    return _Query(items, ends < _NOW, ends)


def _faturas() -> _Query:
    items = (
        select(Fatura.id, null(), Fatura.competencia, null(), Fatura.due_date, null())
        .where(Fatura.gestor_id == _GESTOR, Fatura.status == "pendente")
        .order_by(Fatura.due_date, Fatura.id)
    )
    return _Query(items, Fatura.due_date < _TODAY, Fatura.due_date)


def _links() -> _Query:
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
            ContractingLink.gestor_id == _GESTOR,
            ContractingLink.opened_at.is_not(None),
            ContractingLink.used_at.is_(None),
            ContractingLink.cancelled_at.is_(None),
            ContractingLink.expires_at > _NOW,
        )
        .order_by(ContractingLink.expires_at, ContractingLink.id)
    )
    return _Query(items, None, ContractingLink.expires_at)


def _teste() -> _Query:
    since = func.coalesce(Client.status_since, Client.created_at)
    items = (
        select(Client.id, Client.id, Client.razao_social, null(), null(), since)
        .where(Client.gestor_id == _GESTOR, Client.status == "teste", since < _TESTE_BEFORE)
        .order_by(since, Client.id)
    )
    return _Query(items, None, None)


def _sem_notas() -> _Query:
    """Clients whose latest emitted note is of the month before `w.competencia`: they issued
    then and nothing since (client.ultima_emissao, kept by a trigger; one index range)."""
    items = (
        select(Client.id, Client.id, Client.razao_social, null(), null(), null())
        .where(
            Client.gestor_id == _GESTOR,
            Client.ultima_emissao == _COMPETENCIA_ANTERIOR,
            _one_of(Client.status, ACTIVE_STATUSES),
        )
        .order_by(Client.razao_social, Client.id)
    )
    return _Query(items, None, None)


# The events that close a note's manifestação (Ciência alone does not).
CONCLUSIVE_EVENTS = ("210200", "210220", "210240")


def _supplier_notes(*, resumo: bool) -> _Query:
    """Supplier notes of clients whose capture is on, still within the manifestação
    deadline and with no conclusive event: summaries (waiting for Ciência and their XML) or
    full notes (waiting for Confirmar/Desconhecer/Não realizada). `due` is the issue: the
    deadline is a fixed number of days after it (domain/fiscal/manifestacao.py)."""
    concluded = exists().where(
        FiscalEvent.client_id == FiscalDocument.client_id,
        FiscalEvent.chave == FiscalDocument.chave,
        _one_of(FiscalEvent.tp_evento, CONCLUSIVE_EVENTS),
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
            Client.gestor_id == _GESTOR,
            _one_of(Client.status, ACTIVE_STATUSES),
            FiscalDocument.tipo == "fornecedor",
            FiscalDocument.resumo.is_(resumo),
            FiscalDocument.situacao == "autorizada",
            desde >= _MANIFESTAR_DESDE,
            capturing,
            ~concluded,
        )
        .order_by(desde, FiscalDocument.id)
    )
    return _Query(items, None, desde)


QUERIES: Mapping[Kind, _Query] = {
    Kind.CERTIFICADO: _certificados(),
    Kind.MANIFESTACAO: _supplier_notes(resumo=False),
    Kind.RESUMO_SEM_XML: _supplier_notes(resumo=True),
    Kind.FATURA: _faturas(),
    Kind.LINK: _links(),
    Kind.TESTE: _teste(),
    Kind.SEM_NOTAS: _sem_notas(),
}


def _result_types(statement: Select[*tuple[Any, ...]]) -> list[Any]:
    return [column.type for column in statement.selected_columns]


@cache
def _counts_statement(kinds: tuple[Kind, ...]) -> DriverStatement:
    """One row: each kind's count, a scalar subquery each."""
    statement = select(*(QUERIES[kind].count().scalar_subquery() for kind in kinds))
    return DriverStatement(statement)


@cache
def _groups_statement(kinds: tuple[Kind, ...]) -> DriverStatement:
    """One row: each kind's (count, overdue, nearest deadline), the aggregates side by side
    (each a one-row subquery, joined on true)."""
    subqueries = [QUERIES[kind].aggregate().subquery(kind.value) for kind in kinds]
    joined: Any = subqueries[0]
    for subquery in subqueries[1:]:
        joined = joined.join(subquery, true())
    statement = select(*(c for s in subqueries for c in s.c)).select_from(joined)
    return DriverStatement(statement, _result_types(statement))


def _page_select(kind: Kind) -> Select[*tuple[Any, ...]]:
    return QUERIES[kind].items.offset(_OFFSET).limit(_LIMIT)


@cache
def _page_statement(kind: Kind) -> DriverStatement:
    statement = _page_select(kind)
    return DriverStatement(statement, _result_types(statement))


@cache
def _all_statement(kind: Kind) -> DriverStatement:
    statement = QUERIES[kind].items
    return DriverStatement(statement, _result_types(statement))


class PendenciaRepository(Repository):
    def counts(self, gestor_id: int, window: Window, kinds: Sequence[Kind]) -> dict[Kind, int]:
        """How many items each of the kinds has, in one statement (the menu's number)."""
        kinds = tuple(kinds)
        if not kinds:
            return {}
        statement = _counts_statement(kinds)
        (row,) = statement.all(self.connection, _parameters(gestor_id, window))  # one row
        return {kind: int(value) for kind, value in zip(kinds, row, strict=True)}

    def groups(self, gestor_id: int, window: Window, kinds: Sequence[Kind]) -> list[GroupRow]:
        """Per kind: how many items, how many overdue, its nearest deadline (one statement)."""
        kinds = tuple(kinds)
        if not kinds:
            return []
        statement = _groups_statement(kinds)
        # aggregates without GROUP BY: one row each, so one row joined
        (row,) = statement.all(self.connection, _parameters(gestor_id, window))
        return [
            GroupRow(kind, int(row[3 * n]), int(row[3 * n + 1]), row[3 * n + 2])
            for n, kind in enumerate(kinds)
        ]

    def group(self, kind: Kind, gestor_id: int, window: Window) -> GroupRow:
        """How many items the kind has, how many overdue, and its nearest deadline."""
        (row,) = self.groups(gestor_id, window, (kind,))
        return row

    def items(
        self, kind: Kind, gestor_id: int, window: Window, *, offset: int = 0, limit: int | None
    ) -> list[ItemRow]:
        """Items of the kind in its own order: a page of them, or all with `limit=None`."""
        params = _parameters(gestor_id, window)
        if limit is None:
            statement = _all_statement(kind)
            if offset:
                raise ValueError("an offset needs a limit")
        else:
            statement = _page_statement(kind)
            params |= {"offset": offset, "limit": limit}
        return [
            ItemRow(kind, row[0], row[1], row[2], row[3], row[4], row[5])
            for row in statement.all(self.connection, params)
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
        """The SELECTs the list runs, by name, with this office's values bound (the benchmark
        prints their plans)."""
        params = _parameters(gestor_id, window)
        found: dict[str, Any] = {
            "menu count": _counts_statement(tuple(Kind)).statement.params(params),
            "groups": _groups_statement(tuple(Kind)).statement.params(params),
        }
        for kind in Kind:
            page = _page_select(kind).params(params | {"offset": 0, "limit": limit})
            found[f"{kind.value}: page"] = page
        return found
