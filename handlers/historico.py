"""Histórico: the client's audit log, newest first, a page at a time (gestor only)."""

from __future__ import annotations

import contextlib
from datetime import date
from typing import Any

from domain.documents import format_tax_id
from handlers import texts
from handlers.core import (
    FIRST,
    OFFERED,
    RETURN,
    Answer,
    Ctx,
    Data,
    Flow,
    Goto,
    Retry,
    Step,
    chosen,
    nav,
    screen,
)
from handlers.formatting import datetime_br
from services import history
from services.history import HistoryItem
from services.messages import Body, Choice, Text

HISTORICO = Choice("h:open", texts.HISTORICO)
PREVIOUS = Choice("h:prev", texts.ANTERIOR)
NEXT = Choice("h:next", texts.PROXIMA)
PAGE_SIZE = 5


def open_history(data: Data, *, back_to: tuple[str, str]) -> Goto:
    """Enter Histórico for data["cid"]; Voltar returns to `back_to` (flow, step)."""
    keep = {k: v for k, v in data.items() if k != OFFERED}
    ret = {"flow": back_to[0], "step": back_to[1], "data": keep}
    return Goto(FIRST, {"cid": int(data["cid"]), "p": 1, RETURN: ret}, flow=HISTORICO_FLOW.name)


def _value(key: str, value: Any) -> str:
    if value is None:
        return "—"
    text = str(value)
    if key == "documento":
        return format_tax_id(text)
    if key == "validade":
        with contextlib.suppress(ValueError):
            return date.fromisoformat(text).strftime("%d/%m/%Y")
    if key in ("status", "pagador"):
        return texts.STATUS_LABELS.get(text) or text.capitalize()
    if key == "pacote_mensal":
        return texts.PACOTE_ON if value else texts.PACOTE_OFF
    return text


def _details(item: HistoryItem) -> str:
    before, after = item.before or {}, item.after or {}
    if item.action == "client.register":
        return ""
    lines = []
    for key in (*before, *(k for k in after if k not in before)):
        if key == "fingerprint":
            continue
        label = texts.HISTORICO_FIELDS.get(key, key)
        if key in before and key in after:
            if before[key] != after[key]:
                lines.append(
                    f"\n  {label}: {_value(key, before[key])} → {_value(key, after[key])}"
                )
        elif key in after:
            lines.append(f"\n  {label}: {_value(key, after[key])}")
    return "".join(lines)


def _line(item: HistoryItem) -> str:
    who = item.actor_name or item.actor
    when = datetime_br(item.at)
    what = texts.HISTORICO_ACTIONS.get(item.action, item.action)
    return texts.HISTORICO_LINE.format(when=when, who=who, what=what, details=_details(item))


def ask_history(ctx: Ctx, data: Data) -> Text:
    """Show one page of the audit log."""
    page = history.client_history(
        ctx.uow, ctx.principal, int(data["cid"]), page=int(data.get("p", 1)), page_size=PAGE_SIZE
    )
    data["p"] = page.page
    back = nav(cancel=False, menu=True)
    if page.total == 0:
        return screen(texts.HISTORICO_EMPTY.format(name=page.client_name), back)
    header = texts.HISTORICO_TEXT.format(name=page.client_name, page=page.page, pages=page.pages)
    body = "\n\n".join(_line(item) for item in page.items)
    paging = [b for b, show in ((PREVIOUS, page.page > 1), (NEXT, page.page < page.pages)) if show]
    return screen(f"{header}\n\n{body}", paging, back)


def answer_history(ctx: Ctx, data: Data, body: Body) -> Answer:
    """Turn the page."""
    choice = chosen(body)
    page = int(data.get("p", 1))
    if choice == PREVIOUS.id:
        return Goto("lista", {"p": page - 1})
    if choice == NEXT.id:
        return Goto("lista", {"p": page + 1})
    return Retry(texts.USE_BUTTONS)


HISTORICO_FLOW = Flow("historico", {"lista": Step(ask_history, answer_history)})
