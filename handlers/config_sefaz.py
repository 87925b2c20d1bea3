"""Configurações › Conexão SEFAZ: Captura de notas and Ciência automática, on/off."""

from __future__ import annotations

from handlers import texts
from handlers.core import Answer, Ctx, Data, Goto, Retry, chosen, nav, screen
from services import clients, sefaz_manifest
from services.messages import Body, Choice, Text

SWITCH_CAPTURA = "sz:cap"
SWITCH_CIENCIA = "sz:cie"


def _line(label: str, on: bool) -> str:
    state = texts.SEFAZ_ON if on else texts.SEFAZ_OFF
    return texts.SEFAZ_SWITCH_LINE.format(mark="🟢" if on else "⚪", label=label, state=state)


def _toggle(choice_id: str, label: str, on: bool) -> Choice:
    template = texts.AVISO_TOGGLE_ON if not on else texts.AVISO_TOGGLE_OFF
    return Choice(choice_id, template.format(label=label))


def ask_sefaz(ctx: Ctx, data: Data) -> Text:
    """Show both switches with a toggle each."""
    cid = int(data["cid"])
    name = clients.open_management(ctx.uow, ctx.principal, cid).razao_social
    now = sefaz_manifest.switches(ctx.uow, ctx.principal, cid)
    text = texts.SEFAZ_CONFIG_TEXT.format(
        name=name,
        captura=_line(texts.SEFAZ_CAPTURA, now.captura),
        ciencia=_line(texts.SEFAZ_CIENCIA, now.ciencia_automatica),
    )
    return screen(
        text,
        [_toggle(SWITCH_CAPTURA, texts.SEFAZ_CAPTURA, now.captura)],
        [_toggle(SWITCH_CIENCIA, texts.SEFAZ_CIENCIA, now.ciencia_automatica)],
        nav(cancel=False, menu=True),
    )


def answer_sefaz(ctx: Ctx, data: Data, body: Body) -> Answer:
    """Flip the chosen switch (the service checks role and tenancy)."""
    choice, cid = chosen(body), int(data["cid"])
    now = sefaz_manifest.switches(ctx.uow, ctx.principal, cid)
    if choice == SWITCH_CAPTURA:
        after = sefaz_manifest.set_switches(ctx.uow, ctx.principal, cid, captura=not now.captura)
        label, on = texts.SEFAZ_CAPTURA, after.captura
    elif choice == SWITCH_CIENCIA:
        after = sefaz_manifest.set_switches(
            ctx.uow, ctx.principal, cid, ciencia_automatica=not now.ciencia_automatica
        )
        label, on = texts.SEFAZ_CIENCIA, after.ciencia_automatica
    else:
        return Retry(texts.USE_BUTTONS)
    said = texts.SEFAZ_SWITCHED.format(
        label=label, state=texts.SEFAZ_ON if on else texts.SEFAZ_OFF
    )
    return Goto("sefaz", before=[Text(said)])
