"""The SEFAZ features in the chat: Configurações › Conexão SEFAZ, the manifestação buttons of a
supplier note (confirmation, justificativa, rejections), against the stand-in over mTLS."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.app import App, build_app
from bot.settings import Settings
from domain.clients import Role
from handlers import texts
from services import sefaz_manifest
from services.messages import Text
from services.sefaz_capture import capture
from tests.integration.sefaz_support import Recipient, box_of, gateway_for, recipient
from tests.support import Chat, Office, add_client, add_member, cnpj, make_office
from tests.support_sefaz import SefazState, StandIn, sefaz_stand_in
from tests.unit.fiscal.samples import Ide, res_nfe
from tests.unit.fiscal_chat.chat_support import open_gerenciar
from tests.unit.fiscal_chat.factory import nfe_proc_xml

IDE = Ide(nnf="555")
NAME = "CONSTRUTORA BOA OBRA LTDA"


@pytest.fixture
def sefaz() -> Iterator[StandIn]:
    with sefaz_stand_in(SefazState()) as stand_in:
        yield stand_in


@pytest.fixture
def app(db_engine: Engine, tmp_path: Path, sefaz: StandIn) -> App:
    settings = Settings(
        environment="test",
        database_url=str(db_engine.url),
        file_store_url=str(tmp_path / "files"),
        sefaz_url_base=sefaz.url,
        sefaz_ca_bundle=str(sefaz.ca_bundle),
        _env_file=None,
    )
    built = build_app(settings, db=db_engine)
    return built


@pytest.fixture
def chat(app: App) -> Chat:
    return Chat(app.conversation, app.uow_factory, files=app.files)


@pytest.fixture
def office(app: App, chat: Chat) -> Office:
    return make_office(app.uow_factory, 1, identity_key=chat.identity_key)


@pytest.fixture
def client(app: App, office: Office, sefaz: StandIn) -> Recipient:
    found = recipient(app, office.gestor)
    sefaz.state.add(found.cnpj, "resNFe_v1.01.xsd", res_nfe(IDE))
    capture(app.uow_factory, gateway_for(sefaz), box_of(app), now=datetime.now(UTC), holder="t")
    return found


def open_note(chat: Chat) -> None:
    open_gerenciar(chat, NAME)
    chat.press(texts.XMLS_FORNECEDORES)
    chat.press(texts.PENDENTES)
    chat.press(chat.labels()[0])


def test_a_summary_shows_sem_xml_and_its_deadline(chat: Chat, client: Recipient) -> None:
    open_note(chat)
    text = chat.last_text().text
    assert "📝 Sem XML: só o resumo da SEFAZ chegou." in text
    assert "⏳ manifestar até " in text
    assert texts.BAIXAR_XML not in chat.labels()  # the summary is not the note's XML


def test_nao_realizada_asks_a_justificativa_of_the_right_size_then_confirms(
    chat: Chat, client: Recipient, sefaz: StandIn
) -> None:
    open_note(chat)
    chat.press("Não realizada")
    chat.say("curta")
    assert "precisa ter de 15 a 255" in chat.last_text().text
    assert sefaz.state.count("evento") == 0
    chat.say("A mercadoria não foi entregue ao cliente")
    assert "Justificativa: A mercadoria não foi entregue ao cliente" in chat.last_text().text
    chat.press(texts.MANIF_SEND)
    said = [m.text for m in chat.received if hasattr(m, "text")]
    assert "✅ Não realizada registrada na SEFAZ (protocolo 891260000000123)." in said
    assert sefaz.state.count("evento", client.cnpj) == 1


def test_the_event_goes_to_sefaz_from_a_worker_not_from_the_chats_transaction(
    app: App,
    chat: Chat,
    client: Recipient,
    sefaz: StandIn,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    held: list[int] = []
    monkeypatch.setattr(app.conversation, "run_jobs", held.extend)  # as `serve` leaves them
    open_note(chat)
    chat.press("Confirmar operação")
    chat.press(texts.MANIF_SEND)
    assert sefaz.state.count("evento") == 0  # the step answered; SEFAZ not called yet

    open_note(chat)  # asking again while it is on its way
    chat.press("Confirmar operação")
    chat.press(texts.MANIF_SEND)
    assert chat.last_text().text.startswith("⚠️ Isso já está sendo preparado")
    assert len(held) == 1

    assert app.jobs is not None
    app.jobs.run_now(held)
    said = [m.text for m in chat.drain() if hasattr(m, "text")]
    assert "✅ Confirmar operação registrada na SEFAZ (protocolo 891260000000123)." in said
    assert sefaz.state.count("evento", client.cnpj) == 1


def test_a_rejection_shows_cstat_and_xmotivo(
    chat: Chat, client: Recipient, sefaz: StandIn
) -> None:
    sefaz.state.eventos[IDE.chave()] = ("573", "Rejeicao: Duplicidade de evento")
    open_note(chat)
    chat.press("Confirmar operação")
    chat.press(texts.MANIF_SEND)
    said = [m.text for m in chat.received if hasattr(m, "text")]
    assert "⚠️ A SEFAZ recusou Confirmar operação: 573 – Rejeicao: Duplicidade de evento" in said


def test_a_contador_sees_the_note_without_manifestacao_buttons(
    app: App, office: Office, client: Recipient, sefaz: StandIn
) -> None:
    add_member(app.uow_factory, office, "test:bob", Role.CONTADOR)
    bob = Chat(app.conversation, app.uow_factory, identity_key="test:bob", files=app.files)
    bob.say("/menu")
    bob.press(texts.CLIENTES)
    bob.press(NAME)
    assert "Ciência" not in bob.labels()
    # and a pressed id of the button (an old message, a forged id) is refused
    bob.press_id(f"go:forn:{client.client_id}")
    bob.press(bob.labels()[0])
    assert "Não realizada" not in bob.labels()
    assert texts.BAIXAR_XML_COMPLETO not in bob.labels()
    bob.press_id("mf:210200")  # not offered to it: answered as an expired option
    assert texts.MANIF_SEND not in bob.labels()
    bob.press_id("mf:xml")
    assert sefaz.state.count("evento") == 0
    assert sefaz.state.count("chave") == 0


def test_the_switches_are_in_configuracoes(
    app: App, chat: Chat, office: Office, client: Recipient
) -> None:
    open_gerenciar(chat, NAME)
    chat.press(texts.CONFIGURACOES)
    chat.press(texts.SEFAZ_CONFIG)
    assert "🟢 Captura de notas: ligada" in chat.last_text().text
    chat.press("Ligar: Ciência automática")
    switches = sefaz_manifest.switches(app.uow_factory(), office.gestor, client.client_id)
    assert (switches.captura, switches.ciencia_automatica) == (True, True)
    chat.press("Desligar: Captura de notas")
    switches = sefaz_manifest.switches(app.uow_factory(), office.gestor, client.client_id)
    assert switches.captura is False


# -- Consultar nota ----------------------------------------------------------------------------


def test_consultar_nota_by_typed_key_answers_from_the_archive_and_offers_manifestar(
    chat: Chat, client: Recipient
) -> None:
    chat.say("/menu")
    chat.press(texts.CONSULTAR_NOTA)
    chat.say("NFe " + " ".join(IDE.chave()[i : i + 4] for i in range(0, 44, 4)))
    text = chat.last_text().text
    assert text.startswith(f"🔎 Nota {IDE.chave()}\nSituação: autorizada\n")
    assert "Emitente: FORNECEDOR LTDA" in text
    assert "Valor (vNF): R$ 1.000,00" in text
    assert f"Guardada para {NAME} (nota de fornecedor)." in text
    assert "Só o resumo da SEFAZ está guardado (sem XML)." in text
    assert texts.MANIFESTAR in chat.labels()
    assert texts.DANFE_PDF not in chat.labels()  # only a summary: nothing to print
    chat.press(texts.MANIFESTAR)
    assert "Ciência" in chat.labels()


def test_a_wrong_key_says_what_is_wrong_and_asks_again(chat: Chat, client: Recipient) -> None:
    chat.say("/menu")
    chat.press(texts.CONSULTAR_NOTA)
    chat.say("1234")
    assert "44" in chat.last_text().text
    assert chat.labels() == [texts.VOLTAR, texts.MENU]


def test_consultar_nota_by_a_photo_of_the_danfe_gives_danfe_and_xml(
    app: App, chat: Chat, office: Office
) -> None:
    from domain.fiscal import Modelo
    from services.messages import Document, FileBody
    from tests.unit.fiscal_chat.chat_support import store
    from tests.unit.fiscal_chat.factory import NotaSpec
    from tests.unit.sefaz.test_consulta_chave import photo

    card = add_client(app.uow_factory, office.gestor, 7, name="ACME Comércio Ltda")
    spec = NotaSpec(
        numero=9, dh_emi=datetime(2026, 10, 15, 10, 30, tzinfo=UTC), emitente_cnpj=card.documento
    )
    store(app.uow_factory, card, [("nota.xml", nfe_proc_xml(spec))])
    data = photo(spec, Modelo.NFE)
    chat.say("/menu")
    chat.press(texts.CONSULTAR_NOTA)
    chat.deliver(chat.event(FileBody("ref", "foto.jpg", "image/jpeg", len(data), data)))
    assert f"🔎 Nota {spec.chave()}" in chat.last_text().text
    chat.press(texts.DANFE_PDF)
    chat.press(texts.BAIXAR_XML)
    names = [m.name for m in chat.received if isinstance(m, Document)]
    assert names[-2] == f"DANFE-{spec.chave()}.pdf"
    assert names[-1].endswith(".xml")


def consulted(chat: Chat, chave: str) -> str:
    """Type the key at Consultar nota; the SEFAZ's answer (a job's message, run inline here),
    checked to come between the step's "Consultando" and the key's question again."""
    said = [m.text for m in chat.say(chave) if isinstance(m, Text)]
    assert said[0] == texts.CONSULTANDO_SEFAZ.format(chave=chave)
    assert said[-1] == texts.CONSULTA_ASK
    assert len(said) == 3, said
    return said[1]


@pytest.fixture
def held(app: App, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The jobs the steps queue, kept as `serve` leaves them for its workers."""
    kept: list[int] = []
    monkeypatch.setattr(app.conversation, "run_jobs", kept.extend)
    return kept


