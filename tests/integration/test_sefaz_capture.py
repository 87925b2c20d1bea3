"""Captura de notas de fornecedores against the SEFAZ stand-in (mutual TLS, real HTTPS)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from bot.app import App
from bot.cli import main
from services import sefaz_capture
from services.sefaz_capture import capture
from storage.models_fiscal import FiscalDocument
from storage.models_sefaz import FiscalEvent, SefazCursor
from tests.integration.sefaz_support import box_of, gateway_for, recipient
from tests.support import Office, make_office
from tests.support_sefaz import SefazState, StandIn, sefaz_stand_in
from tests.unit.fiscal.samples import Ide, nfe_proc, proc_evento, res_evento, res_nfe

NOW = datetime.now(UTC).replace(microsecond=0)
M = TypeVar("M")


@pytest.fixture
def office(app: App) -> Office:
    return make_office(app.uow_factory, 1)


def notes(state: SefazState, cnpj: str, count: int, *, first: int = 1) -> list[str]:
    """`count` summaries addressed to `cnpj` (numbered from `first`), in NSU order; their
    keys."""
    chaves = []
    for n in range(first, first + count):
        ide = Ide(nnf=str(n), cnf=f"{n:08d}")
        state.add(cnpj, "resNFe_v1.01.xsd", res_nfe(ide))
        chaves.append(ide.chave())
    return chaves


def rows(app: App, model: type[M]) -> list[M]:
    uow = app.uow_factory()
    with uow:
        found = list(uow.session.scalars(select(model)).all())
        uow.session.expunge_all()
        return found


def run(
    app: App, sefaz: StandIn, *, now: datetime = NOW, holder: str = "a"
) -> sefaz_capture.CaptureReport:
    return capture(app.uow_factory, gateway_for(sefaz), box_of(app), now=now, holder=holder)


def test_a_first_capture_reads_every_page_then_waits_the_hour(app: App, office: Office) -> None:
    client = recipient(app, office.gestor)
    state = SefazState()
    notes(state, client.cnpj, 120)
    with sefaz_stand_in(state) as sefaz:
        first = run(app, sefaz)
        assert state.count("distribuicao") == 3  # 50 + 50 + 20, the last page ends at maxNSU
        again = run(app, sefaz, now=NOW + timedelta(minutes=30))
        assert state.count("distribuicao") == 3  # within the hour: no request at all
    [got] = first.clientes
    assert (got.resumos, got.c_stat, got.consultas) == (120, "138", 3)
    assert got.proxima == NOW + timedelta(hours=1)
    assert again.clientes[0].pulada == "aguardando"
    [cursor] = rows(app, SefazCursor)
    assert (cursor.ult_nsu, cursor.max_nsu) == ("000000000000120", "000000000000120")
    summaries = [d for d in rows(app, FiscalDocument) if d.resumo]
    assert len(summaries) == 120
    assert {d.tipo for d in summaries} == {"fornecedor"}


def test_after_the_hour_nothing_new_is_137_and_another_hour(app: App, office: Office) -> None:
    client = recipient(app, office.gestor)
    state = SefazState(clock=lambda: NOW)
    notes(state, client.cnpj, 2)
    with sefaz_stand_in(state) as sefaz:
        run(app, sefaz)
        state.clock = lambda: NOW + timedelta(minutes=61)
        later = run(app, sefaz, now=NOW + timedelta(minutes=61))
    assert later.clientes[0].c_stat == "137"
    assert later.clientes[0].proxima == NOW + timedelta(minutes=121)
    assert state.count("distribuicao") == 2


def test_656_stops_the_cnpj_for_an_hour_and_is_recorded(app: App, office: Office) -> None:
    client = recipient(app, office.gestor)
    state = SefazState()
    notes(state, client.cnpj, 3)
    state.block.add(client.cnpj)
    with sefaz_stand_in(state) as sefaz:
        blocked = run(app, sefaz)
        run(app, sefaz, now=NOW + timedelta(minutes=59))
    assert blocked.clientes[0].c_stat == "656"
    assert state.count("distribuicao") == 1
    [cursor] = rows(app, SefazCursor)
    assert cursor.bloqueado_656_em == NOW
    assert cursor.proxima_consulta_em == NOW + timedelta(hours=1)
    assert cursor.ult_nsu == "000000000000000"  # nothing was read
    assert [d for d in rows(app, FiscalDocument)] == []


def test_two_instances_capture_one_cnpj_once(app: App, office: Office) -> None:
    client = recipient(app, office.gestor)
    state = SefazState()
    notes(state, client.cnpj, 10)
    barrier = threading.Barrier(2)
    reports: dict[str, sefaz_capture.CaptureReport] = {}
    with sefaz_stand_in(state) as sefaz:

        def worker(holder: str) -> None:
            barrier.wait()
            reports[holder] = run(app, sefaz, holder=holder)

        threads = [threading.Thread(target=worker, args=(h,)) for h in ("a", "b")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert state.count("distribuicao") == 1
    assert sorted(r.clientes[0].resumos for r in reports.values()) == [0, 10]
    assert len([d for d in rows(app, FiscalDocument) if d.resumo]) == 10


def test_a_summary_is_replaced_by_its_full_note_keeping_the_acknowledgement(
    app: App, office: Office
) -> None:
    client = recipient(app, office.gestor)
    ide = Ide(nnf="77")
    state = SefazState()
    state.add(client.cnpj, "resNFe_v1.01.xsd", res_nfe(ide))
    with sefaz_stand_in(state) as sefaz:
        run(app, sefaz)
        uow = app.uow_factory()
        with uow:
            uow.sefaz.acknowledge(client.client_id, ide.chave(), NOW, "test:gestor1")
            uow.commit()
        state.add(client.cnpj, "procNFe_v4.00.xsd", nfe_proc(ide))
        later = NOW + timedelta(hours=2)
        state.waiting_until.clear()
        got = run(app, sefaz, now=later)
    assert got.clientes[0].notas == 1
    [note] = rows(app, FiscalDocument)
    assert (note.chave, note.resumo, note.situacao) == (ide.chave(), False, "autorizada")
    assert note.reconhecida_em == NOW


def test_a_cancellation_found_by_capture_cancels_the_stored_note(app: App, office: Office) -> None:
    client = recipient(app, office.gestor)
    ide = Ide(nnf="88")
    state = SefazState()
    state.add(client.cnpj, "procNFe_v4.00.xsd", nfe_proc(ide))
    state.add(client.cnpj, "procEventoNFe_v1.00.xsd", proc_evento(ide.chave()))
    state.add(client.cnpj, "resEvento_v1.01.xsd", res_evento(ide.chave(), "110110"))
    with sefaz_stand_in(state) as sefaz:
        got = run(app, sefaz)
    assert (got.clientes[0].notas, got.clientes[0].eventos) == (1, 2)
    [note] = rows(app, FiscalDocument)
    assert note.situacao == "cancelada"
    events = sorted((e.tp_evento, e.origem) for e in rows(app, FiscalEvent))
    assert events == [("110110", "captura"), ("110111", "captura")]


def test_the_gestor_is_told_once_per_sweep_and_can_mute_it(app: App, office: Office) -> None:
    from services import notice_settings

    client = recipient(app, office.gestor)
    state = SefazState()
    notes(state, client.cnpj, 3)
    with sefaz_stand_in(state) as sefaz:
        told = run(app, sefaz)
        uow = app.uow_factory()
        with uow:
            pending = [(n.kind, dict(n.payload)) for n in uow.notices.pending(10)]
        notice_settings.set_muted(app.uow_factory(), office.gestor, "fornecedores", muted=True)
        notes(state, client.cnpj, 2, first=4)  # two notes not seen before
        state.waiting_until.clear()
        muted = run(app, sefaz, now=NOW + timedelta(hours=2))
        uow = app.uow_factory()
        with uow:
            after = [n.kind for n in uow.notices.pending(10)]
    assert pending == [
        (
            "fornecedores.novas",
            {"client_id": client.client_id, "nome": "CONSTRUTORA BOA OBRA LTDA", "quantidade": 3},
        )
    ]
    assert after == ["fornecedores.novas"]  # the first one only: the second sweep was muted
    assert (told.avisos, muted.avisos) == (1, 0)  # what the scheduler wakes the sender for
    assert muted.clientes[0].novas == 2


def test_capture_off_or_no_certificate_means_no_request(app: App, office: Office) -> None:
    client = recipient(app, office.gestor, captura=False)
    state = SefazState()
    notes(state, client.cnpj, 3)
    with sefaz_stand_in(state) as sefaz:
        report = run(app, sefaz)
    assert report.clientes == []
    assert state.count("distribuicao") == 0


def test_the_cli_captures_one_client_and_prints_what_it_got(
    app: App, office: Office, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = recipient(app, office.gestor)
    state = SefazState()
    notes(state, client.cnpj, 4)
    monkeypatch.chdir(tmp_path)
    with sefaz_stand_in(state) as sefaz:
        runner = CliRunner(
            env={
                "DATABASE_URL": app.db.url.render_as_string(hide_password=False),
                "SEFAZ_URL_BASE": sefaz.url,
                "SEFAZ_CA_BUNDLE": str(sefaz.ca_bundle),
            }
        )
        result = runner.invoke(main, ["sefaz", "capturar", "--client", "45.723.174/0001-10"])
        other = runner.invoke(main, ["sefaz", "capturar", "--client", "11222333000181"])
    assert result.exit_code == 0, result.output
    assert "4 resumo(s)" in result.output
    assert "cStat 138" in result.output
    assert "próxima consulta:" in result.output
    assert "Nenhum cliente com captura ligada" in other.output


def test_sefaz_unreachable_is_reported_and_the_lease_released(app: App, office: Office) -> None:
    from bot.gateways.sefaz import HttpsSefazGateway, SefazEndpoints

    recipient(app, office.gestor)
    with sefaz_stand_in() as sefaz:
        bundle, url = sefaz.ca_bundle.read_bytes(), sefaz.url
    tmp_bundle = Path(app.settings.file_store_url) / "ca.pem"
    tmp_bundle.parent.mkdir(parents=True, exist_ok=True)
    tmp_bundle.write_bytes(bundle)
    down = HttpsSefazGateway(SefazEndpoints(base=url), ca_bundle=tmp_bundle, timeout=2)
    report = capture(app.uow_factory, down, box_of(app), now=NOW, holder="a")
    assert (
        report.clientes[0].erro == "A SEFAZ não respondeu agora. Tente de novo em alguns minutos."
    )
    [cursor] = rows(app, SefazCursor)
    assert (cursor.lease_holder, cursor.proxima_consulta_em, cursor.ultimo_c_stat) == (
        None,
        None,
        None,
    )


def test_documents_that_fail_verification_are_refused_and_the_nsu_still_advances(
    app: App, office: Office
) -> None:
    from tests.integration.fiscal_support import (
        FIXTURES,
        NFELIB_DESTINATARIO,
        NFELIB_SAMPLES,
        NFELIB_TO_DESTINATARIO,
        fixture_bytes,
    )

    client = recipient(app, office.gestor, cnpj=NFELIB_DESTINATARIO, name="DESTINATARIO REAL")
    real = fixture_bytes(
        str((NFELIB_SAMPLES / f"{NFELIB_TO_DESTINATARIO}-nfe.xml").relative_to(FIXTURES))
    )
    broken = fixture_bytes("Unimake-DFe/source/Unimake.DFe.Test/NFe/Resources/resEvento.xml")
    state = SefazState()
    # nfelib's sample was re-indented after signing: its signature no longer verifies
    state.add(client.cnpj, "procNFe_v4.00.xsd", real)
    state.add(client.cnpj, "resEvento_v1.01.xsd", broken)  # a 42-character key
    good = Ide(cnpj="11222333000181", nnf="5")
    state.add(client.cnpj, "resNFe_v1.01.xsd", res_nfe(good))
    with sefaz_stand_in(state) as sefaz:
        got = run(app, sefaz).clientes[0]
    assert (got.notas, got.resumos, got.recusados, got.c_stat) == (0, 1, 2, "138")
    assert [d.chave for d in rows(app, FiscalDocument)] == [good.chave()]
    assert NFELIB_TO_DESTINATARIO not in {d.chave for d in rows(app, FiscalDocument)}
    [cursor] = rows(app, SefazCursor)
    assert cursor.ult_nsu == "000000000000003"  # refused documents do not hold the NSU back


def test_the_authorization_time_is_kept_from_the_summary_and_then_from_the_full_note(
    app: App, office: Office
) -> None:
    client = recipient(app, office.gestor)
    ide = Ide(nnf="78")
    state = SefazState()
    state.add(client.cnpj, "resNFe_v1.01.xsd", res_nfe(ide))
    with sefaz_stand_in(state) as sefaz:
        run(app, sefaz)
        [summary] = rows(app, FiscalDocument)
        assert summary.autorizada_em == datetime(2026, 10, 15, 13, 31, tzinfo=UTC)
        state.add(client.cnpj, "procNFe_v4.00.xsd", nfe_proc(ide))
        state.waiting_until.clear()
        run(app, sefaz, now=NOW + timedelta(hours=2))
    [note] = rows(app, FiscalDocument)
    assert note.resumo is False
    # the protNFe's dhRecbto (10:31), not the dhEmi (10:30)
    assert note.autorizada_em == datetime(2026, 10, 15, 13, 31, tzinfo=UTC)
