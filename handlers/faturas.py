"""Meus dados › Pagamento: payment method, Minhas faturas, a fatura's lines, Gerar boleto.

All gestor only (the services refuse a contador). Steps of the Meus dados flow.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from domain.billing import Competencia, PaymentMethod
from domain.documents import format_tax_id
from domain.money import format_brl
from handlers import texts
from handlers.core import (
    HISTORY,
    Answer,
    Ctx,
    Data,
    Goto,
    Retry,
    Stay,
    Step,
    chosen,
    int_arg,
    nav,
    screen,
)
from handlers.formatting import date_br
from services import billing, boletos, gestor_profile
from services.billing import FaturaSummary
from services.boletos import PDF
from services.errors import ServiceError
from services.messages import Body, Choice, Document, Text, UrlButton

BOLETO = Choice("pg:boleto", texts.BOLETO_BANCARIO)
CARTAO = Choice("pg:cartao", texts.CARTAO_CREDITO)
FATURAS = Choice("pg:faturas", texts.MINHAS_FATURAS)
GERAR = Choice("ft:boleto", texts.GERAR_BOLETO)
ITENS = Choice("ft:itens", texts.VER_ITENS)
MAX_ITEMS_SHOWN = 40


def _today() -> datetime:
    return datetime.now(UTC)


def _status(summary: FaturaSummary) -> str:
    key = "vencida" if summary.overdue(billing.today(_today())) else summary.status.value
    return texts.FATURA_STATUS[key]


def _day(value: date) -> str:
    return value.strftime("%d/%m/%Y")


def _label(competencia: Competencia) -> str:
    return competencia.label


# -- Pagamento --------------------------------------------------------------------------------


def ask_pagamento(ctx: Ctx, data: Data) -> Text:
    """Show the payment method and the choices."""
    ctx.principal.require_manage()
    data[HISTORY] = ["inicio"]
    profile = gestor_profile.get_profile(ctx.uow, ctx.principal)
    method = texts.PAYMENT_METHODS[profile.payment_method.value]
    return screen(
        texts.PAGAMENTO_TEXT.format(method=method),
        [BOLETO, CARTAO],
        [FATURAS],
        nav(cancel=False, menu=True),
    )


def answer_pagamento(ctx: Ctx, data: Data, body: Body) -> Answer:
    """Switch to boleto, try the card (through the gateway), or open Minhas faturas."""
    choice = chosen(body)
    ctx.principal.require_manage()
    if choice == FATURAS.id:
        return Goto("faturas")
    if choice == BOLETO.id:
        gestor_profile.set_payment_method(ctx.uow, ctx.principal, PaymentMethod.BOLETO)
        return Stay(texts.PAYMENT_SET.format(method=texts.BOLETO_BANCARIO))
    if choice == CARTAO.id:
        setup = ctx.config.billing
        profile = gestor_profile.get_profile(ctx.uow, ctx.principal)
        checkout = (
            setup.gateway.card_checkout(ctx.principal.gestor_id, profile.cnpj) if setup else None
        )
        if checkout is None:
            return Stay(texts.CARD_NOT_CONFIGURED.format(support=ctx.config.support_contact))
        gestor_profile.set_payment_method(ctx.uow, ctx.principal, PaymentMethod.CARTAO)
        link = Text(texts.CARD_CHECKOUT, ((UrlButton(texts.CARD_CHECKOUT_BUTTON, checkout.url),),))
        return Goto("pagamento", before=(link,))
    return Retry(texts.USE_BUTTONS)


# -- Minhas faturas ---------------------------------------------------------------------------


def ask_faturas(ctx: Ctx, data: Data) -> Text:
    """List the faturas, newest first: paid, pending and overdue."""
    data[HISTORY] = ["inicio", "pagamento"]
    faturas = billing.list_faturas(ctx.uow, ctx.principal)
    if not faturas:
        return screen(texts.FATURAS_EMPTY, nav(cancel=False, menu=True))
    lines = "\n".join(
        texts.FATURA_LINE.format(
            competencia=_label(f.competencia),
            total=format_brl(f.total),
            due=_day(f.due_date),
            status=_status(f),
        )
        for f in faturas
    )
    rows = [
        [
            Choice(
                f"ft:{f.id}",
                texts.FATURA_BUTTON.format(
                    competencia=_label(f.competencia), total=format_brl(f.total)
                ),
            )
        ]
        for f in faturas
    ]
    return screen(texts.FATURAS_TEXT.format(lines=lines), *rows, nav(cancel=False, menu=True))


def answer_faturas(ctx: Ctx, data: Data, body: Body) -> Answer:
    """Open a fatura (its id re-checked against the gestor)."""
    fatura_id = int_arg(chosen(body), "ft")
    if fatura_id is None:
        return Retry(texts.USE_BUTTONS)
    billing.get_fatura(ctx.uow, ctx.principal, fatura_id)
    return Goto("fatura", {"fid": fatura_id})


def ask_fatura(ctx: Ctx, data: Data) -> Text:
    """Show one fatura; Gerar boleto while it is pending."""
    detail = billing.get_fatura(ctx.uow, ctx.principal, int(data["fid"]))
    summary = detail.summary
    text = texts.FATURA_TEXT.format(
        competencia=_label(summary.competencia),
        status=_status(summary),
        total=format_brl(summary.total),
        due=_day(summary.due_date),
        lines=summary.lines,
    )
    if summary.paid_at is not None:
        text += texts.FATURA_PAID_ON.format(paid=date_br(summary.paid_at))
    if detail.nosso_numero:
        text += texts.FATURA_NOSSO_NUMERO.format(nosso=detail.nosso_numero)
    actions = [ITENS] + ([GERAR] if summary.status.value == "pendente" else [])
    return screen(text, actions, nav(cancel=False, menu=True))


def answer_fatura(ctx: Ctx, data: Data, body: Body) -> Answer:
    """Show the lines, or send the boleto PDF with its codes."""
    choice = chosen(body)
    fatura_id = int(data["fid"])
    if choice == ITENS.id:
        return Goto("itens")
    if choice != GERAR.id:
        return Retry(texts.USE_BUTTONS)
    setup = ctx.config.billing
    if setup is None:
        raise ServiceError(texts.BILLING_NOT_CONFIGURED)
    made = boletos.generate_boleto(ctx.uow, ctx.principal, fatura_id, setup)
    summary = billing.get_fatura(ctx.uow, ctx.principal, fatura_id).summary
    caption = texts.BOLETO_CAPTION.format(
        competencia=_label(summary.competencia),
        total=format_brl(summary.total),
        due=_day(summary.due_date),
    )
    if not made.registered:
        caption += "\n" + texts.BOLETO_CAPTION_UNREGISTERED
    document = Document(made.name, PDF, made.data, caption)
    codes = Text(texts.BOLETO_CODES.format(linha=made.linha_digitavel, pix=made.pix))
    return Goto("fatura", before=(document, codes))


def ask_itens(ctx: Ctx, data: Data) -> Text:
    """List the fatura's lines: client, plan, 50% price."""
    detail = billing.get_fatura(ctx.uow, ctx.principal, int(data["fid"]))
    shown = detail.items[:MAX_ITEMS_SHOWN]
    lines = [
        texts.FATURA_ITEM_LINE.format(
            name=item.razao_social,
            doc=format_tax_id(item.documento),
            software=item.software,
            plano=item.plano,
            amount=format_brl(item.amount),
            list_price=format_brl(item.list_price),
        )
        for item in shown
    ]
    if len(detail.items) > len(shown):
        lines.append(texts.FATURA_ITEMS_MORE.format(count=len(detail.items) - len(shown)))
    text = texts.FATURA_ITEMS.format(
        competencia=_label(detail.summary.competencia),
        count=len(detail.items),
        lines="\n".join(lines),
        total=format_brl(detail.summary.total),
    )
    return screen(text, nav(cancel=False, menu=True))


def answer_itens(ctx: Ctx, data: Data, body: Body) -> Answer:
    """Only navigation here."""
    chosen(body)
    return Retry(texts.USE_BUTTONS)


PAGAMENTO_STEPS = {
    "pagamento": Step(ask_pagamento, answer_pagamento),
    "faturas": Step(ask_faturas, answer_faturas),
    "fatura": Step(ask_fatura, answer_fatura),
    "itens": Step(ask_itens, answer_itens),
}
