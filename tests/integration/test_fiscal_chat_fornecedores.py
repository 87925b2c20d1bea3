"""XMLs de fornecedores in the chat: counts, lists, one note (Reconhecer, Baixar XML), Buscar
mais notas (year → month), the ZIP of the listed notes, and notes their issuer cancelled."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import time_machine

from domain.money import format_brl
from handlers import texts
from services.clients import ClientCard
from services.messages import Document, Text
from services.types import UnitOfWorkFactory
from storage.models import ConversationState
from tests.support import Chat, Office, add_client, make_office
from tests.unit.fiscal_chat.chat_support import (
    NOW,
    open_gerenciar,
    store,
    store_supplier_notes,
    unzip,
)
from tests.unit.fiscal_chat.factory import NotaSpec, cancelamento_xml
from tests.unit.helpers import audit_entries, offer, step_of


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


def open_fornecedores(chat: Chat) -> None:
    open_gerenciar(chat, "ACME Comércio Ltda")
    chat.press(texts.XMLS_FORNECEDORES)


def test_the_overview_counts_pending_and_acknowledged_notes(
    chat: Chat, acme: ClientCard, uow_factory: UnitOfWorkFactory
) -> None:
    store_supplier_notes(uow_factory, acme, 3)

    open_fornecedores(chat)

    assert chat.last_text().text.startswith(
        "📥 XMLs de fornecedores de ACME Comércio Ltda\nPendentes: 3\nReconhecidas: 0\n\n"
    )
    assert chat.labels() == ["Pendentes", "Reconhecidas", "Buscar mais notas", "Voltar", "Menu"]


def test_the_pending_list_shows_emitente_numero_date_and_value_page_by_page(
    chat: Chat, acme: ClientCard, uow_factory: UnitOfWorkFactory
) -> None:
    specs = store_supplier_notes(uow_factory, acme, 10)
    open_fornecedores(chat)

    chat.press(texts.PENDENTES)

    text = chat.last_text().text
    assert text.startswith(
        "📥 ACME Comércio Ltda: notas pendentes (10) — página 1 de 2\n\n1. FORNECEDOR DE ACO LTDA"
    )
    first = min(specs, key=lambda s: (s.dh_emi, s.numero))
    assert (
        f"1. FORNECEDOR DE ACO LTDA — nº {first.numero} — "
        f"{first.dh_emi.strftime('%d/%m/%Y')} — {format_brl(first.v_nf)}\n"
    ) in text
    assert chat.labels()[0] == f"nº {first.numero} — FORNECEDOR DE ACO LTDA"
    assert chat.labels()[-4:] == ["Próxima ▶", "Baixar ZIP das notas", "Voltar", "Menu"]

    chat.press(texts.PROXIMA)

    assert chat.last_text().text.startswith(
        "📥 ACME Comércio Ltda: notas pendentes (10) — página 2 de 2\n\n9. FORNECEDOR"
    )
    assert len([label for label in chat.labels() if label.startswith("nº ")]) == 2
    assert chat.labels()[-4:] == ["◀ Anterior", "Baixar ZIP das notas", "Voltar", "Menu"]


def test_reconhecer_records_who_and_when_and_moves_the_note_to_reconhecidas(
    chat: Chat, acme: ClientCard, uow_factory: UnitOfWorkFactory, office: Office
) -> None:
    specs = store_supplier_notes(uow_factory, acme, 2)
    open_fornecedores(chat)
    chat.press(texts.PENDENTES)
    chat.press(chat.labels()[0])
    assert chat.labels() == [
        "Reconhecer",
        "Baixar XML",
        "Ciência",
        "Confirmar operação",
        "Desconhecer",
        "Não realizada",
        "Voltar",
        "Menu",
    ]
    assert "Status: Pendente (ainda não reconhecida)." in chat.last_text().text

    replies = chat.press(texts.RECONHECER)

    assert isinstance(replies[0], Text)
    assert replies[0].text.startswith("✅ Nota nº ")
    assert replies[0].text.endswith(" de FORNECEDOR DE ACO LTDA reconhecida.")
    assert "Status: Reconhecida em 16/11/2026 12:00 por você." in chat.last_text().text
    # acknowledged here; the SEFAZ manifestação is still offered (Reconhecer is local only)
    assert chat.labels() == [
        "Baixar XML",
        "Ciência",
        "Confirmar operação",
        "Desconhecer",
        "Não realizada",
        "Voltar",
        "Menu",
    ]
    [entry] = [e for e in audit_entries(uow_factory, acme.id) if e.action == "fiscal.reconhecer"]
    assert entry.actor == office.gestor.identity_key
    assert entry.after is not None
    assert entry.after["chave"] in {s.chave() for s in specs}

    chat.press(texts.VOLTAR)
    chat.press(texts.VOLTAR)

    assert "Pendentes: 1\nReconhecidas: 1" in chat.last_text().text


def test_baixar_xml_sends_the_stored_file(
    chat: Chat, acme: ClientCard, uow_factory: UnitOfWorkFactory
) -> None:
    [spec] = store_supplier_notes(uow_factory, acme, 1)
    open_fornecedores(chat)
    chat.press(texts.PENDENTES)
    chat.press(chat.labels()[0])

    chat.press(texts.BAIXAR_XML)

    [document] = chat.documents()
    assert document.name == f"{spec.chave()}-nfe.xml"
    assert document.mime == "application/xml"
    assert f"<chNFe>{spec.chave()}</chNFe>".encode() in document.data


def test_buscar_mais_notas_asks_year_then_month_and_lists_that_month(
    chat: Chat, acme: ClientCard, uow_factory: UnitOfWorkFactory
) -> None:
    store_supplier_notes(uow_factory, acme, 2, month=10)
    august = store_supplier_notes(uow_factory, acme, 3, month=8, seed=12)
    open_fornecedores(chat)

    chat.press(texts.BUSCAR_MAIS_NOTAS)
    assert chat.last_text().text == "🔎 Buscar mais notas de ACME Comércio Ltda: de qual ano?"
    assert chat.labels() == ["2026", "2025", "2024", "2023", "2022", "Voltar", "Menu"]
    chat.press("2026")
    assert chat.labels()[:11] == list(texts.MESES[:11])  # up to November (Mês atual)
    chat.press("Agosto")

    assert chat.last_text().text.startswith(
        "📥 ACME Comércio Ltda: notas de 08/2026 (3) — página 1 de 1"
    )
    chat.press(texts.BAIXAR_ZIP)
    [document] = chat.documents()
    assert document.name == "ACME-Comercio-Ltda_2026-08_fornecedores.zip"
    assert set(unzip(document)) == {f"{s.chave()}-nfe.xml" for s in august}


def test_the_zip_of_pending_notes_has_every_pending_note_not_only_the_page(
    chat: Chat, acme: ClientCard, uow_factory: UnitOfWorkFactory
) -> None:
    specs = store_supplier_notes(uow_factory, acme, 11)
    open_fornecedores(chat)
    chat.press(texts.PENDENTES)

    replies = chat.press(texts.BAIXAR_ZIP)

    assert replies[0] == Text("⏳ Gerando o ZIP com 11 notas… Envio aqui assim que ficar pronto.")
    [document] = chat.documents()
    assert document.name == "ACME-Comercio-Ltda_fornecedores_pendentes.zip"
    assert len(unzip(document)) == len(specs) == 11


def test_an_empty_list_says_so(chat: Chat, acme: ClientCard) -> None:
    open_fornecedores(chat)

    chat.press(texts.RECONHECIDAS)

    assert chat.last_text().text == (
        "📥 ACME Comércio Ltda: nenhuma nota de fornecedor (notas reconhecidas)."
    )


def test_another_clients_note_pressed_by_a_forged_button_is_not_found(
    chat: Chat, acme: ClientCard, uow_factory: UnitOfWorkFactory, office: Office
) -> None:
    store_supplier_notes(uow_factory, acme, 1)
    other = add_client(uow_factory, office.gestor, 2, name="Outro Cliente Ltda")
    [theirs] = store_supplier_notes(uow_factory, other, 1, seed=30)
    open_fornecedores(chat)
    chat.press(texts.PENDENTES)
    offer(chat, f"n:{theirs.chave()}")

    replies = chat.press_id(f"n:{theirs.chave()}")

    assert chat.last_text().text.startswith("⚠️ Nota não encontrada para este cliente.")
    assert step_of(chat) == ("fornecedores", "lista")
    assert not any(isinstance(r, Document) for r in replies)


def test_another_gestors_note_cannot_be_acknowledged_through_a_forged_state(
    chat: Chat, acme: ClientCard, uow_factory: UnitOfWorkFactory
) -> None:
    other = make_office(uow_factory, 2)
    theirs = add_client(uow_factory, other.gestor, 3, name="Cliente Alheio Ltda")
    [note] = store_supplier_notes(uow_factory, theirs, 1, seed=31)
    [mine] = store_supplier_notes(uow_factory, acme, 1)
    open_fornecedores(chat)
    chat.press(texts.PENDENTES)
    chat.press(chat.labels()[0])
    with uow_factory() as uow:
        row = uow.session.get(ConversationState, chat.identity_key)
        assert row is not None
        row.data = {**row.data, "cid": theirs.id, "ch": note.chave()}
        uow.session.commit()

    chat.press(texts.RECONHECER)

    assert any(
        "Cliente não encontrado." in m.text for m in chat.received[-2:] if isinstance(m, Text)
    )
    with uow_factory() as uow:
        stored = uow.fiscal.by_chave(theirs.id, note.chave())
        assert stored is not None
        assert stored.reconhecida_em is None
    assert mine.chave() != note.chave()


# --- notes cancelled by their issuer ------------------------------------------------------


def cancel(uow_factory: UnitOfWorkFactory, card: ClientCard, spec: NotaSpec) -> None:
    """The supplier cancelled the note at SEFAZ and its cancellation event arrived."""
    store(uow_factory, card, [(f"{spec.chave()}-can.xml", cancelamento_xml(spec))])


def in_order(specs: list[NotaSpec]) -> list[NotaSpec]:
    return sorted(specs, key=lambda s: (s.dh_emi, s.numero))


def test_a_cancelled_note_is_not_counted_as_pending(
    chat: Chat, acme: ClientCard, uow_factory: UnitOfWorkFactory
) -> None:
    specs = in_order(store_supplier_notes(uow_factory, acme, 3))
    cancel(uow_factory, acme, specs[1])

    open_fornecedores(chat)

    assert chat.last_text().text.startswith(
        "📥 XMLs de fornecedores de ACME Comércio Ltda\nPendentes: 2\nReconhecidas: 0\n"
        "❌ Canceladas pelo emitente (nada a reconhecer): 1\n\n"
    )


def test_the_pending_list_marks_the_cancelled_note_and_counts_it_apart(
    chat: Chat, acme: ClientCard, uow_factory: UnitOfWorkFactory
) -> None:
    specs = in_order(store_supplier_notes(uow_factory, acme, 3))
    cancelled = specs[1]
    cancel(uow_factory, acme, cancelled)
    open_fornecedores(chat)

    chat.press(texts.PENDENTES)

    text = chat.last_text().text
    assert text.startswith(
        "📥 ACME Comércio Ltda: notas pendentes (2, mais 1 cancelada) — página 1 de 1\n"
    )
    lines = text.split("\n")
    assert lines[3].startswith(f"2. FORNECEDOR DE ACO LTDA — nº {cancelled.numero} — ")
    assert lines[3].endswith(" — ❌ cancelada")
    assert not lines[2].endswith("❌ cancelada")
    assert not lines[4].endswith("❌ cancelada")
    assert chat.labels()[:3] == [
        f"nº {specs[0].numero} — FORNECEDOR DE ACO LTDA",
        f"❌ nº {cancelled.numero} — FORNECEDOR DE ACO LTDA",
        f"nº {specs[2].numero} — FORNECEDOR DE ACO LTDA",
    ]


def test_a_cancelled_note_does_not_offer_reconhecer(
    chat: Chat, acme: ClientCard, uow_factory: UnitOfWorkFactory
) -> None:
    [spec] = store_supplier_notes(uow_factory, acme, 1)
    cancel(uow_factory, acme, spec)
    open_fornecedores(chat)
    chat.press(texts.PENDENTES)

    chat.press(f"❌ nº {spec.numero} — FORNECEDOR DE ACO LTDA")

    text = chat.last_text().text
    assert "Situação: Cancelada" in text
    cancelled_on = spec.dh_emi.strftime("%d/%m/%Y")
    assert text.endswith(
        f"Status: ❌ cancelada pelo emitente em {cancelled_on}: não há o que reconhecer."
    )
    assert chat.labels() == ["Baixar XML", "Voltar", "Menu"]


def test_a_forged_reconhecer_on_a_cancelled_note_is_refused_with_the_reason(
    chat: Chat, acme: ClientCard, uow_factory: UnitOfWorkFactory
) -> None:
    [spec] = store_supplier_notes(uow_factory, acme, 1)
    open_fornecedores(chat)
    chat.press(texts.PENDENTES)
    chat.press(chat.labels()[0])
    assert texts.RECONHECER in chat.labels()
    cancel(uow_factory, acme, spec)  # the cancellation arrives while the note is on screen

    replies = chat.press(texts.RECONHECER)

    assert not any(isinstance(r, Text) and r.text.startswith("✅") for r in replies)
    assert chat.last_text().text.startswith(
        f"⚠️ A nota nº {spec.numero} de FORNECEDOR DE ACO LTDA foi cancelada pelo emitente: "
        "uma nota cancelada não tem o que reconhecer"
    )
    assert step_of(chat) == ("fornecedores", "nota")
    assert chat.labels() == ["Baixar XML", "Voltar", "Menu"]
    with uow_factory() as uow:
        stored = uow.fiscal.by_chave(acme.id, spec.chave())
        assert stored is not None
        assert stored.reconhecida_em is None
    assert not [e for e in audit_entries(uow_factory, acme.id) if e.action == "fiscal.reconhecer"]


def test_a_forged_reconhecer_button_on_a_cancelled_note_is_refused(
    chat: Chat, acme: ClientCard, uow_factory: UnitOfWorkFactory
) -> None:
    [spec] = store_supplier_notes(uow_factory, acme, 1)
    cancel(uow_factory, acme, spec)
    open_fornecedores(chat)
    chat.press(texts.PENDENTES)
    chat.press(chat.labels()[0])
    offer(chat, "nota:rec")

    chat.press_id("nota:rec")

    assert "foi cancelada pelo emitente" in chat.last_text().text
    with uow_factory() as uow:
        stored = uow.fiscal.by_chave(acme.id, spec.chave())
        assert stored is not None
        assert stored.reconhecida_em is None


def test_a_note_acknowledged_before_its_cancellation_stays_reconhecida_and_is_marked(
    chat: Chat, acme: ClientCard, uow_factory: UnitOfWorkFactory
) -> None:
    specs = in_order(store_supplier_notes(uow_factory, acme, 2))
    open_fornecedores(chat)
    chat.press(texts.PENDENTES)
    chat.press(chat.labels()[0])
    chat.press(texts.RECONHECER)
    cancel(uow_factory, acme, specs[0])

    chat.press(texts.VOLTAR)
    chat.press(texts.VOLTAR)
    assert "Pendentes: 1\nReconhecidas: 1\n\n" in chat.last_text().text
    chat.press(texts.RECONHECIDAS)

    assert chat.last_text().text.startswith(
        "📥 ACME Comércio Ltda: notas reconhecidas (0, mais 1 cancelada) — página 1 de 1\n"
    )
    assert chat.labels()[0] == f"❌ nº {specs[0].numero} — FORNECEDOR DE ACO LTDA"
    chat.press(chat.labels()[0])
    assert "Status: Reconhecida em 16/11/2026 12:00 por você.\n❌ cancelada pelo emitente em " in (
        chat.last_text().text
    )
    assert chat.labels() == ["Baixar XML", "Voltar", "Menu"]


def test_counts_are_pluralized_in_the_supplier_zip_notice(
    chat: Chat, acme: ClientCard, uow_factory: UnitOfWorkFactory
) -> None:
    store_supplier_notes(uow_factory, acme, 1)
    open_fornecedores(chat)
    chat.press(texts.PENDENTES)

    replies = chat.press(texts.BAIXAR_ZIP)

    assert replies[0] == Text("⏳ Gerando o ZIP com 1 nota… Envio aqui assim que ficar pronto.")
    [document] = chat.documents()
    assert document.caption is not None
    assert document.caption.endswith(": 1 nota e 0 eventos de cancelamento.")
