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
from services.sefaz_capture import capture
from tests.integration.sefaz_support import Recipient, box_of, gateway_for, recipient
from tests.support import Chat, Office, add_member, make_office
from tests.support_sefaz import SefazState, StandIn, sefaz_stand_in
from tests.unit.fiscal.samples import Ide, res_nfe
from tests.unit.fiscal_chat.chat_support import open_gerenciar

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
    bob.press_id("mf:210200")  # not offered to it: answered as an expired option
    assert texts.MANIF_SEND not in bob.labels()
    assert sefaz.state.count("evento") == 0


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
