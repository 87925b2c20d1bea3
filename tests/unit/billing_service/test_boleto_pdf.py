"""The boleto PDF (domain drawing) and a registering gateway (services + dialogue)."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pypdf

from domain import boleto
from domain.boleto_pdf import BoletoLine, BoletoSheet, render_boleto
from domain.pix import parse_pix_payload, pix_payload
from handlers import texts
from handlers.core import DialogueConfig
from handlers.router import Dialogue
from services import boletos
from services.conversation import ConversationEngine
from services.messages import Text, UrlButton
from services.payment_gateway import BoletoRegistration, BoletoRequest, CardCheckout
from services.types import UnitOfWorkFactory
from storage.models import Gestor
from tests.support import Chat, Office
from tests.unit.billing_service.support import make_fatura, setup_with

PINNED = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def sheet(*, registered: bool) -> BoletoSheet:
    free = boleto.itau_free_field("109", "00000042", "0057", "12345")
    code = boleto.barcode(boleto.ITAU, Decimal("149.70"), date(2026, 11, 10), free)
    return BoletoSheet(
        bank_code="341-7",
        bank_name="Itaú",
        beneficiary="RevendaBot Tecnologia Ltda - CNPJ 11.222.333/0001-81",
        beneficiary_address="Av. Paulista, 1000 - São Paulo/SP",
        agencia_codigo="0057 / 12345-6",
        carteira="109",
        nosso_numero=boleto.itau_nosso_numero("109", "42", "0057", "12345").formatted,
        numero_documento="FAT-42",
        payer="Escritório Contábil Ltda - CNPJ 10.009.001/0001-09",
        payer_address="Rua das Flores, 123 - Centro - Campinas/SP",
        due_date=date(2026, 11, 10),
        amount=Decimal("149.70"),
        linha_digitavel=boleto.format_linha_digitavel(boleto.linha_digitavel(code)),
        barcode=code,
        pix_payload=pix_payload(
            "11222333000181", "RevendaBot", "São Paulo", Decimal("149.70"), "FAT42"
        ),
        competencia="10/2026",
        lines=[BoletoLine("Padaria Pão Quente Ltda — FazNota Bronze", Decimal("39.95"))],
        registered=registered,
    )


def text_of(data: bytes) -> str:
    return "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(data)).pages)


def test_the_same_boleto_and_clock_give_the_same_bytes() -> None:
    assert render_boleto(sheet(registered=False), now=PINNED) == render_boleto(
        sheet(registered=False), now=PINNED
    )


def test_the_pdf_opens_and_shows_every_field_of_the_boleto() -> None:
    drawn = sheet(registered=False)

    text = text_of(render_boleto(drawn, now=PINNED))

    assert drawn.linha_digitavel == "34191.09008 00004.200051 71234.570001 9 16260000014970"
    for expected in (
        drawn.linha_digitavel,
        "BOLETO NÃO REGISTRADO",
        "RevendaBot Tecnologia Ltda - CNPJ 11.222.333/0001-81",
        "Escritório Contábil Ltda - CNPJ 10.009.001/0001-09",
        "10/11/2026",
        "R$ 149,70",
        "109/00000042-0",
        "Emitido em 01/11/2026 12:00 UTC",
        "Padaria Pão Quente Ltda - FazNota Bronze",
    ):
        assert expected in text, expected
    assert "".join(drawn.pix_payload.split()) in "".join(text.split())


def test_a_registered_boleto_carries_no_warning() -> None:
    text = text_of(render_boleto(sheet(registered=True), now=PINNED))

    assert "NÃO REGISTRADO" not in text
    assert "Fatura mensal do RevendaBot." in text


class RegisteringGateway:
    """A provider that registers boletos and takes cards."""

    def __init__(self) -> None:
        self.requests: list[BoletoRequest] = []

    def card_checkout(self, gestor_id: int, gestor_cnpj: str) -> CardCheckout | None:
        return CardCheckout(f"https://pagamentos.example/cartao/{gestor_id}")

    def register_boleto(self, request: BoletoRequest) -> BoletoRegistration:
        self.requests.append(request)
        return BoletoRegistration(nosso_numero="00700123", registered=True)


def test_a_registering_gateway_gets_the_fatura_and_its_number_is_printed(
    uow_factory: UnitOfWorkFactory, office: Office
) -> None:
    gateway = RegisteringGateway()
    fatura = make_fatura(uow_factory, office.gestor)

    made = boletos.generate_boleto(
        uow_factory(), office.gestor, fatura.id, setup_with(gateway), now=PINNED
    )

    [request] = gateway.requests
    assert (request.fatura_id, request.amount, request.due_date) == (
        fatura.id,
        Decimal("39.95"),
        date(2026, 11, 10),
    )
    assert request.payer_cnpj == office.cnpj
    assert made.registered is True
    text = text_of(made.data)
    assert "109/00700123-" in text
    assert "NÃO REGISTRADO" not in text
    assert parse_pix_payload(made.pix).amount == Decimal("39.95")


def test_with_a_card_gateway_cartao_opens_its_page_and_becomes_the_method(
    uow_factory: UnitOfWorkFactory, office: Office, chat: Chat
) -> None:
    config = DialogueConfig(billing=setup_with(RegisteringGateway()))
    card_chat = Chat(
        ConversationEngine(uow_factory, Dialogue(config)), uow_factory, chat.identity_key
    )
    card_chat.say("/menu")
    card_chat.press(texts.MEUS_DADOS)
    card_chat.press(texts.PAGAMENTO)

    replies = card_chat.press(texts.CARTAO_CREDITO)

    link = replies[0]
    assert isinstance(link, Text)
    assert link.text == texts.CARD_CHECKOUT
    assert link.buttons == (
        (
            UrlButton(
                texts.CARD_CHECKOUT_BUTTON,
                f"https://pagamentos.example/cartao/{office.gestor.gestor_id}",
            ),
        ),
    )
    assert card_chat.last_text().text == texts.PAGAMENTO_TEXT.format(method="Cartão de crédito")
    with uow_factory() as uow:
        gestor = uow.session.get(Gestor, office.gestor.gestor_id)
        assert gestor is not None
        assert gestor.payment_method == "cartao"