def authorized_at_sefaz(client: Recipient, sefaz: StandIn, nnf: str) -> str:
    """The key of a note the client issued, known to the SEFAZ and not stored here."""
    issued = Ide(cnpj=client.cnpj, nnf=nnf)
    sefaz.state.notas[issued.chave()] = ("100", "Autorizado o uso da NF-e")
    return issued.chave()


def run_held(app: App, held: list[int], chat: Chat) -> list[str]:
    """Run the kept jobs as a worker would; the texts they sent."""
    assert app.jobs is not None
    app.jobs.run_now(held)
    return [m.text for m in chat.drain() if isinstance(m, Text)]


def test_a_note_not_archived_is_asked_to_sefaz_with_the_emitentes_certificate(
    chat: Chat, client: Recipient, sefaz: StandIn
) -> None:
    issued = Ide(cnpj=client.cnpj, nnf="900")  # a note the client itself issued
    sefaz.state.notas[issued.chave()] = ("101", "Cancelamento de NF-e homologado")
    chat.say("/menu")
    chat.press(texts.CONSULTAR_NOTA)
    text = consulted(chat, issued.chave())
    assert text.startswith(f"🔎 Nota {issued.chave()}\nSituação: cancelada\n")
    assert "101 – Cancelamento de NF-e homologado" in text
    assert sefaz.state.count("consulta", client.cnpj) == 1
    assert chat.labels() == [texts.VOLTAR, texts.MENU]  # another key may follow


