"""Reading stored notes for the chat side: listings, counts, XML, Reconhecer, tenancy, roles."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from domain.clients import Role
from domain.fiscal import Modelo, Situacao
from services import fiscal_documents
from services.errors import Forbidden, NotFound
from services.fiscal_documents import InvalidQuery
from services.fiscal_ingest import IncomingFile, ingest
from services.fiscal_prepare import TipoNota
from services.types import UnitOfWorkFactory
from tests.integration.fiscal_support import client_with_documento
from tests.support import Office, add_client, add_member, make_office
from tests.unit.fiscal.samples import DEST_CNPJ, EMITENTE_CNPJ, Ide, nfe, nfe_proc, proc_evento
from tests.unit.fiscal_chat.chat_support import store, store_supplier_notes
from tests.unit.fiscal_chat.factory import cancelamento_xml


class Target:
    def __init__(self, client_id: int, documento: str) -> None:
        self.client_id = client_id
        self.documento = documento


@pytest.fixture
def office(uow_factory: UnitOfWorkFactory) -> Office:
    return make_office(uow_factory, 1)


@pytest.fixture
def client_id(uow_factory: UnitOfWorkFactory, office: Office) -> int:
    """The emitente of the sample notes, with 12 notes in Oct/2026 (2 cancelled, 1 NFC-e)
    and 2 supplier notes from DEST_CNPJ."""
    client = client_with_documento(uow_factory, office.gestor, EMITENTE_CNPJ, "Emitente Ltda")
    files = [
        IncomingFile(
            f"n{n}.xml", nfe_proc(Ide(nnf=str(n)), body=nfe(Ide(nnf=str(n)), v_nf=f"{n}00.00"))
        )
        for n in range(1, 12)
    ]
    files.append(IncomingFile("nfce.xml", nfe_proc(Ide(mod="65", nnf="7"))))
    files += [IncomingFile(f"c{n}.xml", proc_evento(Ide(nnf=str(n)).chave())) for n in (2, 3)]
    for n in (1, 2):
        ide = Ide(cnpj=DEST_CNPJ, nnf=str(n))
        supplier = nfe(ide, dest=f"<dest><CNPJ>{EMITENTE_CNPJ}</CNPJ><xNome>X</xNome></dest>")
        files.append(IncomingFile(f"f{n}.xml", nfe_proc(ide, body=supplier)))
    report = ingest(uow_factory(), Target(client.id, EMITENTE_CNPJ), files, via="test")
    assert report.recusados == 0
    return client.id


def test_the_month_listing_is_paginated_oldest_first(
    uow_factory: UnitOfWorkFactory, office: Office, client_id: int
) -> None:
    first = fiscal_documents.list_documents(
        uow_factory(), office.gestor, client_id,
        tipo=TipoNota.EMITIDA, modelo=Modelo.NFE, competencia="2026-10", page_size=5,
    )  # fmt: skip
    last = fiscal_documents.list_documents(
        uow_factory(), office.gestor, client_id,
        tipo=TipoNota.EMITIDA, modelo=Modelo.NFE, competencia="2026-10", page=3, page_size=5,
    )  # fmt: skip

    assert (first.total, first.pages) == (11, 3)
    assert [item.numero for item in first.items] == [1, 2, 3, 4, 5]
    assert [item.numero for item in last.items] == [11]
    assert first.items[1].situacao is Situacao.CANCELADA
    assert first.items[0].valor == Decimal("100.00")


def test_counts_by_situacao_and_the_total_of_authorized_notes(
    uow_factory: UnitOfWorkFactory, office: Office, client_id: int
) -> None:
    counts = fiscal_documents.month_counts(
        uow_factory(), office.gestor, client_id,
        tipo=TipoNota.EMITIDA, modelo=Modelo.NFE, competencia="2026-10",
    )  # fmt: skip

    assert counts.quantidade == {
        Situacao.AUTORIZADA: 9,
        Situacao.CANCELADA: 2,
        Situacao.DENEGADA: 0,
        Situacao.NAO_AUTORIZADA: 0,
    }
    # 1..11 hundreds minus the cancelled 200 and 300
    assert counts.valor_autorizadas == Decimal("6100.00")
    assert counts.total == 11


def test_an_empty_month_has_zero_counts(
    uow_factory: UnitOfWorkFactory, office: Office, client_id: int
) -> None:
    counts = fiscal_documents.month_counts(
        uow_factory(), office.gestor, client_id,
        tipo=TipoNota.EMITIDA, modelo=Modelo.NFCE, competencia="2026-09",
    )  # fmt: skip

    assert counts.total == 0
    assert counts.valor_autorizadas == Decimal("0.00")


def test_the_zip_blobs_cover_the_month_and_its_cancellation_events(
    uow_factory: UnitOfWorkFactory, office: Office, client_id: int
) -> None:
    entries = list(
        fiscal_documents.compressed_xmls(
            uow_factory(), office.gestor, client_id,
            tipo=TipoNota.EMITIDA, modelo=Modelo.NFE, competencia="2026-10",
        )
    )  # fmt: skip

    assert len([e for e in entries if not e.cancelamento]) == 11
    assert sorted(e.chave for e in entries if e.cancelamento) == sorted(
        Ide(nnf=str(n)).chave() for n in (2, 3)
    )


def test_supplier_notes_are_pending_until_recognized(
    uow_factory: UnitOfWorkFactory, office: Office, client_id: int
) -> None:
    chave = Ide(cnpj=DEST_CNPJ, nnf="1").chave()

    summary = fiscal_documents.recognize(uow_factory(), office.gestor, client_id, chave)

    assert summary.reconhecida_por == office.gestor.identity_key
    assert fiscal_documents.supplier_counts(
        uow_factory(), office.gestor, client_id
    ) == fiscal_documents.SupplierCounts(pendentes=1, reconhecidas=1, canceladas=0)
    pending = fiscal_documents.list_documents(
        uow_factory(), office.gestor, client_id, tipo=TipoNota.FORNECEDOR, reconhecida=False
    )
    assert [item.numero for item in pending.items] == [2]


def test_an_invalid_competencia_is_refused_in_portuguese(
    uow_factory: UnitOfWorkFactory, office: Office, client_id: int
) -> None:
    with pytest.raises(InvalidQuery, match="Use o formato AAAA-MM"):
        fiscal_documents.list_documents(
            uow_factory(), office.gestor, client_id, tipo=TipoNota.EMITIDA, competencia="10/2026"
        )


def test_the_months_of_the_pickers_are_sao_paulo_months() -> None:
    from datetime import UTC, datetime

    moment = datetime(2026, 11, 1, 2, 30, tzinfo=UTC)  # still 31 October in São Paulo

    assert fiscal_documents.competencia_atual(moment) == "2026-10"
    assert fiscal_documents.competencia_anterior(moment) == "2026-09"
    assert fiscal_documents.competencia_anterior(datetime(2026, 1, 15, tzinfo=UTC)) == "2025-12"


ACTIONS: dict[str, Callable[..., Any]] = {
    "list": lambda uow, p, c: fiscal_documents.list_documents(uow, p, c, tipo=TipoNota.EMITIDA),
    "counts": lambda uow, p, c: fiscal_documents.month_counts(
        uow, p, c, tipo=TipoNota.EMITIDA, modelo=None, competencia="2026-10"
    ),
    "supplier_counts": lambda uow, p, c: fiscal_documents.supplier_counts(uow, p, c),
    "months": lambda uow, p, c: fiscal_documents.months_with_notes(
        uow, p, c, tipo=TipoNota.EMITIDA
    ),
    "xml": lambda uow, p, c: fiscal_documents.get_xml(uow, p, c, Ide(nnf="1").chave()),
    "recognize": lambda uow, p, c: fiscal_documents.recognize(
        uow, p, c, Ide(cnpj=DEST_CNPJ, nnf="1").chave()
    ),
    "zip": lambda uow, p, c: fiscal_documents.compressed_xmls(
        uow, p, c, tipo=TipoNota.EMITIDA, modelo=None, competencia="2026-10"
    ),
}


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_another_gestor_gets_not_found_for_every_fiscal_action(
    uow_factory: UnitOfWorkFactory, client_id: int, action: str
) -> None:
    intruder = make_office(uow_factory, 2)

    with pytest.raises(NotFound):
        ACTIONS[action](uow_factory(), intruder.gestor, client_id)


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_a_contador_is_refused_the_gerenciar_fiscal_actions(
    uow_factory: UnitOfWorkFactory, office: Office, client_id: int, action: str
) -> None:
    contador = add_member(uow_factory, office, "test:contador", Role.CONTADOR)

    with pytest.raises(Forbidden):
        ACTIONS[action](uow_factory(), contador, client_id)


def test_a_chave_the_client_does_not_have_is_not_found(
    uow_factory: UnitOfWorkFactory, office: Office, client_id: int
) -> None:
    with pytest.raises(NotFound, match="não está guardada"):
        fiscal_documents.get_xml(uow_factory(), office.gestor, client_id, Ide(nnf="99").chave())


# --- supplier notes their issuer cancelled ------------------------------------------------


def test_a_cancelled_supplier_note_is_neither_pending_nor_acknowledgeable(
    uow_factory: UnitOfWorkFactory, office: Office
) -> None:
    card = add_client(uow_factory, office.gestor, 5, name="Compradora Ltda")
    specs = store_supplier_notes(uow_factory, card, 3)
    acknowledged, cancelled, _ = sorted(specs, key=lambda s: (s.dh_emi, s.numero))
    fiscal_documents.recognize(uow_factory(), office.gestor, card.id, acknowledged.chave())
    store(
        uow_factory,
        card,
        [("a.xml", cancelamento_xml(acknowledged)), ("b.xml", cancelamento_xml(cancelled))],
    )

    counts = fiscal_documents.supplier_counts(uow_factory(), office.gestor, card.id)
    with pytest.raises(fiscal_documents.NoteCancelled) as caught:
        fiscal_documents.recognize(uow_factory(), office.gestor, card.id, cancelled.chave())
    again = fiscal_documents.recognize(uow_factory(), office.gestor, card.id, acknowledged.chave())
    pending = fiscal_documents.list_documents(
        uow_factory(), office.gestor, card.id, tipo=TipoNota.FORNECEDOR, reconhecida=False
    )

    assert counts == fiscal_documents.SupplierCounts(pendentes=1, reconhecidas=1, canceladas=1)
    assert caught.value.message.startswith(
        f"A nota nº {cancelled.numero} de FORNECEDOR DE ACO LTDA foi cancelada pelo emitente"
    )
    assert again.reconhecida_por == office.gestor.identity_key  # idempotent, not refused
    assert (pending.total, pending.canceladas) == (2, 1)
    with uow_factory() as uow:
        stored = uow.fiscal.by_chave(card.id, cancelled.chave())
        assert stored is not None
        assert stored.reconhecida_em is None
