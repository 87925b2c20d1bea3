"""Pagamento, Minhas faturas, a fatura's lines and Gerar boleto, through the chat."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pypdf
import pytest
import time_machine

from domain.billing import Competencia
from domain.clients import ContractStatus, Role
from domain.documents import format_tax_id
from domain.pix import parse_pix_payload
from handlers import texts
from services import billing
from services.errors import Forbidden
from services.messages import Document, Text
from services.types import UnitOfWorkFactory
from storage.models import AuditEntry, Gestor
from storage.models_billing import Fatura
from tests.support import Chat, Office, add_member, cnpj
from tests.unit.billing_service.support import client_in, close, faturas_of, make_fatura
from tests.unit.helpers import offer, step_of

NOW = datetime(2026, 11, 3, 15, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def early_november() -> Iterator[None]:
    """The October fatura (due 10/11/2026) is pending, not overdue, unless a test moves on."""
    with time_machine.travel(NOW, tick=True):
        yield


def open_pagamento(chat: Chat) -> None:
    chat.say("/menu")
    chat.press(texts.MEUS_DADOS)
    chat.press(texts.PAGAMENTO)


def pdf_text(document: Document) -> str:
    reader = pypdf.PdfReader(io.BytesIO(document.data))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_pagamento_shows_the_method_and_its_choices(chat: Chat, office: Office) -> None:
    open_pagamento(chat)

    assert chat.last_text().text == texts.PAGAMENTO_TEXT.format(method="Boleto bancário")
    assert chat.labels() == [
        texts.BOLETO_BANCARIO,
        texts.CARTAO_CREDITO,
        texts.MINHAS_FATURAS,
        texts.VOLTAR,
        texts.MENU,
    ]


def test_the_default_gateway_says_card_payment_is_not_configured(
    chat: Chat, office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    open_pagamento(chat)

    chat.press(texts.CARTAO_CREDITO)

    expected = texts.CARD_NOT_CONFIGURED.format(support="suporte@revendabot.com.br")
    assert chat.last_text().text == (
        f"{expected}\n\n{texts.PAGAMENTO_TEXT.format(method='Boleto bancário')}"
    )
    with uow_factory() as uow:
        gestor = uow.session.get(Gestor, office.gestor.gestor_id)
        assert gestor is not None
        assert gestor.payment_method == "boleto"


def test_minhas_faturas_lists_pending_and_paid_faturas_newest_first(
    chat: Chat, office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    make_fatura(uow_factory, office.gestor)
    close(uow_factory, Competencia(2026, 9))
    september = faturas_of(uow_factory, office.gestor.gestor_id)[1]
    billing.mark_paid(uow_factory(), fatura_id=september.id, via="operador", now=NOW)
    open_pagamento(chat)

    chat.press(texts.MINHAS_FATURAS)

    assert chat.last_text().text == texts.FATURAS_TEXT.format(
        lines="• 10/2026 — R$ 39,95 — vence 10/11/2026 — pendente\n"
        "• 09/2026 — R$ 39,95 — vence 10/10/2026 — paga"
    )
    assert chat.labels()[:2] == ["10/2026 — R$ 39,95", "09/2026 — R$ 39,95"]


def test_a_pending_fatura_past_its_due_date_shows_as_vencida(
    chat: Chat, office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    make_fatura(uow_factory, office.gestor)

    with time_machine.travel(datetime(2026, 11, 11, 15, tzinfo=UTC), tick=True):
        open_pagamento(chat)
        chat.press(texts.MINHAS_FATURAS)

    assert "— vence 10/11/2026 — vencida" in chat.last_text().text


def test_a_fatura_shows_its_total_and_its_lines_on_request(
    chat: Chat, office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    make_fatura(uow_factory, office.gestor)
    open_pagamento(chat)
    chat.press(texts.MINHAS_FATURAS)

    chat.press("10/2026 — R$ 39,95")

    assert chat.last_text().text == texts.FATURA_TEXT.format(
        competencia="10/2026", status="pendente", total="R$ 39,95", due="10/11/2026", lines=1
    )
    assert chat.labels() == [texts.VER_ITENS, texts.GERAR_BOLETO, texts.VOLTAR, texts.MENU]
    chat.press(texts.VER_ITENS)
    assert chat.last_text().text == texts.FATURA_ITEMS.format(
        competencia="10/2026",
        count=1,
        lines=f"• Cliente 001 Ltda ({format_tax_id(cnpj(1))}) — FazNota Bronze: R$ 39,95 "
        "(50% de R$ 79,90)",
        total="R$ 39,95",
    )
    chat.press(texts.VOLTAR)
    assert step_of(chat) == ("dados", "fatura")


def test_gerar_boleto_sends_a_pdf_with_the_linha_digitavel_and_the_unregistered_mark(
    chat: Chat, office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    fatura = make_fatura(uow_factory, office.gestor)
    open_pagamento(chat)
    chat.press(texts.MINHAS_FATURAS)
    chat.press("10/2026 — R$ 39,95")

    replies = chat.press(texts.GERAR_BOLETO)

    document, codes = replies[0], replies[1]
    assert isinstance(document, Document)
    assert isinstance(codes, Text)
    assert document.name == "boleto-2026-10.pdf"
    assert document.mime == "application/pdf"
    assert document.caption == (
        "Boleto da fatura 10/2026 — R$ 39,95, vence em 10/11/2026.\n"
        + texts.BOLETO_CAPTION_UNREGISTERED
    )
    linha = re.search(r"Linha digitável:\n(.+)\n", codes.text)
    pix = re.search(r"PIX copia e cola:\n(.+)$", codes.text)
    assert linha is not None
    assert pix is not None
    # Itaú 341, carteira 109, nosso número = fatura id, factor 1626 (10/11/2026: 626 days after the
    # 2025-02-22 rollover to 1000), R$ 39,95.
    assert linha.group(1).startswith("34191.0900")
    assert linha.group(1).endswith(" 16260000003995")
    text = pdf_text(document)
    assert linha.group(1) in text
    assert "NÃO REGISTRADO" in text
    payload = parse_pix_payload(pix.group(1))
    assert payload.amount == Decimal("39.95")
    assert payload.key == "11222333000181"
    assert payload.txid == f"FAT{fatura.id}"
    assert "".join(pix.group(1).split()) in "".join(text.split())
    with uow_factory() as uow:
        stored = uow.session.get(Fatura, fatura.id)
        assert stored is not None
        assert (stored.nosso_numero, stored.boleto_registered) == (f"{fatura.id:08d}", False)


def test_a_second_boleto_of_the_same_fatura_reuses_its_nosso_numero(
    chat: Chat, office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    make_fatura(uow_factory, office.gestor)
    open_pagamento(chat)
    chat.press(texts.MINHAS_FATURAS)
    chat.press("10/2026 — R$ 39,95")
    first = chat.press(texts.GERAR_BOLETO)[1]

    second = chat.press(texts.GERAR_BOLETO)[1]

    assert isinstance(first, Text)
    assert isinstance(second, Text)
    assert first.text == second.text
    with uow_factory() as uow:
        boletos = uow.session.query(AuditEntry).filter_by(action="fatura.boleto").count()
    assert boletos == 1


def test_a_paid_fatura_offers_no_boleto_and_a_stale_press_is_refused(
    chat: Chat, office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    fatura = make_fatura(uow_factory, office.gestor)
    open_pagamento(chat)
    chat.press(texts.MINHAS_FATURAS)
    chat.press("10/2026 — R$ 39,95")
    billing.mark_paid(uow_factory(), fatura_id=fatura.id, via="operador", now=NOW)

    replies = chat.press(texts.GERAR_BOLETO)

    assert not [m for m in replies if isinstance(m, Document)]
    assert chat.last_text().text.startswith(
        "⚠️ Esta fatura já está paga: não há boleto a gerar.\n\n🧾 Fatura 10/2026\nSituação: paga"
    )
    assert texts.GERAR_BOLETO not in chat.labels()


def test_a_forged_fatura_id_of_another_gestor_is_not_found(
    chat: Chat, office: Office, other_office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    theirs = make_fatura(uow_factory, other_office.gestor, n=50)
    client_in(uow_factory, office.gestor, 1, status=ContractStatus.TESTE)
    open_pagamento(chat)
    chat.press(texts.MINHAS_FATURAS)
    assert chat.last_text().text == texts.FATURAS_EMPTY
    offer(chat, f"ft:{theirs.id}")

    chat.press_id(f"ft:{theirs.id}")

    assert chat.last_text().text == f"⚠️ Fatura não encontrada.\n\n{texts.FATURAS_EMPTY}"
    assert step_of(chat) == ("dados", "faturas")


def test_a_contador_sees_no_pagamento_and_a_forged_press_is_refused(
    app_chat_contador: Chat, office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    chat = app_chat_contador
    make_fatura(uow_factory, office.gestor)
    chat.say("/menu")
    chat.press(texts.MEUS_DADOS)
    assert chat.labels() == [texts.BASICOS, texts.EMAILS, texts.AVISOS, texts.VOLTAR, texts.MENU]
    offer(chat, "d:pag")

    chat.press_id("d:pag")

    assert chat.last_text().text.startswith(
        "⚠️ Esta ação é só para o gestor. Seu acesso é de contador."
    )
    assert step_of(chat) == ("dados", "inicio")


def test_a_contador_cannot_list_faturas_through_the_service(
    uow_factory: UnitOfWorkFactory, office: Office
) -> None:
    contador = add_member(uow_factory, office, "test:contador", Role.CONTADOR)
    fatura = make_fatura(uow_factory, office.gestor)

    with pytest.raises(Forbidden):
        billing.list_faturas(uow_factory(), contador)
    with pytest.raises(Forbidden):
        billing.get_fatura(uow_factory(), contador, fatura.id)