def test_the_sefaz_is_asked_by_a_worker_not_in_the_chats_step(
    app: App, chat: Chat, client: Recipient, sefaz: StandIn, held: list[int]
) -> None:
    chave = authorized_at_sefaz(client, sefaz, "904")
    chat.say("/menu")
    chat.press(texts.CONSULTAR_NOTA)
    answered = chat.say(chave)
    assert [m.text for m in answered if isinstance(m, Text)] == [
        texts.CONSULTANDO_SEFAZ.format(chave=chave)
    ]
    assert sefaz.state.count("consulta") == 0  # the step answered; SEFAZ not called yet

    said = run_held(app, held, chat)
    assert said[0].startswith(f"🔎 Nota {chave}\nSituação: autorizada\n")
    assert said[1:] == [texts.CONSULTA_ASK]
    assert sefaz.state.count("consulta", client.cnpj) == 1


def test_the_same_key_again_while_the_sefaz_is_asked_is_one_consulta(
    app: App, chat: Chat, client: Recipient, sefaz: StandIn, held: list[int]
) -> None:
    chave = authorized_at_sefaz(client, sefaz, "908")
    chat.say("/menu")
    chat.press(texts.CONSULTAR_NOTA)
    chat.say(chave)
    chat.say(chave)
    assert chat.last_text().text.startswith("⚠️ Isso já está sendo preparado")
    assert chat.last_text().text.endswith(texts.CONSULTA_ASK)  # asked again right there
    assert len(held) == 1
    said = run_held(app, held, chat)
    assert len(said) == 1  # the answer; the question is already the live one above it
    assert said[0].startswith(f"🔎 Nota {chave}\nSituação: autorizada\n")
    assert sefaz.state.count("consulta") == 1


