"""Any month in XMLs emitidos and Relatórios e documentos: Outro mês (year → month with its
count of notes) and a month typed at the month question."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import time_machine

from domain.clients import Role
from handlers import texts
from services.clients import ClientCard
from services.messages import Text
from services.types import UnitOfWorkFactory
from storage.conversation import StoredState
from storage.models import ConversationState
from tests.support import Chat, Office, add_client, add_member, make_office
from tests.unit.fiscal_chat.chat_support import (
    NOW,
    open_gerenciar,
    store_emitted,
    store_supplier_notes,
    unzip,
)
from tests.unit.helpers import offer, state_of, step_of

OUTRO_MES = texts.OUTRO_MES
NAV = [texts.VOLTAR, texts.MENU]
NOT_UNDERSTOOD = "⚠️ Não entendi o mês. Toque em um botão ou digite assim: 10/2026 ou outubro.\n\n"


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


@pytest.fixture
def history(uow_factory: UnitOfWorkFactory, acme: ClientCard) -> ClientCard:
    """ACME's emitted notes: Oct/2026 3 NF-e + 2 NFC-e, Nov/2026 1 NF-e, Mar/2025 2 NF-e,
    Dec/2025 1 NFC-e, Jul/2024 1 NF-e; and supplier notes of 2023, which are not emitted."""
    store_emitted(uow_factory, acme, 3, month=10)
    store_emitted(uow_factory, acme, 2, modelo="65", month=10, seed=3)
    store_emitted(uow_factory, acme, 1, month=11, seed=4)
    store_emitted(uow_factory, acme, 2, year=2025, month=3, seed=5)
    store_emitted(uow_factory, acme, 1, modelo="65", year=2025, month=12, seed=6)
    store_emitted(uow_factory, acme, 1, year=2024, month=7, seed=9)
    return acme


def open_month_question(chat: Chat, feature: str = texts.XMLS_EMITIDOS) -> None:
    open_gerenciar(chat, "ACME Comércio Ltda")
    chat.press(feature)


def competencia(chat: Chat) -> str:
    state = state_of(chat)
    assert state is not None
    return str(state.data["comp"])


# --- Outro mês -----------------------------------------------------------------------------


def test_outro_mes_offers_only_the_years_with_emitted_notes_newest_first(
    chat: Chat, history: ClientCard, uow_factory: UnitOfWorkFactory
) -> None:
    store_supplier_notes(uow_factory, history, 2, month=5)  # supplier notes are not emitted
    open_month_question(chat)
    assert chat.labels() == [texts.MES_ANTERIOR, texts.MES_ATUAL, OUTRO_MES, *NAV]

    chat.press(OUTRO_MES)

    assert chat.last_text().text == (
        "📦 XMLs emitidos de ACME Comércio Ltda\nDe qual ano? (só os anos com notas emitidas)"
    )
    assert chat.labels() == ["2026", "2025", "2024", *NAV]
    assert step_of(chat) == ("emitidos", "ano")


def test_the_months_of_the_year_carry_their_count_of_notes(
    chat: Chat, history: ClientCard
) -> None:
    open_month_question(chat)
    chat.press(OUTRO_MES)

    chat.press("2026")

    assert chat.last_text().text == (
        "📦 XMLs emitidos de ACME Comércio Ltda — 2026\nDe qual mês? Entre parênteses, quantas "
        "notas emitidas (NF-e e NFC-e) o mês tem."
    )
    assert chat.labels() == ["Out (5)", "Nov (1)", *NAV]
    chat.press(texts.VOLTAR)
    chat.press("2025")
    assert chat.labels() == ["Mar (2)", "Dez (1)", *NAV]
    chat.press(texts.VOLTAR)
    chat.press("2024")
    assert chat.labels() == ["Jul (1)", *NAV]  # one month: still asked, like the others
    assert step_of(chat) == ("emitidos", "mes_do_ano")


def test_a_year_with_every_month_shows_twelve_buttons_in_rows_of_three(
    chat: Chat, acme: ClientCard, uow_factory: UnitOfWorkFactory
) -> None:
    for month in range(1, 13):
        store_emitted(uow_factory, acme, 1 + month % 2, year=2025, month=month, seed=month)
    open_month_question(chat)
    chat.press(OUTRO_MES)

    chat.press("2025")

    counts = [1 + month % 2 for month in range(1, 13)]
    assert (
        chat.labels()
        == [f"{short} ({n})" for short, n in zip(texts.MESES_CURTOS, counts, strict=True)] + NAV
    )
    assert [len(row) for row in chat.last_with_buttons().buttons] == [3, 3, 3, 3, 2]


def test_outro_mes_then_the_model_sends_the_zip_of_that_month(
    chat: Chat, acme: ClientCard, uow_factory: UnitOfWorkFactory
) -> None:
    specs = store_emitted(uow_factory, acme, 2, year=2025, month=3, seed=5)
    store_emitted(uow_factory, acme, 1, modelo="65", year=2025, month=3, seed=6)
    open_month_question(chat)
    chat.press(OUTRO_MES)
    chat.press("2025")

    chat.press("Mar (3)")

    assert chat.last_text().text == (
        "📦 XMLs emitidos de ACME Comércio Ltda — 03/2025\nQual tipo de nota?"
    )
    assert chat.labels() == [texts.NFE, texts.NFCE, *NAV]
    replies = chat.press(texts.NFE)
    assert replies[0] == Text(
        "⏳ Gerando o ZIP com 2 NF-e de 03/2025… Envio aqui assim que ficar pronto."
    )
    [document] = chat.documents()
    assert document.name == "ACME-Comercio-Ltda_2025-03_NFe.zip"
    assert set(unzip(document)) == {f"{s.chave()}-nfe.xml" for s in specs}
    assert step_of(chat) == ("emitidos", "modelo")


def test_relatorios_outro_mes_then_the_model_sends_the_report_of_that_month(
    chat: Chat, history: ClientCard
) -> None:
    open_month_question(chat, texts.RELATORIOS)
    assert chat.labels() == [texts.MES_ANTERIOR, texts.MES_ATUAL, OUTRO_MES, *NAV]
    chat.press(OUTRO_MES)
    assert chat.last_text().text.startswith("📊 Relatórios e documentos de ACME Comércio Ltda\n")
    assert chat.labels() == ["2026", "2025", "2024", *NAV]
    chat.press("2025")
    chat.press("Mar (2)")
    chat.press(texts.NFE)
    assert chat.last_text().text.startswith("📊 ACME Comércio Ltda — NF-e 03/2025: 2 notas")

    chat.press(texts.RELATORIO_CSV)

    pdf, csv = chat.documents()
    assert pdf.name == "ACME-Comercio-Ltda_2025-03_NFe_relatorio.pdf"
    assert csv.name == "ACME-Comercio-Ltda_2025-03_NFe_relatorio.csv"
    assert len(csv.data.decode("utf-8-sig").splitlines()) == 4  # header, two notes, TOTAL


def test_voltar_walks_back_through_month_year_and_the_month_question(
    chat: Chat, history: ClientCard
) -> None:
    open_month_question(chat)
    chat.press(OUTRO_MES)
    chat.press("2025")
    chat.press("Dez (1)")
    assert competencia(chat) == "2025-12"

    chat.press(texts.VOLTAR)
    assert step_of(chat) == ("emitidos", "mes_do_ano")
    chat.press(texts.VOLTAR)
    assert step_of(chat) == ("emitidos", "ano")
    chat.press(texts.VOLTAR)
    assert step_of(chat) == ("emitidos", "mes")
    chat.press(texts.VOLTAR)
    assert step_of(chat) == ("clientes", "gerenciar")


def test_outro_mes_of_a_client_without_emitted_notes_says_so(
    chat: Chat, acme: ClientCard, uow_factory: UnitOfWorkFactory
) -> None:
    store_supplier_notes(uow_factory, acme, 2)
    open_month_question(chat)

    chat.press(OUTRO_MES)

    assert chat.last_text().text.startswith(
        "ACME Comércio Ltda ainda não tem notas emitidas guardadas aqui.\n\n📦 XMLs emitidos"
    )
    assert step_of(chat) == ("emitidos", "mes")


# --- a typed month -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "month"),
    [
        ("10/2026", "2026-10"),
        ("10/26", "2026-10"),
        ("2026-10", "2026-10"),
        ("outubro", "2026-10"),
        ("out", "2026-10"),
        ("out/26", "2026-10"),
        ("outubro de 2026", "2026-10"),
        ("Outubro 2026", "2026-10"),
        ("março", "2026-03"),
        ("MARCO", "2026-03"),
        ("dezembro", "2025-12"),  # December 2026 is still to come
    ],
)
def test_a_typed_month_goes_on_to_the_model_question(
    chat: Chat, acme: ClientCard, typed: str, month: str
) -> None:
    open_month_question(chat)

    chat.say(typed)

    assert step_of(chat) == ("emitidos", "modelo")
    assert competencia(chat) == month
    year, mm = month.split("-")
    assert chat.last_text().text.endswith(f" — {mm}/{year}\nQual tipo de nota?")
    assert chat.labels() == [texts.NFE, texts.NFCE, *NAV]


def test_a_typed_month_gets_its_zip_as_a_pressed_one_does(chat: Chat, history: ClientCard) -> None:
    open_month_question(chat)
    chat.say("Março de 2025")

    chat.press(texts.NFE)

    [document] = chat.documents()
    assert document.name == "ACME-Comercio-Ltda_2025-03_NFe.zip"
    assert len(unzip(document)) == 2


def test_a_typed_month_in_relatorios_gets_its_report(chat: Chat, history: ClientCard) -> None:
    open_month_question(chat, texts.RELATORIOS)
    chat.say("dez/25")
    assert step_of(chat) == ("relatorios", "modelo")

    chat.press(texts.NFCE)
    chat.press(texts.RELATORIO_XLSX)

    assert [d.name for d in chat.documents()] == [
        "ACME-Comercio-Ltda_2025-12_NFCe_relatorio.pdf",
        "ACME-Comercio-Ltda_2025-12_NFCe_relatorio.xlsx",
    ]


@pytest.mark.parametrize("typed", ["ontem", "13/2026", "10", "mês passado", "outubros"])
def test_what_is_not_a_month_gets_how_to_type_it(chat: Chat, acme: ClientCard, typed: str) -> None:
    open_month_question(chat)

    chat.say(typed)

    assert chat.last_text().text.startswith(NOT_UNDERSTOOD + "📦 XMLs emitidos de ACME")
    assert step_of(chat) == ("emitidos", "mes")
    assert chat.labels() == [texts.MES_ANTERIOR, texts.MES_ATUAL, OUTRO_MES, *NAV]


def test_a_month_still_to_come_is_refused(chat: Chat, acme: ClientCard) -> None:
    open_month_question(chat, texts.RELATORIOS)

    chat.say("12/2026")

    assert chat.last_text().text.startswith(
        "⚠️ 12/2026 ainda não chegou. Toque em um botão ou digite um mês até 11/2026, assim: "
        "10/2026 ou outubro.\n\n📊 Relatórios e documentos de ACME"
    )
    assert step_of(chat) == ("relatorios", "mes")


def test_a_month_can_be_typed_at_the_year_and_month_questions_too(
    chat: Chat, history: ClientCard
) -> None:
    open_month_question(chat)
    chat.press(OUTRO_MES)
    chat.say("07/2024")
    assert competencia(chat) == "2024-07"

    chat.press(texts.VOLTAR)
    chat.press("2025")
    chat.say("mar")  # a month name alone, once 2025 was chosen, is March 2025

    assert step_of(chat) == ("emitidos", "modelo")
    assert competencia(chat) == "2025-03"


def test_nonsense_at_the_month_of_the_year_asks_again(chat: Chat, history: ClientCard) -> None:
    open_month_question(chat)
    chat.press(OUTRO_MES)
    chat.press("2026")

    chat.say("quero o de outubro")

    assert chat.last_text().text.startswith(NOT_UNDERSTOOD + "📦 XMLs emitidos de ACME")
    assert step_of(chat) == ("emitidos", "mes_do_ano")
    assert chat.labels() == ["Out (5)", "Nov (1)", *NAV]


# --- stale buttons, roles and tenancy --------------------------------------------------------


def test_a_month_button_of_another_year_has_expired(chat: Chat, history: ClientCard) -> None:
    open_month_question(chat)
    chat.press(OUTRO_MES)
    chat.press("2025")
    march = chat.button_id("Mar (2)")
    chat.press(texts.VOLTAR)
    chat.press("2026")
    live = step_of(chat)

    chat.press_id(march)

    assert chat.received[-2] == Text(texts.EXPIRED_KEPT)
    assert step_of(chat) == live


def test_the_month_question_of_an_old_message_has_expired(chat: Chat, history: ClientCard) -> None:
    open_month_question(chat)
    previous_month = chat.button_id(texts.MES_ANTERIOR)
    chat.press(OUTRO_MES)
    live = step_of(chat)

    chat.press_id(previous_month)  # from the month question, answered already

    assert chat.received[-2] == Text(texts.EXPIRED_KEPT)
    assert step_of(chat) == live


def test_another_gestors_client_in_the_flow_data_is_not_found(
    chat: Chat, history: ClientCard, uow_factory: UnitOfWorkFactory
) -> None:
    other = make_office(uow_factory, 2)
    theirs = add_client(uow_factory, other.gestor, 2, name="Cliente Alheio Ltda")
    store_emitted(uow_factory, theirs, 2, year=2023, month=5, seed=12)
    open_month_question(chat)
    chat.press(OUTRO_MES)
    forge_client(chat, theirs.id)

    replies = chat.press("2026")

    shown = [r.text for r in replies if isinstance(r, Text)]
    assert any("Cliente não encontrado." in text for text in shown)
    assert all("Cliente Alheio" not in text and "Mai (2)" not in text for text in shown)
    assert step_of(chat) == ("menu", "inicio")


def test_another_gestors_client_is_not_found_at_outro_mes(
    chat: Chat, acme: ClientCard, uow_factory: UnitOfWorkFactory
) -> None:
    other = make_office(uow_factory, 2)
    theirs = add_client(uow_factory, other.gestor, 2, name="Cliente Alheio Ltda")
    store_emitted(uow_factory, theirs, 2, year=2023, month=5, seed=12)
    open_month_question(chat, texts.RELATORIOS)
    forge_client(chat, theirs.id)

    replies = chat.press(OUTRO_MES)

    shown = [r.text for r in replies if isinstance(r, Text)]
    assert any("Cliente não encontrado." in text for text in shown)
    assert all("2023" not in text and "Cliente Alheio" not in text for text in shown)
    assert step_of(chat) == ("menu", "inicio")


@pytest.mark.parametrize(
    ("flow", "step", "data", "press"),
    [
        ("emitidos", "mes", {}, "mes:outro"),
        ("relatorios", "mes", {}, "mes:outro"),
        ("emitidos", "ano", {}, "ano:2025"),
        ("relatorios", "mes_do_ano", {"ano": 2025}, "mm:3"),
    ],
)
def test_a_contador_is_refused_even_with_a_crafted_state(
    history: ClientCard,
    office: Office,
    uow_factory: UnitOfWorkFactory,
    chat: Chat,
    flow: str,
    step: str,
    data: dict[str, object],
    press: str,
) -> None:
    add_member(uow_factory, office, "test:contador", Role.CONTADOR)
    contador = Chat(chat.engine, uow_factory, identity_key="test:contador")
    contador.say("/menu")
    with uow_factory() as uow:
        state = {"cid": history.id, **data, "_offered": [press]}
        uow.conversations.save("test:contador", StoredState(flow, step, state, 1, None), NOW)
        uow.commit()

    replies = contador.press_id(press)

    shown = [r.text for r in replies if isinstance(r, Text)]
    assert any("Esta ação é só para o gestor. Seu acesso é de contador." in t for t in shown)
    assert all("(2)" not in t and "2025" not in t for t in shown)
    assert contador.documents() == []
    assert step_of(contador) == ("menu", "inicio")


def test_a_contador_typing_a_month_is_refused(
    history: ClientCard, office: Office, uow_factory: UnitOfWorkFactory, chat: Chat
) -> None:
    add_member(uow_factory, office, "test:contador", Role.CONTADOR)
    contador = Chat(chat.engine, uow_factory, identity_key="test:contador")
    contador.say("/menu")
    with uow_factory() as uow:
        state = {"cid": history.id, "_offered": []}
        uow.conversations.save(
            "test:contador", StoredState("emitidos", "mes", state, 1, None), NOW
        )
        uow.commit()

    replies = contador.say("03/2025")

    shown = [r.text for r in replies if isinstance(r, Text)]
    assert any("Esta ação é só para o gestor. Seu acesso é de contador." in t for t in shown)
    assert contador.documents() == []


def forge_client(chat: Chat, client_id: int) -> None:
    """Tamper with the saved flow data: the client id now points elsewhere."""
    with chat.uow_factory() as uow:
        row = uow.session.get(ConversationState, chat.identity_key)
        assert row is not None
        row.data = {**row.data, "cid": client_id}
        uow.session.commit()


def test_a_year_left_without_notes_offers_no_month(chat: Chat, history: ClientCard) -> None:
    open_month_question(chat)
    chat.press(OUTRO_MES)
    offer(chat, "ano:2019")  # offered by a racing message; the year has no notes (any more)

    chat.press_id("ano:2019")

    assert step_of(chat) == ("emitidos", "mes_do_ano")
    assert chat.labels() == NAV
