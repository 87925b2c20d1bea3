"""Baixar XML completo (consChNFe) against the SEFAZ stand-in over mutual TLS: from the note's
button, automatically in the capture after a manifestação, and within NT 2014.002's limits."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import pytest
from sqlalchemy import select

from bot.app import App
from domain.clients import Role
from services import sefaz_download, sefaz_manifest
from services.errors import Forbidden, NotFound
from services.sefaz_capture import capture
from storage.models_fiscal import FiscalDocument
from storage.models_sefaz import SefazCursor
from tests.integration.sefaz_support import Recipient, box_of, gateway_for, recipient
from tests.support import Office, add_member, make_office
from tests.support_sefaz import SefazState, StandIn, sefaz_stand_in
from tests.unit.fiscal.samples import Ide, nfe_proc, res_nfe

NOW = datetime.now(UTC).replace(microsecond=0)
IDE = Ide(nnf="321")
M = TypeVar("M")


@pytest.fixture
def office(app: App) -> Office:
    return make_office(app.uow_factory, 1)


@pytest.fixture
def state() -> SefazState:
    return SefazState()


@pytest.fixture
def sefaz(state: SefazState) -> Iterator[StandIn]:
    with sefaz_stand_in(state) as stand_in:
        yield stand_in


@pytest.fixture
def client(app: App, office: Office, sefaz: StandIn) -> Recipient:
    """A client whose capture brought IDE's summary (the full note has not come)."""
    found = recipient(app, office.gestor)
    sefaz.state.add(found.cnpj, "resNFe_v1.01.xsd", res_nfe(IDE))
    capture(app.uow_factory, gateway_for(sefaz), box_of(app), now=NOW, holder="t")
    return found


def rows(app: App, model: type[M]) -> list[M]:
    uow = app.uow_factory()
    with uow:
        found = list(uow.session.scalars(select(model)).all())
        uow.session.expunge_all()
        return found


def baixar(app: App, office: Office, client: Recipient, sefaz: StandIn, **kw: object):  # type: ignore[no-untyped-def]
    return sefaz_download.baixar(
        app.uow_factory,
        office.gestor,
        client.client_id,
        kw.pop("chave", IDE.chave()),  # type: ignore[arg-type]
        gateway=gateway_for(sefaz),
        box=box_of(app),
        now=kw.pop("now", NOW),  # type: ignore[arg-type]
    )


def test_the_full_xml_of_a_summary_comes_by_its_key_and_replaces_it(
    app: App, office: Office, client: Recipient, sefaz: StandIn
) -> None:
    sefaz.state.completos[IDE.chave()] = nfe_proc(IDE)
    got = baixar(app, office, client, sefaz)
    assert (got.baixado, got.c_stat) == (True, "138")
    [note] = rows(app, FiscalDocument)
    assert (note.chave, note.resumo) == (IDE.chave(), False)
    assert sefaz.state.count("chave", client.cnpj) == 1
    [cursor] = rows(app, SefazCursor)
    assert (cursor.cons_chave_feitas, cursor.cons_chave_desde) == (1, NOW)


@pytest.mark.parametrize(
    ("c_stat", "x_motivo"),
    [
        (
            "632",
            "Rejeicao: Solicitacao fora de prazo, a NF-e nao esta mais disponivel para download",
        ),
        ("640", "Rejeicao: CNPJ/CPF do interessado nao possui permissao para consultar esta NF-e"),
        ("653", "Rejeicao: NF-e Cancelada, arquivo indisponivel para download"),
    ],
)
def test_each_rejection_is_returned_and_the_summary_stays(
    app: App, office: Office, client: Recipient, sefaz: StandIn, c_stat: str, x_motivo: str
) -> None:
    sefaz.state.recusas_chave[IDE.chave()] = (c_stat, x_motivo)
    got = baixar(app, office, client, sefaz)
    assert (got.baixado, got.c_stat, got.x_motivo) == (False, c_stat, x_motivo)
    [note] = rows(app, FiscalDocument)
    assert note.resumo is True
    assert note.xml_pedido_em == NOW


def test_a_key_of_a_note_that_is_not_a_summary_of_this_client_is_not_asked(
    app: App, office: Office, client: Recipient, sefaz: StandIn
) -> None:
    with pytest.raises(sefaz_download.SemResumo, match="não é um resumo sem XML"):
        baixar(app, office, client, sefaz, chave=Ide(nnf="999").chave())
    assert sefaz.state.count("chave") == 0


def test_the_hours_twenty_queries_are_the_limit_and_the_next_hour_starts_again(
    app: App, office: Office, client: Recipient, sefaz: StandIn
) -> None:
    uow = app.uow_factory()
    with uow:
        cursor = uow.sefaz.cursor(client.client_id)
        assert cursor is not None
        cursor.cons_chave_desde, cursor.cons_chave_feitas = NOW - timedelta(minutes=30), 20
        uow.commit()
    with pytest.raises(sefaz_download.LimiteDaHora, match="20 consultas por chave"):
        baixar(app, office, client, sefaz)
    assert sefaz.state.count("chave") == 0
    got = baixar(app, office, client, sefaz, now=NOW + timedelta(minutes=31))
    assert got.c_stat == "217"  # asked again once the hour was over
    [cursor] = rows(app, SefazCursor)
    assert cursor.cons_chave_feitas == 1


