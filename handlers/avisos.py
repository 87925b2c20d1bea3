"""Meus dados › Avisos: turn each kind of automatic reminder on or off."""

from __future__ import annotations

from handlers import texts
from handlers.core import (
    HISTORY,
    Answer,
    Ctx,
    Data,
    Goto,
    Retry,
    Step,
    choice_arg,
    chosen,
    nav,
    screen,
)
from services import notice_settings
from services.messages import Body, Choice, Text
from services.reminders import MUTABLE_KINDS


def _lines(muted: set[str]) -> str:
    return "\n".join(
        texts.AVISO_LINE.format(
            mark=texts.AVISO_OFF if kind in muted else texts.AVISO_ON,
            label=texts.AVISO_LABELS[kind],
        )
        for kind in MUTABLE_KINDS
    )


def ask_avisos(ctx: Ctx, data: Data) -> Text:
    """Show each kind of reminder as on or off, with a toggle each (gestor role)."""
    data[HISTORY] = ["inicio"]
    muted = notice_settings.muted_kinds(ctx.uow, ctx.principal)
    if not ctx.principal.can_manage:
        text = texts.AVISOS_TEXT_CONTADOR.format(lines=_lines(muted))
        return screen(text, nav(cancel=False, menu=True))
    toggles = [
        [
            Choice(
                f"av:{kind}",
                (texts.AVISO_TOGGLE_ON if kind in muted else texts.AVISO_TOGGLE_OFF).format(
                    label=texts.AVISO_LABELS[kind]
                ),
            )
        ]
        for kind in MUTABLE_KINDS
    ]
    text = texts.AVISOS_TEXT.format(lines=_lines(muted))
    return screen(text, *toggles, nav(cancel=False, menu=True))


def answer_avisos(ctx: Ctx, data: Data, body: Body) -> Answer:
    """Flip the chosen kind (the service refuses a contador)."""
    kind = choice_arg(chosen(body), "av")
    if kind is None or kind not in MUTABLE_KINDS:
        return Retry(texts.USE_BUTTONS)
    muted = kind not in notice_settings.muted_kinds(ctx.uow, ctx.principal)
    notice_settings.set_muted(ctx.uow, ctx.principal, kind, muted=muted)
    label = texts.AVISO_LABELS[kind]
    said = (texts.AVISO_MUTED if muted else texts.AVISO_UNMUTED).format(label=label)
    return Goto("avisos", before=(Text(said),))


AVISOS_STEPS = {"avisos": Step(ask_avisos, answer_avisos)}
