"""Gerar boleto: the PDF of a pending fatura, with the ITF barcode and a PIX copia e cola.

The nosso número comes from the gateway (registered with a bank, or numbered locally and
printed "NÃO REGISTRADO") the first time; later copies reuse it, so one fatura is one boleto.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from domain import boleto
from domain.billing import FaturaStatus, parse_competencia
from domain.boleto_pdf import BoletoLine, BoletoSheet, render_boleto
from domain.documents import format_tax_id
from domain.pix import pix_payload
from services.billing import NOT_FOUND
from services.errors import Conflict, NotFound
from services.payment_gateway import BillingSetup, BoletoRequest
from services.principal import Principal
from storage.models import AuditEntry
from storage.uow import UnitOfWork

PDF = "application/pdf"


@dataclass(frozen=True, slots=True)
class BoletoFile:
    name: str
    data: bytes
    linha_digitavel: str
    pix: str
    registered: bool
    amount: Decimal


def generate_boleto(
    uow: UnitOfWork,
    principal: Principal,
    fatura_id: int,
    setup: BillingSetup,
    *,
    now: datetime | None = None,
) -> BoletoFile:
    """The boleto PDF of one of the gestor's pending faturas (gestor only)."""
    principal.require_manage()
    moment = now or datetime.now(UTC)
    beneficiary = setup.beneficiary
    with uow:
        fatura = uow.faturas.of_gestor(principal.gestor_id, fatura_id)
        if fatura is None:
            raise NotFound(NOT_FOUND)
        if fatura.status == FaturaStatus.PAGA.value:
            raise Conflict("Esta fatura já está paga: não há boleto a gerar.")
        if fatura.total <= 0:
            raise Conflict("Esta fatura não tem valor a pagar.")
        gestor = uow.gestores.get(principal.gestor_id)
        if gestor is None:
            raise NotFound("Cadastro do gestor não encontrado.")
        competencia = parse_competencia(fatura.competencia)
        if fatura.nosso_numero is None:
            registration = setup.gateway.register_boleto(
                BoletoRequest(
                    fatura_id=fatura.id,
                    competencia=fatura.competencia,
                    amount=fatura.total,
                    due_date=fatura.due_date,
                    payer_name=gestor.razao_social,
                    payer_cnpj=gestor.cnpj,
                    payer_address=gestor.endereco,
                )
            )
            fatura.nosso_numero = registration.nosso_numero
            fatura.boleto_registered = registration.registered
            uow.audit.add(
                AuditEntry(
                    at=moment,
                    gestor_id=gestor.id,
                    actor=principal.identity_key,
                    client_id=None,
                    action="fatura.boleto",
                    before=None,
                    after={
                        "fatura": fatura.id,
                        "nosso_numero": registration.nosso_numero,
                        "registered": registration.registered,
                    },
                )
            )
        nosso = boleto.itau_nosso_numero(
            beneficiary.carteira, fatura.nosso_numero, beneficiary.agencia, beneficiary.conta
        )
        free = boleto.itau_free_field(
            beneficiary.carteira, nosso.numero, beneficiary.agencia, beneficiary.conta
        )
        code = boleto.barcode(boleto.ITAU, fatura.total, fatura.due_date, free)
        linha = boleto.format_linha_digitavel(boleto.linha_digitavel(code))
        pix = pix_payload(
            beneficiary.pix_key,
            beneficiary.pix_name,
            beneficiary.pix_city,
            fatura.total,
            f"FAT{fatura.id}",
        )
        conta_dac = boleto.itau_conta_dac(beneficiary.agencia, beneficiary.conta)
        sheet = BoletoSheet(
            bank_code="341-7",
            bank_name="Itaú",
            beneficiary=f"{beneficiary.name} - CNPJ {format_tax_id(beneficiary.cnpj)}",
            beneficiary_address=beneficiary.address,
            agencia_codigo=f"{beneficiary.agencia} / {beneficiary.conta}-{conta_dac}",
            carteira=beneficiary.carteira,
            nosso_numero=nosso.formatted,
            numero_documento=f"FAT-{fatura.id}",
            payer=f"{gestor.razao_social} - CNPJ {format_tax_id(gestor.cnpj)}",
            payer_address=gestor.endereco or "endereço não informado",
            due_date=fatura.due_date,
            amount=fatura.total,
            linha_digitavel=linha,
            barcode=code,
            pix_payload=pix,
            competencia=competencia.label,
            lines=[
                BoletoLine(
                    f"{item.razao_social} ({format_tax_id(item.documento)}) - "
                    f"{item.software} {item.plano}",
                    item.amount,
                )
                for item in fatura.items
            ],
            registered=fatura.boleto_registered,
        )
        data = render_boleto(sheet, now=moment)
        registered = fatura.boleto_registered
        total = fatura.total
        uow.commit()
    return BoletoFile(
        name=f"boleto-{competencia}.pdf",
        data=data,
        linha_digitavel=linha,
        pix=pix,
        registered=registered,
        amount=total,
    )