def test_656_blocks_the_cnpj_for_the_hour_for_keys_and_pages_alike(
    app: App, office: Office, client: Recipient, sefaz: StandIn
) -> None:
    sefaz.state.block.add(client.cnpj)
    assert baixar(app, office, client, sefaz).c_stat == "656"
    with pytest.raises(sefaz_download.LimiteDaHora, match="656"):
        baixar(app, office, client, sefaz, now=NOW + timedelta(minutes=10))
    report = capture(
        app.uow_factory,
        gateway_for(sefaz),
        box_of(app),
        now=NOW + timedelta(minutes=10),
        holder="t",
    )
    assert report.clientes[0].pulada == "aguardando"
    assert sefaz.state.count("chave") == 1


def test_a_contador_and_another_gestor_are_refused(
    app: App, office: Office, client: Recipient, sefaz: StandIn
) -> None:
    contador = add_member(app.uow_factory, office, "test:contador", Role.CONTADOR)
    other = make_office(app.uow_factory, 2)
    for who, error in ((contador, Forbidden), (other.gestor, NotFound)):
        with pytest.raises(error):
            sefaz_download.baixar(
                app.uow_factory, who, client.client_id, IDE.chave(),
                gateway=gateway_for(sefaz), box=box_of(app), now=NOW,
            )  # fmt: skip
    assert sefaz.state.count("chave") == 0


def test_the_capture_asks_by_key_for_summaries_manifested_over_an_hour_ago_once_a_day(
    app: App, office: Office, client: Recipient, sefaz: StandIn
) -> None:
    sefaz_manifest.manifestar(
        app.uow_factory, office.gestor, client.client_id, IDE.chave(),
        sefaz_manifest.TipoManifestacao.CIENCIA, gateway=gateway_for(sefaz), box=box_of(app),
        now=NOW,
    )  # fmt: skip
    sefaz.state.waiting_until.clear()
    sefaz.state.recusas_chave[IDE.chave()] = ("632", "Rejeicao: Solicitacao fora de prazo")

    def sweep(at: datetime) -> None:
        from functools import partial

        sefaz.state.waiting_until.clear()
        capture(
            app.uow_factory, gateway_for(sefaz), box_of(app), now=at, holder="t",
            baixar_pendentes=partial(
                sefaz_download.pendentes_da_varredura, gateway=gateway_for(sefaz)
            ),
        )  # fmt: skip

    sweep(NOW + timedelta(minutes=61))  # too soon after the Ciência? no: over an hour
    assert sefaz.state.count("chave") == 1
    sweep(NOW + timedelta(hours=3))  # refused (632) a moment ago: not again the same day
    assert sefaz.state.count("chave") == 1
    del sefaz.state.recusas_chave[IDE.chave()]
    sefaz.state.completos[IDE.chave()] = nfe_proc(IDE)
    sweep(NOW + timedelta(hours=26))
    assert sefaz.state.count("chave") == 2
    [note] = rows(app, FiscalDocument)
    assert note.resumo is False


def test_a_summary_not_manifested_is_not_asked_by_the_capture(
    app: App, office: Office, client: Recipient, sefaz: StandIn
) -> None:
    from functools import partial

    sefaz.state.waiting_until.clear()
    pendentes = partial(sefaz_download.pendentes_da_varredura, gateway=gateway_for(sefaz))
    capture(
        app.uow_factory, gateway_for(sefaz), box_of(app), now=NOW + timedelta(hours=2),
        holder="t", baixar_pendentes=pendentes,
    )  # fmt: skip
    assert sefaz.state.count("chave") == 0


def test_a_summary_is_in_the_chats_list_but_not_in_reports_zips_or_the_package(
    app: App, office: Office, client: Recipient
) -> None:
    from domain.fiscal import Situacao
    from services import fiscal_documents
    from services.fiscal_prepare import TipoNota

    def listed(com_resumos: bool) -> int:
        return fiscal_documents.list_documents(
            app.uow_factory(), office.gestor, client.client_id, tipo=TipoNota.FORNECEDOR,
            com_resumos=com_resumos,
        ).total  # fmt: skip

    assert listed(True) == 1  # Pendentes shows it, "sem XML"
    assert listed(False) == 0  # what reports read
    counts = fiscal_documents.month_counts(
        app.uow_factory(), office.gestor, client.client_id,
        tipo=TipoNota.FORNECEDOR, modelo=None, competencia="2026-10",
    )  # fmt: skip
    assert counts.quantidade.get(Situacao.AUTORIZADA, 0) == 0
    xmls = fiscal_documents.compressed_xmls(
        app.uow_factory(), office.gestor, client.client_id,
        tipo=TipoNota.FORNECEDOR, modelo=None, competencia=None,
    )  # fmt: skip
    assert list(xmls) == []
    with pytest.raises(fiscal_documents.DocumentNotFound, match="só há o resumo"):
        fiscal_documents.get_xml(
            app.uow_factory(), office.gestor, client.client_id, IDE.chave(),
            tipo=TipoNota.FORNECEDOR,
        )  # fmt: skip
