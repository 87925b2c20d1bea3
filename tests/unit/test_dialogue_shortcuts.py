"""Typed shortcuts in the chat: the client found (one, several → buttons, none), what is missing
asked, the same step (and data) as the buttons reach, tenancy, the contador, and precedence over
the steps that read text themselves."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import time_machine

from domain.clients import Role
from domain.documents import format_tax_id
from handlers import texts
from services.clients import ClientCard
from services.types import UnitOfWorkFactory
from tests.support import Chat, Office, add_client, add_member
from tests.unit.billing_service.support import make_fatura
from tests.unit.fiscal_chat.chat_support import NOW, store_emitted
from tests.unit.helpers import offer, state_of, step_of, texts_of, walk_to

PADARIA = "Padaria Pão Quente Ltda"
ESTRELA = "Padaria Estrela do Norte Ltda"
MERCADO = "Mercado Bom Preço Ltda"
pytestmark = pytest.mark.usefixtures("office")


@pytest.fixture(autouse=True)
def clock() -> Iterator[None]:
    """Mês atual is 11/2026, Mês anterior 10/2026 (São Paulo)."""
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture
def padaria(uow_factory: UnitOfWorkFactory, office: Office) -> ClientCard:
    return add_client(uow_factory, office.gestor, 1, name=PADARIA)


@pytest.fixture
def mercado(uow_factory: UnitOfWorkFactory, office: Office) -> ClientCard:
    return add_client(uow_factory, office.gestor, 2, name=MERCADO)


@pytest.fixture
def estrela(uow_factory: UnitOfWorkFactory, office: Office) -> ClientCard:
    return add_client(uow_factory, office.gestor, 3, name=ESTRELA)


@pytest.fixture
def contador(uow_factory: UnitOfWorkFactory, office: Office, chat: Chat) -> Chat:
    add_member(uow_factory, office, "test:carol", Role.CONTADOR)
    return Chat(chat.engine, uow_factory, identity_key="test:carol")


def data_of(chat: Chat) -> dict[str, Any]:
    """The flow's data without the engine's bookkeeping of the question on screen (the buttons
    offered, the prompt's token and message), at every level of the return states."""
    state = state_of(chat)
    assert state is not None
    return _answers(state.data)


def _answers(data: dict[str, Any]) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    for key, value in data.items():
        if key == "_offered" or key.startswith("_prompt"):
            continue
        if isinstance(value, dict) and "data" in value:
            value = {**value, "data": _answers(value["data"])}
        kept[key] = value
    return kept


def first_line(chat: Chat) -> str:
    return chat.last_text().text.splitlines()[0]


# -- one client: straight to the step the buttons reach --


@pytest.mark.usefixtures("mercado")
def test_xml_client_month_lands_on_the_model_question_as_the_buttons_do(
    chat: Chat, padaria: ClientCard
) -> None:
    chat.say("/menu")

    chat.say("xml padaria outubro")

    assert step_of(chat) == ("emitidos", "modelo")
    assert first_line(chat) == f"📦 XMLs emitidos de {PADARIA} — 10/2026"
    assert chat.labels() == [texts.NFE, texts.NFCE, texts.VOLTAR, texts.MENU]
    by_typing = data_of(chat)

    chat.say("/menu")
    chat.press(texts.CLIENTES)
    chat.press(PADARIA)
    chat.press(texts.GERENCIAR)
    chat.press(texts.XMLS_EMITIDOS)
    chat.press(texts.MES_ANTERIOR)

    assert step_of(chat) == ("emitidos", "modelo")
    assert data_of(chat) == by_typing


def test_voltar_after_a_shortcut_walks_back_as_after_the_buttons(
    chat: Chat, padaria: ClientCard
) -> None:
    chat.say("/menu")
    chat.say("xml padaria outubro")

    chat.press(texts.VOLTAR)
    assert step_of(chat) == ("emitidos", "mes")
    chat.press(texts.VOLTAR)
    assert step_of(chat) == ("clientes", "gerenciar")
    assert data_of(chat)["cid"] == padaria.id
    chat.press(texts.VOLTAR)
    assert step_of(chat) == ("clientes", "card")
    chat.press(texts.VOLTAR)
    assert step_of(chat) == ("clientes", "lista")


def test_a_complete_shortcut_confirms_in_one_line_and_sends_the_zip(
    chat: Chat, padaria: ClientCard, uow_factory: UnitOfWorkFactory
) -> None:
    store_emitted(uow_factory, padaria, 3, modelo="65")
    chat.say("/menu")

    replies = chat.say("nfce padaria 10/2026")

    assert texts_of(replies[:2]) == [
        f"📦 XMLs emitidos de {PADARIA} — NFC-e 10/2026",
        "⏳ Gerando o ZIP com 3 NFC-e de 10/2026… Envio aqui assim que ficar pronto.",
    ]
    [document] = chat.documents()
    assert document.name == "Padaria-Pao-Quente-Ltda_2026-10_NFCe.zip"
    assert step_of(chat) == ("emitidos", "modelo")
    assert data_of(chat)["comp"] == "2026-10"


def test_a_complete_shortcut_for_an_empty_month_says_so_at_the_model_question(
    chat: Chat, padaria: ClientCard
) -> None:
    chat.say("/menu")

    chat.say("xml padaria nfe mes atual")

    assert chat.documents() == []
    assert "Nenhuma NF-e emitida por Padaria Pão Quente Ltda em 11/2026" in chat.last_text().text
    assert step_of(chat) == ("emitidos", "modelo")


def test_the_report_shortcut_with_model_lands_on_the_kind_of_document(
    chat: Chat, padaria: ClientCard, uow_factory: UnitOfWorkFactory
) -> None:
    store_emitted(uow_factory, padaria, 2)
    chat.say("/menu")

    chat.say("relatório pão quente nf-e outubro")

    assert step_of(chat) == ("relatorios", "tipo")
    assert texts.RELATORIO_CSV in chat.labels()


@pytest.mark.parametrize(
    ("typed", "place"),
    [
        ("certificado padaria", ("config", "cert")),
        ("chave padaria", ("config", "chave")),
        ("contrato padaria", ("config", "contrato")),
        ("plano padaria", ("config", "software")),
        ("configurações padaria", ("config", "inicio")),
        ("enviar certificado padaria", ("config_cert", "arquivo")),
        ("gerenciar padaria", ("clientes", "gerenciar")),
        ("histórico padaria", ("historico", "lista")),
        ("notas de fornecedores padaria", ("fornecedores", "inicio")),
        ("fornecedores padaria outubro", ("fornecedores", "lista")),
        ("xml padaria", ("emitidos", "mes")),
        ("relatorio padaria", ("relatorios", "mes")),
        ("cliente padaria", ("clientes", "card")),
    ],
)
def test_each_client_shortcut_lands_where_its_buttons_lead(
    chat: Chat, padaria: ClientCard, typed: str, place: tuple[str, str]
) -> None:
    chat.say("/menu")

    chat.say(typed)

    assert step_of(chat) == place
    assert data_of(chat)["cid"] == padaria.id


def test_certificado_confirms_the_client_and_voltar_goes_to_configuracoes(
    chat: Chat, padaria: ClientCard
) -> None:
    chat.say("/menu")

    chat.say("certifcado da padaria")

    assert first_line(chat) == f"🔐 Certificado digital de {PADARIA}"
    assert texts.ENVIAR_CERTIFICADO in chat.labels()
    chat.press(texts.VOLTAR)
    assert step_of(chat) == ("config", "inicio")
    chat.press(texts.VOLTAR)
    assert step_of(chat) == ("clientes", "gerenciar")


def test_a_cnpj_fragment_opens_the_card(chat: Chat, padaria: ClientCard) -> None:
    fragment = format_tax_id(padaria.documento)[:10]  # "10.000.00…" style, as people copy it
    chat.say("/menu")

    chat.say(f"cliente {fragment}")

    assert step_of(chat) == ("clientes", "card")
    assert first_line(chat) == f"🏢 {PADARIA}"


@pytest.mark.parametrize(
    ("typed", "place"),
    [
        ("novo cliente", ("novo", "escolha")),
        ("link novo cliente", ("link", "pagador")),
        ("links enviados", ("link", "lista")),
        ("faturas", ("dados", "faturas")),
        ("boleto", ("dados", "faturas")),  # no fatura pending: the list
        ("meus dados", ("dados", "inicio")),
        ("quero ver meus clientes", ("clientes", "lista")),
    ],
)
def test_shortcuts_without_a_client(chat: Chat, typed: str, place: tuple[str, str]) -> None:
    chat.say("/menu")

    chat.say(typed)

    assert step_of(chat) == place


def test_voltar_from_a_link_shortcut_returns_to_novo_cliente(chat: Chat) -> None:
    chat.say("/menu")
    chat.say("link novo cliente")

    chat.press(texts.VOLTAR)

    assert step_of(chat) == ("novo", "escolha")


def test_a_shortcut_as_the_very_first_message_works(chat: Chat, padaria: ClientCard) -> None:
    assert state_of(chat) is None

    chat.say("contrato padaria")

    assert step_of(chat) == ("config", "contrato")


# -- several, none, missing --


@pytest.mark.usefixtures("mercado")
def test_several_matches_offer_a_button_each_and_the_pick_lands(
    chat: Chat, padaria: ClientCard, estrela: ClientCard
) -> None:
    chat.say("/menu")

    chat.say("xml padaria outubro")

    assert step_of(chat) == ("atalho", "cliente")
    assert chat.last_text().text == texts.SHORTCUT_SEVERAL.format(
        feature="📦 XMLs emitidos — 10/2026", n=2, query="padaria"
    )
    assert chat.labels() == [ESTRELA, PADARIA, texts.CLIENTES, texts.CANCELAR]

    chat.press(ESTRELA)

    assert step_of(chat) == ("emitidos", "modelo")
    assert data_of(chat)["cid"] == estrela.id
    assert data_of(chat)["comp"] == "2026-10"


@pytest.mark.usefixtures("padaria", "estrela")
def test_typing_more_of_the_name_at_the_pick_narrows_it(chat: Chat) -> None:
    chat.say("/menu")
    chat.say("certificado padaria")

    chat.say("estrela")

    assert step_of(chat) == ("config", "cert")
    assert first_line(chat) == f"🔐 Certificado digital de {ESTRELA}"


@pytest.mark.usefixtures("padaria")
def test_no_match_says_so_and_suggests_the_list(chat: Chat) -> None:
    chat.say("/menu")

    chat.say("xml farmácia outubro")

    assert chat.last_text().text == texts.SHORTCUT_NONE.format(
        feature="📦 XMLs emitidos — 10/2026", query="farmacia"
    )
    assert chat.labels() == [texts.CLIENTES, texts.CANCELAR]
    chat.press(texts.CLIENTES)
    assert step_of(chat) == ("clientes", "lista")


@pytest.mark.usefixtures("mercado")
def test_a_missing_client_is_asked_with_the_month_kept(chat: Chat, padaria: ClientCard) -> None:
    chat.say("/menu")

    chat.say("relatório setembro")

    assert chat.last_text().text == texts.SHORTCUT_WHICH_CLIENT.format(
        feature="📊 Relatórios e documentos — 09/2026"
    )
    assert chat.labels() == [MERCADO, PADARIA, texts.CLIENTES, texts.CANCELAR]
    chat.press(PADARIA)
    assert step_of(chat) == ("relatorios", "modelo")
    assert data_of(chat)["comp"] == "2026-09"


def test_a_missing_month_is_asked(chat: Chat, padaria: ClientCard) -> None:
    chat.say("/menu")

    chat.say("xml padaria")

    assert step_of(chat) == ("emitidos", "mes")
    assert first_line(chat) == f"📦 XMLs emitidos de {PADARIA}"
    chat.press(texts.MES_ANTERIOR)
    assert data_of(chat)["comp"] == "2026-10"


def test_a_month_still_to_come_asks_the_month_saying_why(chat: Chat, padaria: ClientCard) -> None:
    chat.say("/menu")

    chat.say("xml padaria dezembro de 2026")

    assert step_of(chat) == ("emitidos", "mes")
    assert "12/2026 ainda não chegou" in chat.last_text().text


def test_the_client_on_screen_is_used_when_none_is_named(chat: Chat, padaria: ClientCard) -> None:
    chat.say("/menu")
    chat.press(texts.CLIENTES)
    chat.press(PADARIA)

    chat.say("relatório outubro")

    assert step_of(chat) == ("relatorios", "modelo")
    assert data_of(chat)["cid"] == padaria.id


# -- tenancy and the contador --


def test_another_gestors_client_never_matches(
    chat: Chat, office: Office, other_office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    theirs = add_client(uow_factory, other_office.gestor, 7, name="Padaria Alheia Ltda")
    chat.say("/menu")

    chat.say("xml padaria outubro")
    assert chat.last_text().text.startswith("📦 XMLs emitidos — 10/2026\nNão encontrei")

    chat.say("/menu")
    chat.say(f"cliente {theirs.documento[:8]}")
    assert step_of(chat) == ("atalho", "cliente")
    assert "Não encontrei" in chat.last_text().text


def test_a_forged_pick_of_another_gestors_client_is_not_found(
    chat: Chat, other_office: Office, padaria: ClientCard, uow_factory: UnitOfWorkFactory
) -> None:
    theirs = add_client(uow_factory, other_office.gestor, 7, name="Padaria Alheia Ltda")
    chat.say("/menu")
    chat.say("certificado")
    offer(chat, f"c:{theirs.id}")

    chat.press_id(f"c:{theirs.id}")

    assert step_of(chat) == ("atalho", "cliente")
    assert "Alheia" not in chat.last_text().text


@pytest.mark.usefixtures("padaria")
@pytest.mark.parametrize(
    "typed",
    [
        "xml padaria outubro",
        "certificado padaria",
        "gerenciar padaria",
        "novo cliente",
        "faturas",
        "link novo cliente",
    ],
)
def test_the_contador_cannot_reach_gestor_actions_by_typing(contador: Chat, typed: str) -> None:
    contador.say("/menu")

    contador.say(typed)

    assert step_of(contador) == ("menu", "inicio")
    assert contador.last_text().text == f"{texts.USE_BUTTONS}\n\n{texts.MENU_TEXT}"


def test_the_contador_opens_a_card_by_typing(contador: Chat, padaria: ClientCard) -> None:
    contador.say("/menu")

    contador.say("cliente padaria")

    assert step_of(contador) == ("clientes", "card")
    assert texts.GERENCIAR not in contador.labels()


def test_typing_gerenciar_at_a_card_stays_refused_for_the_contador(
    contador: Chat, padaria: ClientCard
) -> None:
    contador.say("/menu")
    contador.press(texts.CLIENTES)
    contador.press(PADARIA)

    contador.say("Gerenciar")

    assert step_of(contador) == ("clientes", "card")
    assert contador.last_text().text.startswith(texts.USE_BUTTONS)


# -- precedence --


@pytest.mark.usefixtures("padaria")
def test_at_the_list_a_name_is_still_a_search_and_a_shortcut_is_a_shortcut(
    chat: Chat, uow_factory: UnitOfWorkFactory, office: Office
) -> None:
    add_client(uow_factory, office.gestor, 4, name="Contrato Engenharia Ltda")
    chat.say("/menu")
    chat.press(texts.CLIENTES)

    chat.say("contrato engenharia")  # a client's name (with a keyword in it): a search
    assert chat.last_text().text.startswith("🔎 Clientes com “contrato engenharia” (1)")

    chat.press(texts.VER_TODOS)
    chat.say("padaria")
    assert step_of(chat) == ("clientes", "lista")
    assert chat.last_text().text.startswith("🔎 Clientes com “padaria” (1)")

    chat.say("xml padaria outubro")
    assert step_of(chat) == ("emitidos", "modelo")


@pytest.mark.usefixtures("padaria")
def test_at_the_list_text_that_is_neither_stays_an_empty_search(chat: Chat) -> None:
    chat.say("/menu")
    chat.press(texts.CLIENTES)

    chat.say("farmácia")

    assert chat.last_text().text.startswith(texts.LIST_SEARCH_EMPTY.format(query="farmácia"))


def test_at_the_month_question_a_month_is_the_answer_and_a_shortcut_is_a_shortcut(
    chat: Chat, padaria: ClientCard
) -> None:
    chat.say("/menu")
    chat.say("xml padaria")

    chat.say("set")
    assert step_of(chat) == ("emitidos", "modelo")
    assert data_of(chat)["comp"] == "2026-09"

    chat.press(texts.VOLTAR)
    chat.say("contrato")  # the client on screen
    assert step_of(chat) == ("config", "contrato")
    assert data_of(chat)["cid"] == padaria.id


def test_at_a_typed_step_a_shortcut_is_just_the_answer(chat: Chat, padaria: ClientCard) -> None:
    walk_to(chat, "documento")

    chat.say("xml padaria outubro")

    assert step_of(chat) == ("cadastro", "documento")


def test_a_cnpj_alone_at_the_menu_is_not_a_shortcut(chat: Chat, padaria: ClientCard) -> None:
    chat.say("/menu")

    chat.say(format_tax_id(padaria.documento))

    assert step_of(chat) == ("menu", "inicio")
    assert chat.last_text().text == f"{texts.USE_BUTTONS}\n\n{texts.MENU_TEXT}"


def test_ajuda_lists_shortcut_examples(chat: Chat) -> None:
    chat.say("/menu")

    chat.say("/ajuda")

    help_shown = chat.received[-2].text  # type: ignore[union-attr]
    for example in ("xml padaria outubro", "nfce padaria 10/2026", "cliente 45.997.418"):
        assert example in help_shown


def test_boleto_opens_the_pending_fatura_with_gerar_boleto(
    chat: Chat, office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    fatura = make_fatura(uow_factory, office.gestor, n=9)
    chat.say("/menu")

    chat.say("2ª via do boleto")

    assert step_of(chat) == ("dados", "fatura")
    assert data_of(chat)["fid"] == fatura.id
    assert first_line(chat) == "🧾 Boleto da fatura 10/2026"
    assert texts.GERAR_BOLETO in chat.labels()
    chat.press(texts.VOLTAR)
    assert step_of(chat) == ("dados", "faturas")


def test_a_model_without_a_month_asks_only_the_month_then_sends_the_zip(
    chat: Chat, padaria: ClientCard, uow_factory: UnitOfWorkFactory
) -> None:
    store_emitted(uow_factory, padaria, 2, modelo="65")
    chat.say("/menu")

    chat.say("nfce padaria")

    assert chat.last_text().text.startswith(f"📦 XMLs emitidos de {PADARIA} — NFC-e\n\n")
    assert chat.labels()[:3] == [texts.MES_ANTERIOR, texts.MES_ATUAL, texts.OUTRO_MES]
    chat.say("outubro")  # typed, as at the month question of the buttons

    [document] = chat.documents()
    assert document.name == "Padaria-Pao-Quente-Ltda_2026-10_NFCe.zip"
    assert step_of(chat) == ("emitidos", "modelo")
    chat.press(texts.VOLTAR)
    assert step_of(chat) == ("emitidos", "mes")


def test_a_model_without_a_month_voltar_returns_to_gerenciar(
    chat: Chat, padaria: ClientCard
) -> None:
    chat.say("/menu")
    chat.say("relatorio padaria nfe")

    chat.press(texts.VOLTAR)

    assert step_of(chat) == ("clientes", "gerenciar")
    assert data_of(chat)["cid"] == padaria.id
