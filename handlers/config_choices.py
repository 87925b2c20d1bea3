"""Sub-flows of Configurações that end in a choice: confirming a new integration key, and
picking a plan (optionally of another software) for the Software screen."""

from __future__ import annotations

from domain.clients import Payer
from domain.money import format_brl
from handlers import texts
from handlers.config_nav import finish
from handlers.core import Answer, Ctx, Data, Flow, Goto, Retry, Step, chosen, int_arg, nav, screen
from services import clients, contracts, integration_keys
from services.messages import Body, Choice, Text

CONFIRM = Choice("key:confirm", texts.CONFIRMAR)
OTHER_SOFTWARE = Choice("sw:other", texts.TROCAR_SOFTWARE)


# -- Gerar nova chave ------------------------------------------------------------------------


def ask_confirm_key(ctx: Ctx, data: Data) -> Text:
    """Warn that the integration stops until the software gets the new key; ask to confirm."""
    name = clients.open_management(ctx.uow, ctx.principal, int(data["cid"])).razao_social
    return screen(texts.CHAVE_CONFIRM.format(name=name), [CONFIRM], nav())


def answer_confirm_key(ctx: Ctx, data: Data, body: Body) -> Answer:
    """Replace the key and show the new one, once."""
    if chosen(body) != CONFIRM.id:
        return Retry(texts.USE_BUTTONS)
    cid = int(data["cid"])
    name = clients.open_management(ctx.uow, ctx.principal, cid).razao_social
    raw = integration_keys.regenerate(ctx.uow, ctx.principal, cid)
    # one tap copies it; the outbox forgets it once delivered
    shown = Text(texts.CHAVE_NEW.format(name=name, key=raw), code=(raw,), sensitive=True)
    return finish(data, before=[shown])


# -- Plano -----------------------------------------------------------------------------------


def ask_plans(ctx: Ctx, data: Data) -> Text:
    """List the plans of the software, with the price this client's payer sees."""
    software_id = data.get("sw")
    name, payer, plans = contracts.plan_options(
        ctx.uow, ctx.principal, int(data["cid"]), int(software_id) if software_id else None
    )
    gestor = payer is Payer.GESTOR
    rows = [
        [
            Choice(
                f"pl:{plan.id}",
                texts.PLAN_BUTTON.format(
                    plan=plan.name, price=format_brl(plan.price_for(gestor_pays=gestor))
                ),
            )
        ]
        for plan in plans
    ]
    lines = [
        (texts.PLAN_LINE_GESTOR if gestor else texts.PLAN_LINE).format(
            plan=plan.name,
            price=format_brl(plan.price_for(gestor_pays=gestor)),
            list_price=format_brl(plan.list_price),
        )
        for plan in plans
    ]
    text = "\n".join([texts.ASK_SOFTWARE_PLAN.format(software=name, payer=payer.label), *lines])
    others = contracts.software_options(ctx.uow, ctx.principal, int(data["cid"]))
    extra = [OTHER_SOFTWARE] if len(others) > 1 else []
    return screen(text, *rows, extra, nav())


def answer_plans(ctx: Ctx, data: Data, body: Body) -> Answer:
    """Take the plan back to the Software screen (saved there with Salvar software)."""
    choice = chosen(body)
    if choice == OTHER_SOFTWARE.id:
        return Goto("softwares")
    plan_id = int_arg(choice, "pl")
    if plan_id is None:
        return Retry(texts.USE_BUTTONS)
    cid = int(data["cid"])
    software_id = data.get("sw") or contracts.get_software(ctx.uow, ctx.principal, cid).software_id
    _, _, plans = contracts.plan_options(ctx.uow, ctx.principal, cid, int(software_id))
    if all(plan.id != plan_id for plan in plans):
        return Retry(texts.PLAN_GONE)
    return finish(data, update={"sw": int(software_id), "pl": plan_id})


def ask_softwares(ctx: Ctx, data: Data) -> Text:
    """List the softwares of the catalog."""
    options = contracts.software_options(ctx.uow, ctx.principal, int(data["cid"]))
    rows = [[Choice(f"sw:{software_id}", name)] for software_id, name in options]
    return screen(texts.ASK_OTHER_SOFTWARE, *rows, nav())


def answer_softwares(ctx: Ctx, data: Data, body: Body) -> Answer:
    """Show the plans of the software chosen."""
    software_id = int_arg(chosen(body), "sw")
    options = contracts.software_options(ctx.uow, ctx.principal, int(data["cid"]))
    if software_id is None or all(software_id != sid for sid, _ in options):
        return Retry(texts.USE_BUTTONS)
    return Goto("planos", {"sw": software_id})


CHAVE_FLOW = Flow("config_chave", {"confirmar": Step(ask_confirm_key, answer_confirm_key)})
PLANO_FLOW = Flow(
    "config_plano",
    {
        "planos": Step(ask_plans, answer_plans),
        "softwares": Step(ask_softwares, answer_softwares),
    },
)
