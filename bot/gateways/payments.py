"""The default payment gateway: no card provider, boletos numbered locally and not registered.

A real provider (a bank's boleto API, a card processor) implements
services.payment_gateway.PaymentGateway and is built in bot/app.py instead of this one.
"""

from __future__ import annotations

from bot.settings import Settings
from services.payment_gateway import (
    Beneficiary,
    BillingSetup,
    BoletoRegistration,
    BoletoRequest,
    CardCheckout,
)


class LocalPaymentGateway:
    """Card payment not configured; the nosso número is the fatura's id (8 digits)."""

    def card_checkout(self, gestor_id: int, gestor_cnpj: str) -> CardCheckout | None:
        return None

    def register_boleto(self, request: BoletoRequest) -> BoletoRegistration:
        return BoletoRegistration(nosso_numero=f"{request.fatura_id:08d}", registered=False)


def billing_from_settings(settings: Settings) -> BillingSetup:
    """The billing setup from BOLETO_*, PIX_* and BILLING_DUE_DAY, with the local gateway."""
    return BillingSetup(
        gateway=LocalPaymentGateway(),
        beneficiary=Beneficiary(
            name=settings.boleto_beneficiario_nome,
            cnpj=settings.boleto_beneficiario_cnpj,
            address=settings.boleto_beneficiario_endereco,
            agencia=settings.boleto_agencia,
            conta=settings.boleto_conta,
            carteira=settings.boleto_carteira,
            pix_key=settings.pix_chave,
            pix_name=settings.pix_nome,
            pix_city=settings.pix_cidade,
        ),
        due_day=settings.billing_due_day,
    )
