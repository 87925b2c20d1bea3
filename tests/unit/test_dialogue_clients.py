"""Clientes: the list, pages, search, the card, Gerenciar; tenancy and the contador role."""

from __future__ import annotations

import pytest

from domain.clients import Payer, Role
from handlers import texts
from services import catalog, clients
from services.access import resolve_principal
from services.errors import Forbidden, NotFound
from services.types import UnitOfWorkFactory
from tests.support import Chat, Office, add_client, add_member, cnpj
from tests.unit.helpers import (
    GOOD,
    client_count,
    move_client,
    offer,
    step_of,
    texts_of,
)


def open_list(chat: Chat) -> None:
    chat.say("/menu")
    chat.press(texts.CLIENTES)


def list_lines(chat: Chat) -> list[str]:
    """The numbered client lines of the last list shown."""
    return [line for line in chat.last_text().text.splitlines() if line[:1].isdigit()]


@pytest.fixture
def contador(uow_factory: UnitOfWorkFactory, office: Office, chat: Chat) -> Chat:
    """A contador of office 1, in a chat of its own."""
    add_member(uow_factory, office, "test:carol", Role.CONTADOR)
    return Chat(chat.engine, uow_factory, identity_key="test:carol")


# -- the list and its pages -----------------------------------------------------------------


def test_an_office_without_clients_is_told_how_to_add_the_first(
    chat: Chat, office: Office
) -> None:
    open_list(chat)

    assert chat.last_text().text == texts.LIST_EMPTY
    assert chat.labels() == [texts.MENU]


