"""Outro mês: how many notes each month has, in one grouped query (SQLite, and PostgreSQL when
TEST_DATABASE_URL is set), and the service's role and tenancy checks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from domain.clients import Role
from domain.fiscal import Modelo
from services import fiscal_documents
from services.clients import ClientCard
from services.errors import Forbidden, NotFound
from services.fiscal_documents import MonthTotal
from services.fiscal_prepare import TipoNota
from services.types import UnitOfWorkFactory
from storage.fiscal import MonthFilter
from tests.support import Office, add_client, add_member, make_office, query_plan
from tests.unit.fiscal_chat.chat_support import store_emitted, store_supplier_notes


@pytest.fixture
def office(uow_factory: UnitOfWorkFactory) -> Office:
    return make_office(uow_factory, 1)


@pytest.fixture
def acme(uow_factory: UnitOfWorkFactory, office: Office) -> ClientCard:
    """Emitted: Oct/2026 3 NF-e + 2 NFC-e, Nov/2026 1 NF-e, Mar/2025 2 NF-e, Dec/2024 1 NFC-e;
    supplier notes in Aug/2026 and another client's notes, which never count."""
    card = add_client(uow_factory, office.gestor, 1, name="ACME Comércio Ltda")
    store_emitted(uow_factory, card, 3, month=10)
    store_emitted(uow_factory, card, 2, modelo="65", month=10, seed=3)
    store_emitted(uow_factory, card, 1, month=11, seed=4)
    store_emitted(uow_factory, card, 2, year=2025, month=3, seed=5)
    store_emitted(uow_factory, card, 1, modelo="65", year=2024, month=12, seed=6)
    store_supplier_notes(uow_factory, card, 4, month=8)
    neighbour = add_client(uow_factory, office.gestor, 2, name="Vizinho Ltda")
    store_emitted(uow_factory, neighbour, 2, month=9, seed=8)
    return card


@contextmanager
def statements(uow_factory: UnitOfWorkFactory) -> Iterator[list[tuple[str, Any]]]:
    """The SQL statements (and parameters) on fiscal documents sent to the database meanwhile
    (SQLite's own bookkeeping statements are left out)."""
    seen: list[tuple[str, Any]] = []
    with uow_factory() as uow:
        engine = uow.session.get_bind().engine

    def record(_conn: Any, _cursor: Any, sql: str, params: Any, *_args: Any) -> None:
        if "fiscal_document" in sql:
            seen.append((sql, params))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_each_month_with_emitted_notes_newest_first_in_one_query(
    uow_factory: UnitOfWorkFactory, acme: ClientCard
) -> None:
    with uow_factory() as uow, statements(uow_factory) as seen:
        totals = uow.fiscal.month_totals(MonthFilter(acme.id, TipoNota.EMITIDA.value))

    assert totals == [("2026-11", 1), ("2026-10", 5), ("2025-03", 2), ("2024-12", 1)]
    [(sql, _params)] = seen
    assert "GROUP BY" in sql.upper()


def test_the_totals_of_one_model_and_of_supplier_notes(
    uow_factory: UnitOfWorkFactory, acme: ClientCard
) -> None:
    with uow_factory() as uow:
        nfce = uow.fiscal.month_totals(MonthFilter(acme.id, "emitida", modelo="65"))
        supplier = uow.fiscal.month_totals(MonthFilter(acme.id, "fornecedor"))

    assert nfce == [("2026-10", 2), ("2024-12", 1)]
    assert supplier == [("2026-08", 4)]


def test_a_client_without_notes_has_no_months(
    uow_factory: UnitOfWorkFactory, office: Office
) -> None:
    empty = add_client(uow_factory, office.gestor, 3)

    with uow_factory() as uow:
        assert uow.fiscal.month_totals(MonthFilter(empty.id, "emitida")) == []


@pytest.mark.parametrize("modelo", [None, "55"])
def test_the_grouped_count_reads_the_month_index(
    uow_factory: UnitOfWorkFactory, acme: ClientCard, modelo: str | None
) -> None:
    """The plan reads a month index — (client, tipo, modelo, competência), or on PostgreSQL
    the emitted notes' (competência, client) one — with or without a model, never the table."""
    with uow_factory() as uow, statements(uow_factory) as seen:
        uow.fiscal.month_totals(MonthFilter(acme.id, "emitida", modelo=modelo))
    [(sql, params)] = seen
    plan = query_plan(uow_factory, sql, params)

    assert "ix_fiscal_document_month" in plan or "ix_fiscal_document_emitida_competencia" in plan


def test_the_service_gives_the_months_of_the_gestors_own_client(
    uow_factory: UnitOfWorkFactory, office: Office, acme: ClientCard
) -> None:
    months = fiscal_documents.months_with_notes(
        uow_factory(), office.gestor, acme.id, tipo=TipoNota.EMITIDA
    )
    nfe = fiscal_documents.months_with_notes(
        uow_factory(), office.gestor, acme.id, tipo=TipoNota.EMITIDA, modelo=Modelo.NFE
    )

    assert months == (
        MonthTotal("2026-11", 1),
        MonthTotal("2026-10", 5),
        MonthTotal("2025-03", 2),
        MonthTotal("2024-12", 1),
    )
    assert (months[2].ano, months[2].mes) == (2025, 3)
    assert [m.competencia for m in nfe] == ["2026-11", "2026-10", "2025-03"]


def test_another_gestor_gets_not_found(uow_factory: UnitOfWorkFactory, acme: ClientCard) -> None:
    intruder = make_office(uow_factory, 2)

    with pytest.raises(NotFound):
        fiscal_documents.months_with_notes(
            uow_factory(), intruder.gestor, acme.id, tipo=TipoNota.EMITIDA
        )


def test_a_contador_is_refused(
    uow_factory: UnitOfWorkFactory, office: Office, acme: ClientCard
) -> None:
    contador = add_member(uow_factory, office, "test:contador", Role.CONTADOR)

    with pytest.raises(Forbidden):
        fiscal_documents.months_with_notes(uow_factory(), contador, acme.id, tipo=TipoNota.EMITIDA)
