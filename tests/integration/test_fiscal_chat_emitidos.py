"""XMLs emitidos in the chat: month → model → the month's ZIP, delivered after the answer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import time_machine

from domain.clients import Payer, Role
from handlers import texts
from services import catalog, clients
from services.clients import ClientCard
from services.fiscal_exports import xml_zip
from services.messages import ChatAction, Document, Text
from services.types import UnitOfWorkFactory
from storage.conversation import StoredState
from storage.models import ConversationState
from tests.support import Chat, Office, add_client, add_member, cnpj, make_office
from tests.unit.fiscal_chat.chat_support import (
    NOW,
    limit_uploads,
    open_gerenciar,
    store_emitted,
    unzip,
)
from tests.unit.helpers import step_of


@pytest.fixture(autouse=True)
def clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture
def office(uow_factory: UnitOfWorkFactory, chat: Chat) -> Office:
    return make_office(uow_factory, 1, identity_key=chat.identity_key)


@pytest.fixture
def acme(uow_factory: UnitOfWorkFactory, office: Office) -> ClientCard:
    return add_client(uow_factory, office.gestor, 1, name="ACME Comércio Ltda")


def open_emitidos(chat: Chat) -> None:
    open_gerenciar(chat, "ACME Comércio Ltda")
    chat.press(texts.XMLS_EMITIDOS)


def test_the_month_question_names_the_previous_and_the_current_sao_paulo_months(
    chat: Chat, acme: ClientCard
) -> None:
    open_emitidos(chat)

    assert chat.last_text().text == (
        "📦 XMLs emitidos de ACME Comércio Ltda\nDe qual mês?\n"
        "• Mês anterior: 10/2026\n• Mês atual: 11/2026\n"
        "Para outro mês, toque em Outro mês ou digite o mês (ex.: 10/2026)."
    )
    assert chat.labels() == ["Mês anterior", "Mês atual", "Outro mês", "Voltar", "Menu"]
    assert step_of(chat) == ("emitidos", "mes")


def test_the_zip_of_the_month_holds_each_note_and_the_cancellation_events(
    chat: Chat, acme: ClientCard, uow_factory: UnitOfWorkFactory
) -> None:
    specs = store_emitted(uow_factory, acme, 5, cancel=[2])
    store_emitted(uow_factory, acme, 3, modelo="65", seed=3)  # NFC-e: not in the NF-e ZIP
    open_emitidos(chat)
    chat.press(texts.MES_ANTERIOR)
    assert chat.labels() == ["NF-e", "NFC-e", "Voltar", "Menu"]

    replies = chat.press(texts.NFE)

    assert replies[0] == Text(
        "⏳ Gerando o ZIP com 5 NF-e de 10/2026… Envio aqui assim que ficar pronto."
    )
    assert replies[1] == ChatAction("upload_document")
    [document] = chat.documents()
    assert replies[2] == document
    assert isinstance(replies[3], Text)  # the buttons to go on come under the ZIP
    assert replies[3].text.startswith("📦 XMLs emitidos de ACME")
    assert document.name == "ACME-Comercio-Ltda_2026-10_NFe.zip"
    assert document.mime == "application/zip"
    assert document.caption == (
        "📦 XMLs emitidos de ACME Comércio Ltda — NF-e 10/2026: 5 notas e 1 evento de "
        "cancelamento."
    )
    members = unzip(document)
    chaves = {s.chave() for s in specs}
    assert set(members) == {f"{c}-nfe.xml" for c in chaves} | {
        f"{specs[1].chave()}-cancelamento.xml"
    }
    assert members[f"{specs[0].chave()}-nfe.xml"].startswith(b'<?xml version="1.0"')
    assert b"<tpEvento>110111</tpEvento>" in members[f"{specs[1].chave()}-cancelamento.xml"]


def test_the_nfce_zip_of_the_current_month_has_only_nfce(
    chat: Chat, acme: ClientCard, uow_factory: UnitOfWorkFactory
) -> None:
    store_emitted(uow_factory, acme, 2, modelo="55", month=11)
    nfce = store_emitted(uow_factory, acme, 4, modelo="65", month=11, seed=5)
    open_emitidos(chat)
    chat.press(texts.MES_ATUAL)

    chat.press(texts.NFCE)

    [document] = chat.documents()
    assert document.name == "ACME-Comercio-Ltda_2026-11_NFCe.zip"
    assert sorted(unzip(document)) == sorted(f"{s.chave()}-nfe.xml" for s in nfce)


def test_an_empty_month_says_so_and_sends_nothing(chat: Chat, acme: ClientCard) -> None:
    open_emitidos(chat)
    chat.press(texts.MES_ATUAL)

    chat.press(texts.NFE)

    assert chat.documents() == []
    assert chat.last_text().text.startswith(
        "Nenhuma NF-e emitida por ACME Comércio Ltda em 11/2026. Escolha o outro tipo ou volte."
    )
    assert step_of(chat) == ("emitidos", "modelo")


def test_a_month_above_the_channel_limit_arrives_in_numbered_parts(
    chat: Chat, acme: ClientCard, uow_factory: UnitOfWorkFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    specs = store_emitted(uow_factory, acme, 12)
    limit_uploads(chat, 12_000, monkeypatch)
    open_emitidos(chat)
    chat.press(texts.MES_ANTERIOR)

    chat.press(texts.NFE)

    documents = chat.documents()
    assert len(documents) > 1
    assert [d.name for d in documents] == [
        f"ACME-Comercio-Ltda_2026-10_NFe.part{n}.zip" for n in range(1, len(documents) + 1)
    ]
    names: set[str] = set()
    for n, document in enumerate(documents, start=1):
        assert len(document.data) <= 12_000
        assert document.caption is not None
        assert document.caption.endswith(
            f"Parte {n} de {len(documents)}: o arquivo passou do limite de envio deste canal."
        )
        names |= set(unzip(document))
    assert names == {f"{s.chave()}-nfe.xml" for s in specs}


def test_voltar_from_the_month_returns_to_gerenciar(chat: Chat, acme: ClientCard) -> None:
    open_emitidos(chat)

    chat.press(texts.VOLTAR)

    assert step_of(chat) == ("clientes", "gerenciar")


def test_another_gestors_client_in_the_flow_data_is_not_found(
    chat: Chat, acme: ClientCard, uow_factory: UnitOfWorkFactory
) -> None:
    other = make_office(uow_factory, 2)
    theirs = add_client(uow_factory, other.gestor, 2, name="Cliente Alheio Ltda")
    store_emitted(uow_factory, theirs, 2)
    open_emitidos(chat)
    chat.press(texts.MES_ANTERIOR)
    forge_client(chat, theirs.id)

    replies = chat.press(texts.NFE)

    assert chat.documents() == []
    assert any(isinstance(r, Text) and "Cliente não encontrado." in r.text for r in replies)
    assert all("Cliente Alheio" not in r.text for r in replies if isinstance(r, Text))


def test_a_contador_is_refused_even_with_a_crafted_state(
    acme: ClientCard, office: Office, uow_factory: UnitOfWorkFactory, chat: Chat
) -> None:
    store_emitted(uow_factory, acme, 2)
    add_member(uow_factory, office, "test:contador", Role.CONTADOR)
    contador = Chat(chat.engine, uow_factory, identity_key="test:contador")
    contador.say("/menu")
    with uow_factory() as uow:
        data = {"cid": acme.id, "comp": "2026-10", "_offered": ["mod:55"]}
        uow.conversations.save(
            "test:contador", StoredState("emitidos", "modelo", data, 1, None), NOW
        )
        uow.commit()

    replies = contador.press_id("mod:55")

    assert contador.documents() == []
    assert any(
        isinstance(r, Text) and "Esta ação é só para o gestor. Seu acesso é de contador." in r.text
        for r in replies
    )


def forge_client(chat: Chat, client_id: int) -> None:
    """Tamper with the saved flow data: the client id now points elsewhere."""
    with chat.uow_factory() as uow:
        row = uow.session.get(ConversationState, chat.identity_key)
        assert row is not None
        row.data = {**row.data, "cid": client_id}
        uow.session.commit()


def test_a_failing_job_answers_with_a_reference_and_sends_no_document(
    chat: Chat, acme: ClientCard, uow_factory: UnitOfWorkFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_emitted(uow_factory, acme, 2)

    def broken(*_args: object, **_kwargs: object) -> list[object]:
        raise OSError("disk full")

    monkeypatch.setattr(xml_zip, "zip_documents", broken)
    open_emitidos(chat)
    chat.press(texts.MES_ANTERIOR)

    *_, failed, question = chat.press(texts.NFE)

    assert not any(isinstance(m, Document) for m in chat.received)
    assert isinstance(failed, Text)
    assert failed.text.startswith("⚠️ Não consegui gerar o arquivo. Tente de novo;")
    assert question == chat.last_with_buttons()  # the buttons to go on, under the error


def test_the_zip_is_named_after_the_nome_fantasia_when_the_client_has_one(
    chat: Chat, office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    software = catalog.list_softwares(uow_factory())[0]
    card = clients.register_client(
        uow_factory(),
        office.gestor,
        clients.NewClient(
            payer=Payer.GESTOR,
            software_id=software.id,
            plan_id=software.plans[0].id,
            documento=cnpj(5),
            razao_social="Acme Indústria e Comércio de Ferragens Ltda",
            nome_fantasia="ACME",
            email="fiscal@acme.com.br",
            telefone="(11) 98765-4321",
            cep="01310-100",
            endereco="Av. Paulista, 1000 - Bela Vista - São Paulo/SP",
        ),
    )
    store_emitted(uow_factory, card, 1)
    open_gerenciar(chat, card.razao_social)
    chat.press(texts.XMLS_EMITIDOS)
    chat.press(texts.MES_ANTERIOR)

    chat.press(texts.NFE)

    assert [d.name for d in chat.documents()] == ["ACME_2026-10_NFe.zip"]
