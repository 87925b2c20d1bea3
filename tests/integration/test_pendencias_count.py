"""The menu's `Pendências (N)` and the list's groups come from one statement per role: the
numbers must be the ones the per-kind aggregates gave, for every kind, every role, and never
another office's."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
import time_machine

from domain.clients import Role
from domain.pendencias import Kind, PendenciaOptions
from services import pendencias
from services.principal import Principal
from services.types import UnitOfWorkFactory
from tests.integration.pendencias_support import TODAY, sp
from tests.integration.test_pendencias_resumo import _busy_office
from tests.integration.test_pendencias_sefaz import capturing, conclude, supplier_note
from tests.support import Office, add_client, add_member, make_office

DAYS = (TODAY, date(2026, 3, 5), date(2026, 3, 31))


@pytest.fixture(autouse=True)
def mid_march() -> Iterator[None]:
    with time_machine.travel(sp(TODAY), tick=True):
        yield


def _supplier_notes(uows: UnitOfWorkFactory, office: Office, base: int) -> None:
    """Notes to manifest and summaries of a capturing client, and the ones that are not."""
    padaria = add_client(uows, office.gestor, base + 60, name="Padaria Pão Bom")
    capturing(uows, padaria.id, padaria.documento)
    for days in (10, 25):
        supplier_note(uows, padaria.id, TODAY - timedelta(days=days), resumo=False, emitente="M")
    supplier_note(uows, padaria.id, TODAY - timedelta(days=20), resumo=True, emitente="L")
    done = supplier_note(uows, padaria.id, TODAY - timedelta(days=5), resumo=False, emitente="X")
    conclude(uows, padaria.id, done, "210200")
    ciencia = supplier_note(uows, padaria.id, TODAY - timedelta(days=6), resumo=True, emitente="Y")
    conclude(uows, padaria.id, ciencia, "210210")  # Ciência alone does not close it
    supplier_note(uows, padaria.id, TODAY - timedelta(days=200), resumo=False, emitente="Old")
    quiet = add_client(uows, office.gestor, base + 61, name="Mercado Sem Captura")
    capturing(uows, quiet.id, quiet.documento, on=False)
    supplier_note(uows, quiet.id, TODAY - timedelta(days=3), resumo=False, emitente="Z")


def _office(uows: UnitOfWorkFactory, n: int, base: int) -> tuple[Principal, Principal]:
    """An office holding every kind, and the edge cases around each; its gestor and contador."""
    office = make_office(uows, n)
    _busy_office(uows, office, base)
    _supplier_notes(uows, office, base)
    contador = add_member(uows, office, f"test:contador{n}", Role.CONTADOR)
    return office.gestor, contador


def _seen(uows: UnitOfWorkFactory, principal: Principal, day: date) -> dict[str, Any]:
    """What the role sees on `day`: the menu's number, each group, the first page's items."""
    now = sp(day)
    count = pendencias.count(uows(), principal, now=now)
    first = pendencias.list_page(uows(), principal, page=1, page_size=7, now=now)
    everything = pendencias.list_page(uows(), principal, page=1, page_size=500, now=now)
    assert count == first.total == everything.total == len(everything.items)
    assert everything.groups == first.groups
    return {
        "count": count,
        "groups": [(g.kind.value, g.count, g.overdue, g.first_due) for g in first.groups],
        "page": [(i.kind.value, i.name, i.due, i.since, i.overdue) for i in first.items],
    }


def test_the_menu_number_and_the_groups_are_those_of_the_per_kind_aggregates(
    uow_factory: UnitOfWorkFactory,
) -> None:
    gestor, contador = _office(uow_factory, 1, 0)
    other_gestor, other_contador = _office(uow_factory, 2, 100)

    seen = {
        (day.isoformat(), role): _seen(uow_factory, principal, day)
        for day in DAYS
        for role, principal in (("gestor", gestor), ("contador", contador))
    }

    assert seen == EXPECTED
    # the same office seeded again under another gestor: the same numbers, none of the first's
    for day in DAYS:
        assert _seen(uow_factory, other_gestor, day) == seen[(day.isoformat(), "gestor")]
        assert _seen(uow_factory, other_contador, day) == seen[(day.isoformat(), "contador")]


def test_each_group_matches_its_kind_counted_alone(uow_factory: UnitOfWorkFactory) -> None:
    gestor, _ = _office(uow_factory, 1, 0)
    _office(uow_factory, 2, 100)
    for day in DAYS:
        w = pendencias.window(sp(day), PendenciaOptions())
        with uow_factory() as uow:
            together = uow.pendencias.groups(gestor.gestor_id, w, tuple(Kind))
            alone = [uow.pendencias.group(kind, gestor.gestor_id, w) for kind in Kind]
            counts = uow.pendencias.counts(gestor.gestor_id, w, tuple(Kind))
            listed = {
                kind: len(uow.pendencias.items(kind, gestor.gestor_id, w, limit=None))
                for kind in Kind
            }
        assert together == alone
        assert counts == {row.kind: row.count for row in alone} == listed
        if day == TODAY:
            assert all(counts.values())  # every kind present


def test_a_page_offset_without_a_limit_is_refused(uow_factory: UnitOfWorkFactory) -> None:
    office = make_office(uow_factory, 1)
    w = pendencias.window(sp(TODAY), PendenciaOptions())
    with uow_factory() as uow, pytest.raises(ValueError, match="offset needs a limit"):
        uow.pendencias.items(Kind.TESTE, office.gestor.gestor_id, w, offset=7, limit=None)


# What the per-kind aggregates (one statement per kind) answered on this seed.
EXPECTED: Any = {
    ("2026-03-16", "gestor"): {
        "count": 18,
        "groups": [
            ("certificado", 7, 2, date(2026, 2, 4)),
            ("fatura", 2, 1, date(2026, 3, 10)),
            ("link", 1, 0, date(2026, 4, 13)),
            ("manifestacao", 2, 0, date(2026, 8, 18)),
            ("resumo", 2, 0, date(2026, 8, 23)),
            ("teste", 1, 0, None),
            ("sem_notas", 3, 0, None),
        ],
        "page": [
            ("certificado", "Cliente 40 Ltda", date(2026, 2, 4), None, True),
            ("certificado", "Alfa Vencido Ltda", date(2026, 3, 13), None, True),
            ("certificado", "Cliente 41 Ltda", date(2026, 3, 16), None, False),
            ("certificado", "Cliente 42 Ltda", date(2026, 3, 17), None, False),
            ("certificado", "Beta Vencendo Ltda", date(2026, 3, 26), None, False),
            ("certificado", "Cliente 43 Ltda", date(2026, 4, 14), None, False),
            ("certificado", "Cliente 44 Ltda", date(2026, 4, 15), None, False),
        ],
    },
    ("2026-03-16", "contador"): {
        "count": 15,
        "groups": [
            ("certificado", 7, 2, date(2026, 2, 4)),
            ("manifestacao", 2, 0, date(2026, 8, 18)),
            ("resumo", 2, 0, date(2026, 8, 23)),
            ("teste", 1, 0, None),
            ("sem_notas", 3, 0, None),
        ],
        "page": [
            ("certificado", "Cliente 40 Ltda", date(2026, 2, 4), None, True),
            ("certificado", "Alfa Vencido Ltda", date(2026, 3, 13), None, True),
            ("certificado", "Cliente 41 Ltda", date(2026, 3, 16), None, False),
            ("certificado", "Cliente 42 Ltda", date(2026, 3, 17), None, False),
            ("certificado", "Beta Vencendo Ltda", date(2026, 3, 26), None, False),
            ("certificado", "Cliente 43 Ltda", date(2026, 4, 14), None, False),
            ("certificado", "Cliente 44 Ltda", date(2026, 4, 15), None, False),
        ],
    },
    ("2026-03-05", "gestor"): {
        "count": 15,
        "groups": [
            ("certificado", 5, 1, date(2026, 2, 4)),
            ("fatura", 2, 0, date(2026, 3, 10)),
            ("link", 1, 0, date(2026, 4, 13)),
            ("manifestacao", 2, 0, date(2026, 8, 18)),
            ("resumo", 2, 0, date(2026, 8, 23)),
            ("sem_notas", 3, 0, None),
        ],
        "page": [
            ("certificado", "Cliente 40 Ltda", date(2026, 2, 4), None, True),
            ("certificado", "Alfa Vencido Ltda", date(2026, 3, 13), None, False),
            ("certificado", "Cliente 41 Ltda", date(2026, 3, 16), None, False),
            ("certificado", "Cliente 42 Ltda", date(2026, 3, 17), None, False),
            ("certificado", "Beta Vencendo Ltda", date(2026, 3, 26), None, False),
            ("fatura", "2026-02", date(2026, 3, 10), None, False),
            ("fatura", "2026-03", date(2026, 3, 21), None, False),
        ],
    },
    ("2026-03-05", "contador"): {
        "count": 12,
        "groups": [
            ("certificado", 5, 1, date(2026, 2, 4)),
            ("manifestacao", 2, 0, date(2026, 8, 18)),
            ("resumo", 2, 0, date(2026, 8, 23)),
            ("sem_notas", 3, 0, None),
        ],
        "page": [
            ("certificado", "Cliente 40 Ltda", date(2026, 2, 4), None, True),
            ("certificado", "Alfa Vencido Ltda", date(2026, 3, 13), None, False),
            ("certificado", "Cliente 41 Ltda", date(2026, 3, 16), None, False),
            ("certificado", "Cliente 42 Ltda", date(2026, 3, 17), None, False),
            ("certificado", "Beta Vencendo Ltda", date(2026, 3, 26), None, False),
            ("manifestacao", "Padaria Pão Bom", date(2026, 8, 18), None, False),
            ("manifestacao", "Padaria Pão Bom", date(2026, 9, 2), None, False),
        ],
    },
    ("2026-03-31", "gestor"): {
        "count": 22,
        "groups": [
            ("certificado", 8, 5, date(2026, 2, 4)),
            ("fatura", 2, 2, date(2026, 3, 10)),
            ("link", 1, 0, date(2026, 4, 13)),
            ("manifestacao", 2, 0, date(2026, 8, 18)),
            ("resumo", 2, 0, date(2026, 8, 23)),
            ("teste", 4, 0, None),
            ("sem_notas", 3, 0, None),
        ],
        "page": [
            ("certificado", "Cliente 40 Ltda", date(2026, 2, 4), None, True),
            ("certificado", "Alfa Vencido Ltda", date(2026, 3, 13), None, True),
            ("certificado", "Cliente 41 Ltda", date(2026, 3, 16), None, True),
            ("certificado", "Cliente 42 Ltda", date(2026, 3, 17), None, True),
            ("certificado", "Beta Vencendo Ltda", date(2026, 3, 26), None, True),
            ("certificado", "Cliente 43 Ltda", date(2026, 4, 14), None, False),
            ("certificado", "Cliente 44 Ltda", date(2026, 4, 15), None, False),
        ],
    },
    ("2026-03-31", "contador"): {
        "count": 19,
        "groups": [
            ("certificado", 8, 5, date(2026, 2, 4)),
            ("manifestacao", 2, 0, date(2026, 8, 18)),
            ("resumo", 2, 0, date(2026, 8, 23)),
            ("teste", 4, 0, None),
            ("sem_notas", 3, 0, None),
        ],
        "page": [
            ("certificado", "Cliente 40 Ltda", date(2026, 2, 4), None, True),
            ("certificado", "Alfa Vencido Ltda", date(2026, 3, 13), None, True),
            ("certificado", "Cliente 41 Ltda", date(2026, 3, 16), None, True),
            ("certificado", "Cliente 42 Ltda", date(2026, 3, 17), None, True),
            ("certificado", "Beta Vencendo Ltda", date(2026, 3, 26), None, True),
            ("certificado", "Cliente 43 Ltda", date(2026, 4, 14), None, False),
            ("certificado", "Cliente 44 Ltda", date(2026, 4, 15), None, False),
        ],
    },
}
