"""Novo cliente → Novo cadastro through the collecting chat, step by step, good and bad input."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, event

from domain.clients import Payer
from handlers import texts
from services import integration_keys
from services.messages import Text
from services.types import UnitOfWorkFactory
from tests.support import Chat, Office, add_client, cnpj
from tests.unit.helpers import (
    GOOD,
    QUESTIONS,
    STEPS,
    audit_entries,
    client_count,
    open_cadastro,
    state_of,
    step_of,
    stored_clients,
    texts_of,
    walk_to,
)

pytestmark = pytest.mark.usefixtures("office")
NOW = datetime.now(UTC)


def reasked(message: str, question: str) -> str:
    """What the person sees when an answer is refused: the reason, then the same question."""
    return f"{texts.INVALID_PREFIX.format(message=message)}\n\n{question}"


# -- Novo cliente ---------------------------------------------------------------------------


def test_novo_cliente_offers_the_link_and_novo_cadastro(chat: Chat) -> None:
    chat.say("/menu")
    chat.press(texts.NOVO_CLIENTE)

    assert chat.last_text().text == texts.NOVO_TEXT
    assert chat.labels() == [texts.ENVIAR_LINK, texts.NOVO_CADASTRO, texts.MENU]


def test_enviar_link_de_contratacao_opens_the_link_flow(chat: Chat) -> None:
    chat.say("/menu")
    chat.press(texts.NOVO_CLIENTE)
    chat.press(texts.ENVIAR_LINK)

    assert chat.last_text().text == texts.LINK_ASK_PAYER
    assert step_of(chat) == ("link", "pagador")


# -- payer, software, plan ------------------------------------------------------------------


def test_novo_cadastro_first_asks_who_pays(chat: Chat) -> None:
    open_cadastro(chat)

    assert chat.last_text().text == texts.ASK_PAYER
    assert chat.labels() == [texts.GESTOR, texts.CLIENTE, texts.CANCELAR]
    assert step_of(chat) == ("cadastro", "pagador")


def test_free_text_where_a_button_is_expected_reprompts_without_changing_state(
    chat: Chat,
) -> None:
    open_cadastro(chat)
    before = state_of(chat)

    chat.say("o gestor paga")

    after = state_of(chat)
    assert chat.last_text().text == f"{texts.USE_BUTTONS}\n\n{texts.ASK_PAYER}"
    assert chat.labels() == [texts.GESTOR, texts.CLIENTE, texts.CANCELAR]
    assert before is not None
    assert after is not None
    assert (after.flow, after.step) == (before.flow, before.step)
    assert "payer" not in after.data


def test_a_file_where_none_is_expected_reprompts(chat: Chat) -> None:
    walk_to(chat, "documento")

    chat.send_file("contrato.pdf", "application/pdf")

    assert chat.last_text().text == f"{texts.NO_FILE_HERE}\n\n{texts.ASK_DOC}"
    assert step_of(chat) == ("cadastro", "documento")


def test_the_software_question_lists_the_catalog(chat: Chat) -> None:
    walk_to(chat, "software")

    assert chat.last_text().text == texts.ASK_SOFTWARE
    assert chat.labels() == ["FazNota", "FazNota PDV", texts.VOLTAR, texts.CANCELAR]


def test_when_the_gestor_pays_the_plans_show_half_the_list_price(chat: Chat) -> None:
    walk_to(chat, "plano", payer=texts.GESTOR)

    header = texts.ASK_PLAN.format(software="FazNota", payer=texts.GESTOR)
    lines = [
        texts.PLAN_LINE_GESTOR.format(plan=plan, price=price, list_price=full)
        for plan, price, full in [
            ("Bronze", "R$ 39,95", "R$ 79,90"),
            ("Prata", "R$ 59,95", "R$ 119,90"),
            ("Ouro", "R$ 89,95", "R$ 179,90"),
            ("Diamante", "R$ 149,95", "R$ 299,90"),
        ]
    ]
    assert chat.last_text().text == "\n".join([header, *lines])
    assert chat.labels() == [
        "Bronze — R$ 39,95",
        "Prata — R$ 59,95",
        "Ouro — R$ 89,95",
        "Diamante — R$ 149,95",
        texts.VOLTAR,
        texts.CANCELAR,
    ]


def test_when_the_cliente_pays_the_plans_show_the_full_price(chat: Chat) -> None:
    walk_to(chat, "plano", payer=texts.CLIENTE, software="FazNota PDV")

    header = texts.ASK_PLAN.format(software="FazNota PDV", payer=texts.CLIENTE)
    lines = [
        texts.PLAN_LINE.format(plan="1 caixa", price="R$ 69,90"),
        texts.PLAN_LINE.format(plan="Até 3 caixas", price="R$ 149,90"),
    ]
    assert chat.last_text().text == "\n".join([header, *lines])
    assert chat.labels()[:2] == ["1 caixa — R$ 69,90", "Até 3 caixas — R$ 149,90"]


def test_choosing_a_plan_asks_the_document(chat: Chat) -> None:
    walk_to(chat, "plano")

    chat.press("Ouro — R$ 89,95")

    assert chat.last_text().text == texts.ASK_DOC
    assert chat.labels() == [texts.VOLTAR, texts.CANCELAR]
    assert step_of(chat) == ("cadastro", "documento")


# -- CPF/CNPJ -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        ("11.222.333/0001-82", "CNPJ não é válido"),
        ("529.982.247-24", "CPF não é válido"),
        ("12ABC34501DE36", "CNPJ não é válido"),
        ("11111111111111", "CNPJ com todos os dígitos iguais não existe"),
        ("000.000.000-00", "CPF com todos os dígitos iguais não existe"),
        ("1234", "Não reconheci um CPF"),
    ],
)
def test_an_invalid_document_is_refused_and_asked_again(
    chat: Chat, typed: str, words: str
) -> None:
    walk_to(chat, "documento")

    chat.say(typed)

    shown = chat.last_text().text
    assert shown.startswith("⚠️ ")
    assert words in shown
    assert shown.endswith(f"\n\n{texts.ASK_DOC}")
    assert step_of(chat) == ("cadastro", "documento")


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("529.982.247-25", "52998224725"),
        ("11222333000181", "11222333000181"),
        ("12.abc.345/01de-35", "12ABC34501DE35"),
    ],
)
def test_a_valid_cpf_or_cnpj_moves_on_to_the_razao_social(
    chat: Chat, typed: str, stored: str
) -> None:
    walk_to(chat, "documento")

    chat.say(typed)

    state = state_of(chat)
    assert chat.last_text().text == texts.ASK_RAZAO
    assert state is not None
    assert state.step == "razao"
    assert state.data["documento"] == stored


def test_the_document_of_one_of_the_gestors_clients_is_refused_naming_it(
    chat: Chat, office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    add_client(uow_factory, office.gestor, 5, name="Mercearia Dois Irmãos Ltda")
    walk_to(chat, "documento")

    chat.say(cnpj(5))

    shown = chat.last_text().text
    assert "Mercearia Dois Irmãos Ltda" in shown
    assert "já é do seu cliente" in shown
    assert shown.endswith(texts.ASK_DOC)
    assert step_of(chat) == ("cadastro", "documento")


def test_the_document_of_another_gestors_client_is_refused_without_naming_it(
    chat: Chat, other_office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    add_client(uow_factory, other_office.gestor, 7, name="Segredo Comercial Ltda")
    walk_to(chat, "documento")

    chat.say(cnpj(7))

    shown = chat.last_text().text
    assert "outro gestor" in shown
    assert "Segredo" not in shown
    assert step_of(chat) == ("cadastro", "documento")


# -- razão social, nome fantasia ------------------------------------------------------------


def test_a_razao_social_too_short_is_refused(chat: Chat) -> None:
    walk_to(chat, "razao")

    chat.say("X")

    assert chat.last_text().text == reasked(
        "A razão social precisa ter pelo menos 2 letras. Digite de novo.", texts.ASK_RAZAO
    )
    assert step_of(chat) == ("cadastro", "razao")


def test_the_nome_fantasia_can_be_skipped(chat: Chat) -> None:
    walk_to(chat, "fantasia")
    assert chat.labels() == [texts.PULAR, texts.VOLTAR, texts.CANCELAR]

    chat.press(texts.PULAR)

    state = state_of(chat)
    assert chat.last_text().text == texts.ASK_EMAIL
    assert state is not None
    assert state.step == "email"
    assert state.data["fantasia"] is None


def test_a_typed_nome_fantasia_is_kept(chat: Chat) -> None:
    walk_to(chat, "fantasia")

    chat.say("  Pão   Quente ")

    state = state_of(chat)
    assert state is not None
    assert state.data["fantasia"] == "Pão Quente"


# -- e-mail, telefone, CEP, endereço --------------------------------------------------------


def test_an_invalid_email_is_refused(chat: Chat) -> None:
    walk_to(chat, "email")

    chat.say("contato@")

    shown = chat.last_text().text
    assert shown.startswith("⚠️ Este e-mail não parece válido")
    assert shown.endswith(f"\n\n{texts.ASK_EMAIL}")
    assert step_of(chat) == ("cadastro", "email")


def test_one_of_the_gestors_own_emails_is_warned_and_asked_again(
    chat: Chat, office: Office
) -> None:
    walk_to(chat, "email")

    chat.say(office.email.upper())

    assert chat.last_text().text == reasked(
        texts.OWN_EMAIL.format(email=office.email), texts.ASK_EMAIL
    )
    assert chat.last_text().text.count("⚠️") == 1
    assert step_of(chat) == ("cadastro", "email")


def test_any_of_the_gestors_linked_emails_is_warned(
    chat: Chat, office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    with uow_factory() as uow:
        uow.gestores.add_email(office.gestor.gestor_id, "financeiro@escritorio1.com.br", NOW)
        uow.commit()
    walk_to(chat, "email")

    chat.say("financeiro@escritorio1.com.br")

    assert chat.last_text().text.startswith(
        texts.INVALID_PREFIX.format(
            message=texts.OWN_EMAIL.format(email="financeiro@escritorio1.com.br")
        )
    )
    assert step_of(chat) == ("cadastro", "email")


def test_another_gestors_email_is_not_the_gestors_own(chat: Chat, other_office: Office) -> None:
    walk_to(chat, "email")

    chat.say(other_office.email)

    assert chat.last_text().text == texts.ASK_PHONE


@pytest.mark.parametrize("typed", ["(20) 98765-4321", "9876-54"])
def test_an_invalid_phone_is_refused(chat: Chat, typed: str) -> None:
    walk_to(chat, "telefone")

    chat.say(typed)

    shown = chat.last_text().text
    assert shown.startswith("⚠️ Este telefone não é válido")
    assert shown.endswith(f"\n\n{texts.ASK_PHONE}")
    assert step_of(chat) == ("cadastro", "telefone")


def test_the_phone_is_kept_in_e164(chat: Chat) -> None:
    walk_to(chat, "telefone")

    chat.say("(21) 3333-4444")

    state = state_of(chat)
    assert chat.last_text().text == texts.ASK_CEP
    assert state is not None
    assert state.data["telefone"] == "+552133334444"


def test_an_invalid_cep_is_refused(chat: Chat) -> None:
    walk_to(chat, "cep")

    chat.say("1310-100")

    assert chat.last_text().text == reasked(
        "O CEP tem 8 números, por exemplo 01310-100. Digite de novo.", texts.ASK_CEP
    )
    assert step_of(chat) == ("cadastro", "cep")


def test_an_address_without_the_uf_is_refused(chat: Chat) -> None:
    walk_to(chat, "endereco")

    chat.say("Rua das Flores, 123 - Centro")

    shown = chat.last_text().text
    assert shown.startswith("⚠️ Faltou a cidade e o estado no fim do endereço.")
    assert shown.endswith(f"\n\n{texts.ASK_ADDRESS}")
    assert step_of(chat) == ("cadastro", "endereco")


@pytest.mark.parametrize("step", list(QUESTIONS))
def test_every_typed_step_asks_its_question_with_voltar_and_cancelar(
    chat: Chat, step: str
) -> None:
    walk_to(chat, step)

    assert chat.last_text().text == QUESTIONS[step]
    assert chat.labels()[-2:] == [texts.VOLTAR, texts.CANCELAR]


# -- summary and Cadastrar ------------------------------------------------------------------


def test_the_summary_shows_everything_collected(chat: Chat) -> None:
    walk_to(chat, "resumo", plan=1)

    assert chat.last_text().text == texts.SUMMARY.format(
        payer=texts.GESTOR,
        software="FazNota",
        plano="Prata",
        price="R$ 59,95",
        doc_label="CNPJ",
        doc="11.222.333/0001-81",
        razao="Padaria Pão Quente Ltda",
        fantasia="Pão Quente",
        email="contato@paoquente.com.br",
        telefone="(11) 98765-4321",
        cep="01310-100",
        endereco="Av. Paulista, 1000 - Bela Vista - São Paulo/SP",
    )
    assert chat.labels() == [texts.CADASTRAR, texts.VOLTAR, texts.CANCELAR]


def test_the_summary_of_a_cpf_paid_by_the_cliente_without_fantasia(chat: Chat) -> None:
    open_cadastro(chat)
    chat.press(texts.CLIENTE)
    chat.press("FazNota")
    chat.press("Bronze — R$ 79,90")
    chat.say("529.982.247-25")
    chat.say("Maria da Silva")
    chat.press(texts.PULAR)
    for step in ("email", "telefone", "cep", "endereco"):
        chat.say(GOOD[step])

    shown = chat.last_text().text
    assert "Responsável pelo pagamento da mensalidade: Cliente\n" in shown
    assert "Plano: Bronze — R$ 79,90/mês\n" in shown
    assert "CPF: 529.982.247-25\n" in shown
    assert f"Nome fantasia: {texts.NOT_INFORMED}\n" in shown


def test_cadastrar_stores_the_client_in_teste_and_shows_its_card(
    chat: Chat, office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    walk_to(chat, "resumo")

    replies = chat.press(texts.CADASTRAR)

    [client] = stored_clients(uow_factory)
    assert client.gestor_id == office.gestor.gestor_id
    assert client.documento == "11222333000181"
    assert client.razao_social == "Padaria Pão Quente Ltda"
    assert client.nome_fantasia == "Pão Quente"
    assert client.email == "contato@paoquente.com.br"
    assert client.telefone == "+5511987654321"
    assert client.cep == "01310100"
    assert (client.endereco, client.cidade, client.uf) == (
        "Av. Paulista, 1000 - Bela Vista",
        "São Paulo",
        "SP",
    )
    assert client.status == "teste"
    assert client.payer == Payer.GESTOR.value
    assert client.created_via == "cadastro"

    [entry] = audit_entries(uow_factory, client.id)
    assert entry.action == "client.register"
    assert entry.actor == chat.identity_key
    assert entry.gestor_id == office.gestor.gestor_id
    assert entry.after is not None
    assert entry.after["documento"] == "11222333000181"

    done, key_message, card = texts_of(replies)
    assert done == texts.REGISTERED.format(name="Padaria Pão Quente Ltda")
    key = key_message.rsplit("\n", 1)[1]
    assert key_message == texts.NEW_KEY.format(key=key)
    assert replies[1] == Text(key_message, code=(key,))  # as code: one tap copies it
    assert integration_keys.authenticate(uow_factory(), key).client_id == client.id
    assert key not in str(entry.after)  # the audit trail never holds the key
    today = datetime.now(ZoneInfo("America/Sao_Paulo")).strftime("%d/%m/%Y")
    assert card.startswith("🏢 Padaria Pão Quente Ltda\nNome fantasia: Pão Quente\n")
    assert "CNPJ: 11.222.333/0001-81\n" in card
    assert "Plano: Bronze — R$ 39,95/mês\n" in card
    assert "Status: Teste\n" in card
    assert "Responsável pelo pagamento da mensalidade: Gestor\n" in card
    assert "Telefone: (11) 98765-4321\n" in card
    assert card.endswith(f"Cliente desde: {today}")
    assert texts.GERENCIAR in chat.labels()
    assert step_of(chat) == ("clientes", "card")


def test_the_registered_client_appears_in_the_list(chat: Chat) -> None:
    walk_to(chat, "resumo")
    chat.press(texts.CADASTRAR)

    chat.say("/menu")
    chat.press(texts.CLIENTES)

    assert "1. Padaria Pão Quente Ltda — 11.222.333/0001-81 — Teste" in chat.last_text().text


def test_a_client_paid_by_the_cliente_is_stored_with_that_payer(
    chat: Chat, uow_factory: UnitOfWorkFactory
) -> None:
    walk_to(chat, "resumo", payer=texts.CLIENTE)

    chat.press(texts.CADASTRAR)

    [client] = stored_clients(uow_factory)
    assert client.payer == Payer.CLIENTE.value
    assert "Plano: Bronze — R$ 79,90/mês\n" in chat.last_text().text


def test_pressing_cadastrar_twice_registers_once(
    chat: Chat, uow_factory: UnitOfWorkFactory
) -> None:
    walk_to(chat, "resumo")
    confirm = chat.button_id(texts.CADASTRAR)

    chat.press_id(confirm)
    card = chat.last_text().text
    chat.press_id(confirm)

    assert client_count(uow_factory) == 1
    assert texts_of(chat.received[-2:]) == [texts.EXPIRED_KEPT, card]
    assert step_of(chat) == ("clientes", "card")


def test_a_document_taken_while_the_summary_was_open_is_refused_at_cadastrar(
    chat: Chat, other_office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    walk_to(chat, "resumo", answers={"documento": cnpj(40)})
    add_client(uow_factory, other_office.gestor, 40)

    chat.press(texts.CADASTRAR)

    assert client_count(uow_factory) == 1
    assert "outro gestor" in chat.last_text().text


# -- Voltar, Cancelar -----------------------------------------------------------------------


def test_voltar_goes_back_one_step(chat: Chat) -> None:
    walk_to(chat, "razao")

    chat.press(texts.VOLTAR)

    assert chat.last_text().text == texts.ASK_DOC
    assert step_of(chat) == ("cadastro", "documento")


def test_voltar_lets_the_previous_answer_be_changed(chat: Chat) -> None:
    walk_to(chat, "razao")
    chat.press(texts.VOLTAR)

    chat.say("529.982.247-25")
    for step in ("razao", "fantasia", "email", "telefone", "cep", "endereco"):
        chat.say(GOOD[step])

    shown = chat.last_text().text
    assert "CPF: 529.982.247-25\n" in shown
    assert "11.222.333/0001-81" not in shown


def test_voltar_twice_reaches_the_payer_and_changing_it_changes_the_prices(chat: Chat) -> None:
    walk_to(chat, "plano", payer=texts.GESTOR)
    chat.press(texts.VOLTAR)
    chat.press(texts.VOLTAR)
    assert chat.last_text().text == texts.ASK_PAYER

    chat.press(texts.CLIENTE)
    chat.press("FazNota")

    assert texts.PLAN_LINE.format(plan="Bronze", price="R$ 79,90") in chat.last_text().text
    assert "50% para o gestor" not in chat.last_text().text


def test_voltar_from_the_summary_returns_to_the_address(chat: Chat) -> None:
    walk_to(chat, "resumo")

    chat.press(texts.VOLTAR)

    assert chat.last_text().text == texts.ASK_ADDRESS
    assert step_of(chat) == ("cadastro", "endereco")


def test_voltar_of_an_older_question_changes_nothing_and_the_next_answer_goes_to_the_live_step(
    chat: Chat,
) -> None:
    walk_to(chat, "razao")
    old_voltar = chat.button_id(texts.VOLTAR)
    chat.say(GOOD["razao"])
    chat.say(GOOD["fantasia"])

    replies = chat.press_id(old_voltar)

    assert texts_of(replies) == [texts.EXPIRED_KEPT, texts.ASK_EMAIL]
    assert step_of(chat) == ("cadastro", "email")
    chat.say(GOOD["email"])
    state = state_of(chat)
    assert state is not None
    assert (state.step, state.data["fantasia"], state.data["email"]) == (
        "telefone",
        GOOD["fantasia"],
        GOOD["email"],
    )


def test_voltar_pressed_twice_on_one_message_goes_back_once(chat: Chat) -> None:
    walk_to(chat, "fantasia")
    voltar = chat.button_id(texts.VOLTAR)

    chat.press_id(voltar)
    replies = chat.press_id(voltar)

    assert texts_of(replies) == [texts.EXPIRED_KEPT, texts.ASK_RAZAO]
    assert step_of(chat) == ("cadastro", "razao")


@pytest.mark.parametrize("step", ["pagador", "plano", "email", "resumo"])
def test_cancelar_leaves_with_nothing_saved(
    chat: Chat, uow_factory: UnitOfWorkFactory, step: str
) -> None:
    walk_to(chat, step)
    before = client_count(uow_factory)

    replies = chat.press(texts.CANCELAR)

    assert client_count(uow_factory) == before == 0
    assert texts_of(replies) == [texts.CANCELLED, texts.MENU_TEXT]
    assert step_of(chat) == ("menu", "inicio")


def test_the_cancelar_command_leaves_with_nothing_saved(
    chat: Chat, uow_factory: UnitOfWorkFactory
) -> None:
    walk_to(chat, "resumo")

    replies = chat.say("/cancelar")

    assert client_count(uow_factory) == 0
    assert texts_of(replies) == [texts.CANCELLED, texts.MENU_TEXT]
    assert step_of(chat) == ("menu", "inicio")


def test_after_cancelar_the_old_cadastrar_button_does_nothing(
    chat: Chat, uow_factory: UnitOfWorkFactory
) -> None:
    walk_to(chat, "resumo")
    confirm = chat.button_id(texts.CADASTRAR)
    chat.press(texts.CANCELAR)

    chat.press_id(confirm)

    assert client_count(uow_factory) == 0
    assert texts_of(chat.received[-2:]) == [texts.EXPIRED, texts.MENU_TEXT]


# -- what a step costs ----------------------------------------------------------------------


def test_only_the_steps_about_software_and_plan_read_the_catalog_once_each(
    chat: Chat, db_engine: Engine
) -> None:
    """The catalog is read where a step shows or re-checks software and plan, once a step at
    most (the repository keeps its rows for the transaction); the typed steps never read it."""
    reads: list[str] = []

    def seen(*args: Any) -> None:
        if "monthly_price" in args[2] and " JOIN " in args[2] and "client" not in args[2]:
            reads.append(args[2])

    open_cadastro(chat)
    per_step: dict[str, int] = {}
    event.listen(db_engine, "before_cursor_execute", seen)
    try:
        for step in [*STEPS, "cadastrar"]:
            before = len(reads)
            if step == "pagador":
                chat.press(texts.GESTOR)
            elif step == "software":
                chat.press("FazNota")
            elif step == "plano":
                chat.press(chat.labels()[0])
            elif step == "resumo":
                continue  # the summary is asked by the address step and answered by Cadastrar
            elif step == "cadastrar":
                chat.press(texts.CADASTRAR)
            else:
                chat.say(GOOD[step])
            per_step[step] = len(reads) - before
    finally:
        event.remove(db_engine, "before_cursor_execute", seen)

    assert step_of(chat) == ("clientes", "card")
    assert per_step == {
        "pagador": 1,  # asks the software
        "software": 1,  # re-checks it and asks the plan
        "plano": 1,  # re-checks the plan
        "documento": 0,
        "razao": 0,
        "fantasia": 0,
        "email": 0,
        "telefone": 0,
        "cep": 0,
        "endereco": 1,  # the summary names software and plan with the price
        "cadastrar": 1,  # the plan re-checked as the client is saved
    }