def test_the_list_shows_name_formatted_document_and_status(
    chat: Chat, office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    add_client(uow_factory, office.gestor, 2, name="Beta Comércio Ltda")
    add_client(uow_factory, office.gestor, 1, name="Alfa Serviços Ltda")

    open_list(chat)

    doc_1 = f"{cnpj(1)[:2]}.{cnpj(1)[2:5]}.{cnpj(1)[5:8]}/{cnpj(1)[8:12]}-{cnpj(1)[12:]}"
    assert chat.last_text().text.startswith(texts.LIST_HEADER.format(total=2, page=1, pages=1))
    assert list_lines(chat)[0] == f"1. Alfa Serviços Ltda — {doc_1} — Teste"
    assert list_lines(chat)[1].startswith("2. Beta Comércio Ltda — ")
    assert chat.last_text().text.endswith(texts.LIST_HINT)
    assert chat.labels() == ["Alfa Serviços Ltda", "Beta Comércio Ltda", texts.MENU]


def test_twenty_clients_make_three_pages_of_eight(
    chat: Chat, office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    for n in range(1, 21):
        add_client(uow_factory, office.gestor, n)

    open_list(chat)
    first = chat.last_text().text
    assert first.startswith(texts.LIST_HEADER.format(total=20, page=1, pages=3))
    assert [line.split(".")[0] for line in list_lines(chat)] == [str(n) for n in range(1, 9)]
    assert chat.labels()[-2:] == [texts.PROXIMA, texts.MENU]
    assert texts.ANTERIOR not in chat.labels()

    chat.press(texts.PROXIMA)
    assert chat.last_text().text.startswith(texts.LIST_HEADER.format(total=20, page=2, pages=3))
    assert list_lines(chat)[0].startswith("9. Cliente 009 Ltda")
    assert chat.labels()[-3:] == [texts.ANTERIOR, texts.PROXIMA, texts.MENU]

    chat.press(texts.PROXIMA)
    assert chat.last_text().text.startswith(texts.LIST_HEADER.format(total=20, page=3, pages=3))
    assert [line.split(" ")[1] for line in list_lines(chat)] == ["Cliente"] * 4
    assert list_lines(chat)[-1].startswith("20. Cliente 020 Ltda")
    assert chat.labels()[-2:] == [texts.ANTERIOR, texts.MENU]
    assert texts.PROXIMA not in chat.labels()

    chat.press(texts.ANTERIOR)
    assert chat.last_text().text.startswith(texts.LIST_HEADER.format(total=20, page=2, pages=3))


def test_a_client_button_on_the_second_page_opens_that_client(
    chat: Chat, office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    for n in range(1, 11):
        add_client(uow_factory, office.gestor, n)
    open_list(chat)
    chat.press(texts.PROXIMA)

    chat.press("Cliente 010 Ltda")

    assert chat.last_text().text.startswith("🏢 Cliente 010 Ltda\n")
    assert step_of(chat) == ("clientes", "card")


def test_voltar_from_a_card_returns_to_the_same_page(
    chat: Chat, office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    for n in range(1, 11):
        add_client(uow_factory, office.gestor, n)
    open_list(chat)
    chat.press(texts.PROXIMA)
    chat.press("Cliente 009 Ltda")

    chat.press(texts.VOLTAR)

    assert chat.last_text().text.startswith(texts.LIST_HEADER.format(total=10, page=2, pages=2))


# -- search ---------------------------------------------------------------------------------


@pytest.fixture
def named_clients(office: Office, uow_factory: UnitOfWorkFactory) -> dict[str, int]:
    names = {
        1: "São Jorge Materiais Ltda",
        2: "Padaria Sao Bento Ltda",
        3: "Auto Peças Ipiranga Ltda",
        4: "Mercado Central Ltda",
    }
    return {
        name: add_client(uow_factory, office.gestor, n, name=name).id for n, name in names.items()
    }


@pytest.mark.usefixtures("named_clients")
@pytest.mark.parametrize("query", ["sao", "SÃO", "São"])
def test_search_by_part_of_the_name_ignores_accents_and_case(chat: Chat, query: str) -> None:
    open_list(chat)

    chat.say(query)

    assert chat.last_text().text.startswith(
        texts.LIST_HEADER_SEARCH.format(query=query, total=2, page=1, pages=1)
    )
    assert chat.labels() == [
        "Padaria Sao Bento Ltda",
        "São Jorge Materiais Ltda",
        texts.VER_TODOS,
        texts.MENU,
    ]


@pytest.mark.usefixtures("named_clients")
def test_search_finds_a_word_in_the_middle_of_the_name(chat: Chat) -> None:
    open_list(chat)

    chat.say("pecas")

    assert chat.labels()[0] == "Auto Peças Ipiranga Ltda"
    assert len(list_lines(chat)) == 1


@pytest.mark.usefixtures("named_clients")
@pytest.mark.parametrize("punctuated", [True, False])
def test_search_by_cnpj_digits_with_or_without_punctuation(chat: Chat, punctuated: bool) -> None:
    doc = cnpj(3)
    query = f"{doc[:2]}.{doc[2:5]}.{doc[5:8]}/{doc[8:12]}-{doc[12:]}" if punctuated else doc
    open_list(chat)

    chat.say(query)

    assert chat.labels() == ["Auto Peças Ipiranga Ltda", texts.VER_TODOS, texts.MENU]


@pytest.mark.usefixtures("named_clients")
def test_search_by_the_start_of_a_cnpj_finds_that_client(chat: Chat) -> None:
    open_list(chat)

    chat.say(cnpj(4)[:8])

    assert chat.labels() == ["Mercado Central Ltda", texts.VER_TODOS, texts.MENU]


@pytest.mark.usefixtures("named_clients")
def test_a_search_without_results_says_so_and_offers_ver_todos(chat: Chat) -> None:
    open_list(chat)

    chat.say("farmácia")

    assert chat.last_text().text == texts.LIST_SEARCH_EMPTY.format(query="farmácia")
    assert chat.labels() == [texts.VER_TODOS, texts.MENU]


@pytest.mark.usefixtures("named_clients")
def test_ver_todos_clears_the_search(chat: Chat) -> None:
    open_list(chat)
    chat.say("farmácia")

    chat.press(texts.VER_TODOS)

    assert chat.last_text().text.startswith(texts.LIST_HEADER.format(total=4, page=1, pages=1))
    assert len(list_lines(chat)) == 4


@pytest.mark.usefixtures("named_clients")
def test_a_one_letter_search_is_refused(chat: Chat) -> None:
    open_list(chat)

    chat.say("s")

    shown = chat.last_text().text
    assert shown.startswith(texts.INVALID_PREFIX.format(message=texts.SEARCH_TOO_SHORT))
    assert texts.LIST_HEADER.format(total=4, page=1, pages=1) in shown


def test_search_never_shows_another_gestors_clients(
    chat: Chat, office: Office, other_office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    add_client(uow_factory, other_office.gestor, 8, name="São Paulo Distribuidora Ltda")
    add_client(uow_factory, office.gestor, 9, name="Loja Azul Ltda")
    open_list(chat)

    chat.say("sao")

    assert chat.last_text().text == texts.LIST_SEARCH_EMPTY.format(query="sao")


# -- the card and Gerenciar -----------------------------------------------------------------


def test_the_card_shows_the_clients_data(
    chat: Chat, office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    add_client(uow_factory, office.gestor, 1, name="Alfa Serviços Ltda", payer=Payer.CLIENTE)
    open_list(chat)

    chat.press("Alfa Serviços Ltda")

    shown = chat.last_text().text
    assert shown.startswith("🏢 Alfa Serviços Ltda\nCNPJ: ")
    software = catalog.list_softwares(uow_factory())[0]
    assert f"Software: {software.name}\n" in shown
    assert f"Plano: {software.plans[0].name} — R$ 79,90/mês\n" in shown
    assert "Status: Teste\n" in shown
    assert "Responsável pelo pagamento da mensalidade: Cliente\n" in shown
    assert "E-mail (login): cliente1@empresa1.com.br\n" in shown
    assert "Telefone: (11) 98765-4321\n" in shown
    assert "Endereço: Av. Paulista, 1000 - Bela Vista - São Paulo/SP — CEP 01310-100\n" in shown
    assert chat.labels() == [texts.GERENCIAR, texts.HISTORICO, texts.VOLTAR, texts.MENU]


def test_gerenciar_offers_the_five_actions(
    chat: Chat, office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    add_client(uow_factory, office.gestor, 1)
    open_list(chat)
    chat.press("Cliente 001 Ltda")

    chat.press(texts.GERENCIAR)

    assert chat.last_text().text == texts.GERENCIAR_TEXT.format(name="Cliente 001 Ltda")
    assert chat.labels() == [
        texts.ACESSAR_SOFTWARE,
        texts.RELATORIOS,
        texts.XMLS_FORNECEDORES,
        texts.XMLS_EMITIDOS,
        texts.CONFIGURACOES,
        texts.VOLTAR,
        texts.MENU,
    ]


# -- tenancy --------------------------------------------------------------------------------


def test_another_gestors_client_is_not_found_by_the_services(
    office: Office, other_office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    theirs = add_client(uow_factory, other_office.gestor, 3)

    with pytest.raises(NotFound) as caught:
        clients.get_client(uow_factory(), office.gestor, theirs.id)
    assert caught.value.message == "Cliente não encontrado."
    with pytest.raises(NotFound):
        clients.open_management(uow_factory(), office.gestor, theirs.id)
    assert clients.get_client(uow_factory(), other_office.gestor, theirs.id).id == theirs.id


def test_a_client_id_that_does_not_exist_is_not_found(
    office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    with pytest.raises(NotFound):
        clients.get_client(uow_factory(), office.gestor, 999_999)


def test_an_offered_id_of_another_gestors_client_is_not_found_in_the_dialogue(
    chat: Chat, office: Office, other_office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    add_client(uow_factory, office.gestor, 1)
    theirs = add_client(uow_factory, other_office.gestor, 2, name="Cliente Alheio Ltda")
    open_list(chat)
    offer(chat, f"c:{theirs.id}")

    chat.press_id(f"c:{theirs.id}")

    shown = chat.last_text().text
    assert shown.startswith("⚠️ Cliente não encontrado.")
    assert "Cliente Alheio" not in shown
    assert step_of(chat) == ("clientes", "lista")


def test_a_client_moved_to_another_gestor_between_list_and_press_is_not_found(
    chat: Chat, office: Office, other_office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    mine = add_client(uow_factory, office.gestor, 1, name="Cliente Que Saiu Ltda")
    open_list(chat)
    move_client(uow_factory, mine.id, other_office.gestor.gestor_id)

    chat.press("Cliente Que Saiu Ltda")

    assert chat.last_text().text.startswith("⚠️ Cliente não encontrado.")
    assert "Cliente Que Saiu" not in chat.last_text().text.split("\n\n", 1)[1]


def test_a_client_moved_away_while_its_card_is_open_is_not_found_at_gerenciar(
    chat: Chat, office: Office, other_office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    mine = add_client(uow_factory, office.gestor, 1)
    open_list(chat)
    chat.press("Cliente 001 Ltda")
    move_client(uow_factory, mine.id, other_office.gestor.gestor_id)

    chat.press(texts.GERENCIAR)

    assert any("Cliente não encontrado" in text for text in texts_of(chat.received[-2:]))
    assert "Cliente 001" not in chat.last_text().text
    assert step_of(chat) != ("clientes", "gerenciar")


# -- the contador role ----------------------------------------------------------------------


def test_a_contador_sees_the_list_and_the_card_without_gerenciar(
    contador: Chat, office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    add_client(uow_factory, office.gestor, 1)
    open_list(contador)
    assert contador.labels() == ["Cliente 001 Ltda", texts.MENU]

    contador.press("Cliente 001 Ltda")

    assert contador.last_text().text.startswith("🏢 Cliente 001 Ltda\n")
    assert contador.labels() == [texts.VOLTAR, texts.MENU]


def test_a_forged_gerenciar_press_from_a_contador_is_refused(
    contador: Chat, office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    add_client(uow_factory, office.gestor, 1)
    open_list(contador)
    contador.press("Cliente 001 Ltda")

    replies = contador.press_id("g:open")

    assert texts_of(replies) == [texts.EXPIRED, texts.MENU_TEXT]
    assert step_of(contador) == ("menu", "inicio")


def test_a_gerenciar_press_a_contador_slipped_into_the_state_is_refused(
    contador: Chat, office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    add_client(uow_factory, office.gestor, 1)
    open_list(contador)
    contador.press("Cliente 001 Ltda")
    offer(contador, "g:open")

    contador.press_id("g:open")

    shown = contador.last_text().text
    assert shown.startswith(f"⚠️ {Forbidden.message}")
    assert texts.ACESSAR_SOFTWARE not in shown
    assert step_of(contador) == ("clientes", "card")


def test_open_management_is_forbidden_to_a_contador(
    contador: Chat, office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    mine = add_client(uow_factory, office.gestor, 1)
    with uow_factory() as uow:
        principal = resolve_principal(uow, contador.identity_key)
    assert principal is not None
    assert principal.role is Role.CONTADOR

    assert clients.get_client(uow_factory(), principal, mine.id).id == mine.id
    with pytest.raises(Forbidden):
        clients.open_management(uow_factory(), principal, mine.id)


def test_register_client_is_forbidden_to_a_contador(
    contador: Chat, office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    principal = add_member(uow_factory, office, "test:dave", Role.CONTADOR)
    software = catalog.list_softwares(uow_factory())[0]
    new = clients.NewClient(
        payer=Payer.GESTOR,
        software_id=software.id,
        plan_id=software.plans[0].id,
        documento=GOOD["documento"],
        razao_social=GOOD["razao"],
        nome_fantasia=None,
        email=GOOD["email"],
        telefone=GOOD["telefone"],
        cep=GOOD["cep"],
        endereco=GOOD["endereco"],
    )

    with pytest.raises(Forbidden):
        clients.register_client(uow_factory(), principal, new)
    assert client_count(uow_factory) == 0


def test_novo_cadastro_is_refused_to_a_contador_in_the_dialogue(
    contador: Chat, uow_factory: UnitOfWorkFactory
) -> None:
    contador.say("/menu")
    assert texts.NOVO_CLIENTE not in contador.labels()

    contador.press_id("m:novo")  # forged: never offered to a contador

    assert contador.received[-2].text == texts.EXPIRED  # type: ignore[union-attr]
    assert step_of(contador) == ("menu", "inicio")
    assert client_count(uow_factory) == 0
