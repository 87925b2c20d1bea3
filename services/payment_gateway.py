"""What the billing needs from a payment provider, and the beneficiary's bank details.

The composition root (bot/app.py) builds the gateway (bot/gateways/payments.py) and hands a
`BillingSetup` to the dialogue; tests pass fakes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Beneficiary:
    """Who receives the faturas: printed on the boleto and in the PIX payload."""

    name: str
    cnpj: str
    address: str
    agencia: str  # Itaú, 4 digits
    conta: str  # 5 digits, without its DAC
    carteira: str  # 109 or 175
    pix_key: str
    pix_name: str
    pix_city: str


@dataclass(frozen=True, slots=True)
class BoletoRequest:
    fatura_id: int
    competencia: str
    amount: Decimal
    due_date: date
    payer_name: str
    payer_cnpj: str
    payer_address: str | None


@dataclass(frozen=True, slots=True)
class BoletoRegistration:
    """The nosso número to print (8 digits) and whether a bank has registered the boleto."""

    nosso_numero: str
    registered: bool


@dataclass(frozen=True, slots=True)
class CardCheckout:
    """Where the gestor registers its card with the provider."""

    url: str


class PaymentGateway(Protocol):
    """A payment provider: card sign-up and boleto registration."""

    def card_checkout(self, gestor_id: int, gestor_cnpj: str) -> CardCheckout | None:
        """A page to register the card, or None when card payment is not configured."""
        ...

    def register_boleto(self, request: BoletoRequest) -> BoletoRegistration:
        """Register the boleto with the bank (or number it locally, unregistered)."""
        ...


@dataclass(frozen=True, slots=True)
class BillingSetup:
    gateway: PaymentGateway
    beneficiary: Beneficiary
    due_day: int = 10
