"""Choosing who pays, the software and the plan, with the price that payer sees (50% when the
gestor pays): the same questions in Novo cadastro and in Enviar link de contratação."""

from __future__ import annotations

from domain.clients import Payer
from domain.money import format_brl
from handlers import texts
from handlers.core import Answer, Ctx, Data, Goto, Retry, chosen, int_arg, nav, screen
from handlers.formatting import payer_label
from services import catalog
from services.errors import NotFound
from services.messages import Body, Choice, Text

PAY_GESTOR = Choice("pay:gestor", texts.GESTOR)
PAY_CLIENTE = Choice("pay:cliente", texts.CLIENTE)


def gestor_pays(data: Data) -> bool:
    return data.get("payer") == Payer.GESTOR.value


def payer_of(choice_id: str) -> Payer:
    return Payer.GESTOR if choice_id == PAY_GESTOR.id else Payer.CLIENTE


def software_question(ctx: Ctx, text: str) -> Text:
    """The catalog's softwares, one button each."""
    rows = [[Choice(f"sw:{s.id}", s.name)] for s in catalog.list_softwares(ctx.uow)]
    return screen(text, *rows, nav())


def software_answer(ctx: Ctx, body: Body) -> Answer:
    """Keep the chosen software (re-checked against the catalog) and ask the plan."""
    software_id = int_arg(chosen(body), "sw")
    if software_id is None or not any(
        s.id == software_id for s in catalog.list_softwares(ctx.uow)
    ):
        return Retry(texts.PLAN_GONE)
    return Goto("plano", {"software_id": software_id})


def plan_question(ctx: Ctx, data: Data, header: str) -> Text:
    """The software's plans with this payer's price; `header` takes {software} and {payer}."""
    paying_gestor = gestor_pays(data)
    software = next(
        (s for s in catalog.list_softwares(ctx.uow) if s.id == data["software_id"]), None
    )
    if software is None:
        raise NotFound(texts.PLAN_GONE)
    lines, rows = [], []
    for plan in software.plans:
        price = format_brl(plan.price_for(gestor_pays=paying_gestor))
        if paying_gestor:
            line = texts.PLAN_LINE_GESTOR.format(
                plan=plan.name, price=price, list_price=format_brl(plan.list_price)
            )
        else:
            line = texts.PLAN_LINE.format(plan=plan.name, price=price)
        lines.append(line)
        label = texts.PLAN_BUTTON.format(plan=plan.name, price=price)
        rows.append([Choice(f"pl:{plan.id}", label)])
    title = header.format(software=software.name, payer=payer_label(Payer(data["payer"])))
    return screen("\n".join([title, *lines]), *rows, nav())
