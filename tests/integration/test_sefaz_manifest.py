"""Manifestação do destinatário and the SEFAZ switches: signed with the client's A1, sent to the
stand-in; success stores the procEventoNFe, every rejection comes back with cStat/xMotivo."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.app import App
from domain.clients import Role
from domain.fiscal import NFE_NS
from domain.fiscal.manifestacao import TipoManifestacao
from services import sefaz_manifest
from services.errors import Forbidden, NotFound, ServiceError
from services.fiscal_prepare import inflate
from services.sefaz_capture import capture
from storage.models import AuditEntry
from storage.models_sefaz import FiscalEvent
from tests.integration.sefaz_support import Recipient, box_of, gateway_for, recipient
from tests.support import Office, add_member, make_office
from tests.support_sefaz import SefazState, StandIn, sefaz_stand_in
from tests.unit.fiscal.samples import Ide, res_nfe

IDE = Ide(nnf="321")
CHAVE = IDE.chave()


@pytest.fixture
def office(app: App) -> Office:
    return make_office(app.uow_factory, 1)


@pytest.fixture
def client(app: App, office: Office) -> Recipient:
    return recipient(app, office.gestor)


def with_summary(app: App, sefaz: StandIn, client: Recipient) -> None:
    """The note arrives by capture as a summary, as it does in real life."""
    sefaz.state.add(client.cnpj, "resNFe_v1.01.xsd", res_nfe(IDE))
    capture(app.uow_factory, gateway_for(sefaz), box_of(app), now=datetime.now(UTC), holder="t")


def events(app: App) -> list[FiscalEvent]:
    uow = app.uow_factory()
    with uow:
        found = list(
            uow.session.scalars(select(FiscalEvent).where(FiscalEvent.origem == "manifestacao"))
        )
        for event in found:
            _ = event.xml_deflate  # load the deferred blob before the session closes
        uow.session.expunge_all()
        return found


def send(
    app: App,
    office: Office,
    client: Recipient,
    sefaz: StandIn,
    tipo: TipoManifestacao,
    justificativa: str | None = None,
) -> sefaz_manifest.Resultado:
    return sefaz_manifest.manifestar(
        app.uow_factory, office.gestor, client.client_id, CHAVE, tipo,
        gateway=gateway_for(sefaz), box=box_of(app), justificativa=justificativa,
    )  # fmt: skip


@pytest.mark.parametrize("tipo", list(TipoManifestacao))
def test_each_manifestacao_is_registered_and_its_procevento_kept(
    app: App, office: Office, client: Recipient, tipo: TipoManifestacao
) -> None:
    extra = {"justificativa": "Mercadoria devolvida na entrega"} if tipo.value == "210240" else {}
    with sefaz_stand_in(SefazState()) as sefaz:
        with_summary(app, sefaz, client)
        resultado = send(app, office, client, sefaz, tipo, **extra)
        assert sefaz.state.count("evento", client.cnpj) == 1
    assert resultado.registrado, resultado
    [event] = events(app)
    assert (event.tp_evento, event.c_stat, event.protocolo) == (
        tipo.value,
        "135",
        "891260000000123",
    )
    xml = inflate(event.xml_deflate or b"")
    assert xml.startswith(b"<?xml")
    assert f'<procEventoNFe xmlns="{NFE_NS}"'.encode() in xml
    assert f"<tpEvento>{tipo.value}</tpEvento>".encode() in xml


@pytest.mark.parametrize(
    ("c_stat", "motivo"),
    [
        ("573", "Rejeicao: Duplicidade de evento"),
        ("596", "Rejeicao: Evento apresentado fora do prazo: 180 dias"),
        ("217", "Rejeicao: NF-e nao consta na base de dados da SEFAZ"),
    ],
)
def test_a_rejection_is_shown_with_its_cstat_and_nothing_is_stored(
    app: App, office: Office, client: Recipient, c_stat: str, motivo: str
) -> None:
    state = SefazState()
    state.eventos[CHAVE] = (c_stat, motivo)
    with sefaz_stand_in(state) as sefaz:
        with_summary(app, sefaz, client)
        resultado = send(app, office, client, sefaz, TipoManifestacao.CONFIRMACAO)
    assert not resultado.registrado
    assert resultado.texto() == f"A SEFAZ recusou o evento: {c_stat} – {motivo}"
    assert events(app) == []


@pytest.mark.parametrize("texto", ["curta demais", "x" * 256, "   " + "a" * 14 + "   "])
def test_the_justificativa_must_have_15_to_255_characters(
    app: App, office: Office, client: Recipient, texto: str
) -> None:
    with sefaz_stand_in(SefazState()) as sefaz:
        with_summary(app, sefaz, client)
        with pytest.raises(ServiceError, match="de 15 a 255"):
            send(app, office, client, sefaz, TipoManifestacao.NAO_REALIZADA, justificativa=texto)
        assert sefaz.state.count("evento") == 0


def test_a_contador_sees_but_never_manifests(app: App, office: Office, client: Recipient) -> None:
    contador = add_member(app.uow_factory, office, "test:contador", Role.CONTADOR)
    with sefaz_stand_in(SefazState()) as sefaz:
        with_summary(app, sefaz, client)
        with pytest.raises(Forbidden):
            sefaz_manifest.manifestar(
                app.uow_factory, contador, client.client_id, CHAVE, TipoManifestacao.CIENCIA,
                gateway=gateway_for(sefaz), box=box_of(app),
            )  # fmt: skip
        with pytest.raises(Forbidden):
            sefaz_manifest.set_switches(
                app.uow_factory(), contador, client.client_id, captura=False
            )
        assert sefaz_manifest.switches(app.uow_factory(), contador, client.client_id).captura
        assert sefaz.state.count("evento") == 0


def test_another_gestors_client_is_not_found_for_every_action(app: App, client: Recipient) -> None:
    other = make_office(app.uow_factory, 2)
    with sefaz_stand_in(SefazState()) as sefaz:
        with_summary(app, sefaz, client)
        with pytest.raises(NotFound):
            sefaz_manifest.manifestar(
                app.uow_factory, other.gestor, client.client_id, CHAVE,
                TipoManifestacao.CONFIRMACAO, gateway=gateway_for(sefaz), box=box_of(app),
            )  # fmt: skip
        with pytest.raises(NotFound):
            sefaz_manifest.set_switches(
                app.uow_factory(), other.gestor, client.client_id, captura=False
            )
        with pytest.raises(NotFound):
            sefaz_manifest.switches(app.uow_factory(), other.gestor, client.client_id)
        assert sefaz.state.count("evento") == 0


def test_a_note_not_stored_for_the_client_is_refused_before_sefaz(
    app: App, office: Office, client: Recipient
) -> None:
    with sefaz_stand_in(SefazState()) as sefaz:
        with pytest.raises(NotFound, match="Nota não encontrada"):
            send(app, office, client, sefaz, TipoManifestacao.CIENCIA)
        assert sefaz.state.count("evento") == 0


def test_automatic_ciencia_is_sent_for_each_new_summary_within_its_ten_days(
    app: App, office: Office, client: Recipient
) -> None:
    from bot.sefaz import capture_runner

    now = datetime.now(UTC)
    recent = (now - timedelta(days=3)).astimezone(ZoneInfo("America/Sao_Paulo"))

    def authorized(ide: Ide, at: datetime) -> bytes:
        return res_nfe(ide).replace(
            b"2026-10-15T10:31:00-03:00", at.replace(microsecond=0).isoformat().encode()
        )

    sefaz_manifest.set_switches(
        app.uow_factory(), office.gestor, client.client_id, ciencia_automatica=True
    )
    with sefaz_stand_in(SefazState()) as sefaz:
        sefaz.state.add(client.cnpj, "resNFe_v1.01.xsd", authorized(IDE, recent))
        sefaz.state.add(client.cnpj, "resNFe_v1.01.xsd", authorized(Ide(nnf="322"), recent))
        # authorized 11 days ago: past the Ciência's 10 days, SEFAZ would answer 596
        late = recent - timedelta(days=8)
        sefaz.state.add(client.cnpj, "resNFe_v1.01.xsd", authorized(Ide(nnf="323"), late))
        run = capture_runner(app.settings, app.uow_factory, gateway_for(sefaz))
        run(now=now, holder="t")
        assert sefaz.state.count("evento") == 2
    assert sorted(e.tp_evento for e in events(app)) == ["210210", "210210"]


def test_switch_changes_are_audited(app: App, office: Office, client: Recipient) -> None:
    sefaz_manifest.set_switches(app.uow_factory(), office.gestor, client.client_id, captura=False)
    uow = app.uow_factory()
    with uow:
        actions = list(
            uow.session.scalars(
                select(AuditEntry.action).where(AuditEntry.client_id == client.client_id)
            )
        )
    assert actions.count("sefaz.configuracao") == 2  # on by the fixture, then off


def test_the_deadline_reads_as_the_panel_says_it() -> None:
    prazo = sefaz_manifest.prazo_da_nota(
        datetime(2026, 10, 15, 10, 0, tzinfo=UTC), date(2026, 12, 6)
    )
    assert prazo.texto() == "manifestar até 13/04/2027 (128 dias)"