def test_who_moved_on_gets_the_sefazs_answer_and_keeps_where_they_are(
    app: App, chat: Chat, client: Recipient, sefaz: StandIn, held: list[int]
) -> None:
    chave = authorized_at_sefaz(client, sefaz, "905")
    chat.say("/menu")
    chat.press(texts.CONSULTAR_NOTA)
    chat.say(chave)
    chat.say("/menu")  # before the worker took it
    menu = chat.last_with_buttons()
    said = run_held(app, held, chat)
    assert len(said) == 1
    assert said[0].startswith(f"🔎 Nota {chave}")
    assert chat.last_with_buttons() == menu  # no stale question under it: the menu is live
    chat.press(texts.CLIENTES)
    assert NAME in chat.labels()


def test_a_sefaz_out_of_reach_is_said_by_the_job_and_the_question_follows(
    chat: Chat, client: Recipient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.gateways.sefaz import HttpsSefazGateway
    from services.sefaz import SefazIndisponivel

    def down(*_args: object, **_kwargs: object) -> None:
        raise SefazIndisponivel("A SEFAZ não respondeu a tempo. Tente de novo em alguns minutos.")

    monkeypatch.setattr(HttpsSefazGateway, "consultar", down)
    chat.say("/menu")
    chat.press(texts.CONSULTAR_NOTA)
    text = consulted(chat, Ide(cnpj=client.cnpj, nnf="906").chave())
    assert text == "⚠️ A SEFAZ não respondeu a tempo. Tente de novo em alguns minutos."


def test_another_gestor_cannot_have_the_sefaz_asked_for_this_offices_note(
    app: App, client: Recipient, sefaz: StandIn
) -> None:
    from handlers.consulta import WORDS
    from services.job_progress import Recipient as To
    from services.sefaz_consulta import SemCertificadoParaConsulta, pedir

    other = make_office(app.uow_factory, 2)
    issued = Ide(cnpj=client.cnpj, nnf="907")  # issued by this office's client
    with pytest.raises(SemCertificadoParaConsulta):
        pedir(app.uow_factory(), other.gestor, issued.chave(), To("test", "test:o", "o"), WORDS)
    uow = app.uow_factory()
    with uow:
        assert not any(uow.jobs.counts().values())


def test_a_note_to_a_client_not_captured_yet_is_asked_with_the_destinatarios_certificate(
    app: App, chat: Chat, office: Office, client: Recipient, sefaz: StandIn
) -> None:
    # Another client with capture on, registered first: the buyer from this emitente (the
    # client holding its earlier note) is asked before it.
    other = recipient(app, office.gestor, cnpj=cnpj(41), name="OUTRA EMPRESA LTDA")
    fresh = IDE.but(nnf="901")  # same supplier, a note the capture has not brought yet
    sefaz.state.notas[fresh.chave()] = ("100", "Autorizado o uso da NF-e")
    sefaz.state.partes[fresh.chave()] = {fresh.cnpj, client.cnpj}
    chat.say("/menu")
    chat.press(texts.CONSULTAR_NOTA)
    text = consulted(chat, fresh.chave())
    assert "Situação: autorizada" in text
    assert f"Destinatário: {NAME}" in text
    assert f"com o certificado de {NAME}: 100 – Autorizado o uso da NF-e" in text
    assert sefaz.state.count("consulta", client.cnpj) == 1
    assert sefaz.state.count("consulta", other.cnpj) == 0
    assert texts.MANIFESTAR not in chat.labels()  # not stored: the capture will bring it


def test_a_note_of_an_unknown_supplier_tries_the_clients_that_capture_at_most_three(
    app: App, chat: Chat, office: Office, client: Recipient, sefaz: StandIn
) -> None:
    others = [
        recipient(app, office.gestor, cnpj=cnpj(50 + n), name=f"EMPRESA {n}") for n in range(3)
    ]
    stranger = Ide(cnpj=cnpj(90), nnf="902")
    sefaz.state.notas[stranger.chave()] = ("100", "Autorizado o uso da NF-e")
    sefaz.state.partes[stranger.chave()] = {stranger.cnpj, others[1].cnpj}
    chat.say("/menu")
    chat.press(texts.CONSULTAR_NOTA)
    assert "Destinatário: EMPRESA 1" in consulted(chat, stranger.chave())
    assert [c.cnpj_certificado for c in sefaz.state.calls if c.service == "consulta"] == [
        client.cnpj,
        others[0].cnpj,
        others[1].cnpj,
    ]
    sefaz.state.calls.clear()
    nobody = Ide(cnpj=cnpj(91), nnf="903")  # nobody here is a party: three calls, then say so
    text = consulted(chat, nobody.chave())  # typed at the question that came after the answer
    assert "Situação: não encontrada" in text
    assert f"com o certificado de {NAME}, EMPRESA 0, EMPRESA 1: 217" in text
    assert sefaz.state.count("consulta") == 3


def test_no_client_with_a_certificate_that_may_be_a_party_says_so_without_asking_sefaz(
    app: App, chat: Chat, office: Office, sefaz: StandIn
) -> None:
    recipient(app, office.gestor, captura=False)  # a certificate, but no capture, no notes
    chat.say("/menu")
    chat.press(texts.CONSULTAR_NOTA)
    chat.say(Ide(nnf="901").chave())  # issued by someone who is not a client
    text = chat.last_text().text
    assert "nenhum cliente seu com certificado digital válido pode ser o emitente" in text
    assert "ligue a Captura de notas" in text
    assert sefaz.state.count("consulta") == 0


def test_the_capture_notice_reaches_the_chat_with_a_button_to_pendentes(
    app: App, chat: Chat, client: Recipient
) -> None:
    from services import notices

    notices.dispatch(app.uow_factory, chat.deliver)
    notice = chat.last_text()
    assert notice.text == f"📥 1 nota nova de fornecedores para {NAME}, recebida da SEFAZ."
    chat.press(texts.VER_PENDENTES)
    assert chat.last_text().text.startswith(f"📥 {NAME}: notas pendentes (1)")


def test_another_gestor_cannot_look_up_a_note_of_this_office(
    app: App, client: Recipient, sefaz: StandIn
) -> None:
    from services.sefaz_consulta import SemCertificadoParaConsulta, na_sefaz, no_arquivo

    other = make_office(app.uow_factory, 2)
    assert no_arquivo(app.uow_factory(), other.gestor, IDE.chave()) is None  # stored here
    with pytest.raises(SemCertificadoParaConsulta):
        na_sefaz(
            app.uow_factory, other.gestor, IDE.chave(), gateway=gateway_for(sefaz), box=box_of(app)
        )
    assert sefaz.state.count("consulta") == 0


# -- the note's events and Reconhecer + Confirmar operação ------------------------------------


def test_the_note_lists_its_events_with_their_dates(
    chat: Chat, client: Recipient, sefaz: StandIn
) -> None:
    open_note(chat)
    assert "📜 Eventos:" not in chat.last_text().text
    chat.press("Ciência")
    chat.press(texts.MANIF_SEND)  # a worker sends it; the note shown again has it
    chat.say("/menu")
    open_note(chat)
    text = chat.last_text().text
    assert "📜 Eventos:\n• Ciência da operação — " in text
    assert "(protocolo 891260000000123)" in text


def test_reconhecer_offers_to_confirm_the_operation_at_sefaz_too(
    chat: Chat, client: Recipient, sefaz: StandIn
) -> None:
    open_note(chat)
    chat.press(texts.RECONHECER)
    said = [m.text for m in chat.received if hasattr(m, "text")]
    assert "✅ Nota nº 555 de FORNECEDOR LTDA reconhecida." in said
    text = chat.last_text().text
    assert text.startswith(texts.RECONHECER_E_CONFIRMAR)
    assert "Confirmar operação (210200)" in text
    assert sefaz.state.count("evento") == 0  # nothing sent before the tap
    chat.press(texts.MANIF_SEND)
    said = [m.text for m in chat.received if hasattr(m, "text")]
    assert "✅ Confirmar operação registrada na SEFAZ (protocolo 891260000000123)." in said
    assert sefaz.state.count("evento", client.cnpj) == 1
    chat.say("/menu")
    open_gerenciar(chat, NAME)
    chat.press(texts.XMLS_FORNECEDORES)
    chat.press(texts.RECONHECIDAS)
    chat.press(chat.labels()[0])
    assert "• Confirmação da operação — " in chat.last_text().text
    assert "Status: Reconhecida em " in chat.last_text().text


def test_reconhecer_and_voltar_keeps_only_the_local_acknowledgement(
    chat: Chat, client: Recipient, sefaz: StandIn
) -> None:
    open_note(chat)
    chat.press(texts.RECONHECER)
    chat.press(texts.VOLTAR)
    assert "Status: Reconhecida em " in chat.last_text().text
    assert sefaz.state.count("evento") == 0


def test_reconhecer_does_not_offer_sefaz_when_the_capture_is_off(
    app: App, chat: Chat, office: Office, client: Recipient, sefaz: StandIn
) -> None:
    sefaz_manifest.set_switches(app.uow_factory(), office.gestor, client.client_id, captura=False)
    open_note(chat)
    chat.press(texts.RECONHECER)
    text = chat.last_text().text
    assert "Status: Reconhecida em " in text
    assert texts.RECONHECER_E_CONFIRMAR not in text
    assert texts.MANIF_SEND not in chat.labels()


# -- Baixar XML completo (consChNFe) ----------------------------------------------------------


def test_baixar_xml_completo_brings_the_full_note_by_its_key(
    chat: Chat, client: Recipient, sefaz: StandIn
) -> None:
    from tests.unit.fiscal.samples import nfe_proc

    sefaz.state.completos[IDE.chave()] = nfe_proc(IDE)
    open_note(chat)
    chat.press(texts.BAIXAR_XML_COMPLETO)
    said = [m.text for m in chat.received if hasattr(m, "text")]
    assert texts.XML_COMPLETO_OK in said
    assert sefaz.state.count("chave", client.cnpj) == 1
    chat.say("/menu")
    open_note(chat)
    assert "Sem XML" not in chat.last_text().text
    assert texts.BAIXAR_XML in chat.labels()
    assert texts.BAIXAR_XML_COMPLETO not in chat.labels()


def test_baixar_xml_completo_shows_the_rejection_with_its_cstat(
    chat: Chat, client: Recipient, sefaz: StandIn
) -> None:
    motivo = "Rejeicao: CNPJ/CPF do interessado nao possui permissao para consultar esta NF-e"
    sefaz.state.recusas_chave[IDE.chave()] = ("640", motivo)
    open_note(chat)
    chat.press(texts.BAIXAR_XML_COMPLETO)
    said = [m.text for m in chat.received if hasattr(m, "text")]
    assert texts.XML_COMPLETO_RECUSADO.format(c_stat="640", x_motivo=motivo) in said
