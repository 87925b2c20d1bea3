"""How values look on screen (pt-BR): statuses, documents, money, dates."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from domain.clients import ContractStatus, CreatedVia, Payer
from domain.contacts import format_cep, format_phone
from domain.documents import format_tax_id
from domain.money import format_brl
from handlers import texts
from services.clients import ClientCard

SAO_PAULO = ZoneInfo("America/Sao_Paulo")


def status_label(status: ContractStatus) -> str:
    return status.label


def payer_label(payer: Payer) -> str:
    return texts.GESTOR if payer is Payer.GESTOR else texts.CLIENTE


def doc_label(documento: str) -> str:
    return "CPF" if len(documento) == 11 else "CNPJ"


def date_br(moment: datetime) -> str:
    return moment.astimezone(SAO_PAULO).strftime("%d/%m/%Y")


def note_date_br(moment: datetime) -> str:
    """The date a note says: its dhEmi in its own offset (a Manaus note of 31/10 23:30 is of
    31/10, even though it is already 01/11 in São Paulo)."""
    return moment.strftime("%d/%m/%Y")


def datetime_br(moment: datetime) -> str:
    """`27/11/2026 21:08`, in São Paulo time."""
    return moment.astimezone(SAO_PAULO).strftime("%d/%m/%Y %H:%M")


def client_card_text(card: ClientCard) -> str:
    return texts.CARD.format(
        razao_social=card.razao_social,
        fantasia_line=(
            texts.CARD_FANTASIA.format(fantasia=card.nome_fantasia) if card.nome_fantasia else ""
        ),
        doc_label=doc_label(card.documento),
        doc=format_tax_id(card.documento),
        software=card.software,
        plano=card.plano,
        price=format_brl(card.price),
        status=status_label(card.status),
        payer=payer_label(card.payer),
        email=card.email,
        telefone=format_phone(card.telefone),
        endereco=f"{card.endereco} - {card.cidade}/{card.uf}",
        cep=format_cep(card.cep),
        created=date_br(card.created_at),
        via=texts.CARD_VIA_LINK if card.created_via == CreatedVia.LINK.value else "",
    )
