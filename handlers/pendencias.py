"""Pendências: what needs the office across all its clients, a page at a time, most urgent
first, grouped by kind. Each item is a button straight to its action: a global `go:` id, so the
router opens it from here or from the daily digest, and the services re-check role and tenancy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from domain.billing import parse_competencia
from domain.pendencias import Group, Kind
from domain.text import fill, format_number
from handlers import texts
from handlers.core import (
    GO,
    MENU,
    RETURN,
    Answer,
    Ctx,
    Data,
    Flow,
    Goto,
    Retry,
    Step,
    chosen,
    go_card,
    go_cert,
    go_pendentes,
    screen,
)
from handlers.faturas import GERAR
from handlers.formatting import SAO_PAULO
from handlers.go import Opened, Opener, Screen, by_id
from services import billing, contracts, links, pendencias
from services.conversation import State
from services.messages import Body, Choice, Outbound, Text
from services.pendencias import Item
from services.reminders import certificate_when

FLOW = "pendencias"
# 7 items + Anterior, Próxima and Menu: 10 buttons, one WhatsApp list without "Mais opções".
PAGE_SIZE = 7
PREVIOUS = Choice("p:prev", texts.ANTERIOR)
NEXT = Choice("p:next", texts.PROXIMA)
MENU_ENTRY = "m:pend"


def go_pendencias() -> str:
    """The id of a button that opens the list from anywhere (the digest's)."""
    return f"{GO}pend"


def go_contrato(client_id: int) -> str:
    return f"{GO}ctr:{client_id}"


def go_fatura(fatura_id: int) -> str:
    return f"{GO}fat:{fatura_id}"


def go_link(link_id: int) -> str:
    return f"{GO}lnk:{link_id}"


def menu_choice(ctx: Ctx) -> Choice:
    """`Pendências (N)` for the main menu: N is what this role sees."""
    count = pendencias.count(ctx.uow, ctx.principal, options=ctx.config.pendencias)
    return Choice(MENU_ENTRY, texts.PENDENCIAS_BUTTON.format(count=format_number(count)))


def open_list() -> Goto:
    return Goto("lista", {"p": 1}, flow=FLOW)


# -- the list ------------------------------------------------------------------------------------


def _day(value: date | None) -> str:
    return value.strftime("%d/%m/%Y") if value is not None else "—"


def _title(ctx: Ctx, group: Group) -> str:
    titles = texts.PENDENCIAS_TITLES
    if not ctx.principal.can_manage:
        titles = {**titles, **texts.PENDENCIAS_TITLES_CONTADOR}
    title = titles[group.kind.value].format(dias=ctx.config.pendencias.teste_alerta_dias)
    overdue = fill(texts.PENDENCIAS_GROUP_OVERDUE, overdue=group.overdue) if group.overdue else ""
    count = format_number(group.count)
    return texts.PENDENCIAS_GROUP.format(title=title, count=count, overdue=overdue)


def _line(item: Item, n: int) -> str:
    if item.kind is Kind.CERTIFICADO:
        left = (item.due - _today()).days if item.due else 0
        when = certificate_when(left)
        return texts.PENDENCIA_CERT.format(n=n, name=item.name, when=when, until=_day(item.due))
    if item.kind is Kind.FATURA:
        when = texts.PENDENCIA_FATURA_VENCIDA if item.overdue else texts.PENDENCIA_FATURA_VENCE
        label = parse_competencia(item.name).label
        return texts.PENDENCIA_FATURA.format(n=n, competencia=label, when=when, due=_day(item.due))
    if item.kind is Kind.LINK:
        return texts.PENDENCIA_LINK.format(
            n=n,
            software=item.name,
            plan=item.detail or "",
            opened=_day(item.since),
            expires=_day(item.due),
        )
    if item.kind is Kind.TESTE:
        return texts.PENDENCIA_TESTE.format(n=n, name=item.name, since=_day(item.since))
    if item.kind is Kind.SEM_NOTAS:
        month = parse_competencia(item.detail).label if item.detail else ""
        return texts.PENDENCIA_SEM_NOTAS.format(n=n, name=item.name, competencia=month)
    if item.kind in (Kind.MANIFESTACAO, Kind.RESUMO_SEM_XML):
        template = (
            texts.PENDENCIA_MANIFESTACAO
            if item.kind is Kind.MANIFESTACAO
            else texts.PENDENCIA_RESUMO
        )
        left = (item.due - _today()).days if item.due else 0
        return template.format(
            n=n,
            name=item.name,
            emitente=item.detail or "—",
            until=_day(item.due),
            left=fill(texts.PENDENCIA_DIAS, dias=left),
        )
    return texts.PENDENCIA_BUTTON.format(n=n, name=item.name)  # a kind still without its words


def _today() -> date:
    return datetime.now(UTC).astimezone(SAO_PAULO).date()


def _button(ctx: Ctx, item: Item, n: int) -> Choice:
    """The item's action: what the role may do with it, else the client's card."""
    manage = ctx.principal.can_manage
    if item.kind is Kind.FATURA:
        label = parse_competencia(item.name).label
        return Choice(
            go_fatura(item.object_id), texts.PENDENCIA_BUTTON_FATURA.format(n=n, competencia=label)
        )
    if item.kind is Kind.LINK:
        return Choice(
            go_link(item.object_id), texts.PENDENCIA_BUTTON_LINK.format(n=n, software=item.name)
        )
    client_id = item.client_id or item.object_id
    label = texts.PENDENCIA_BUTTON.format(n=n, name=item.name)
    if item.kind in (Kind.MANIFESTACAO, Kind.RESUMO_SEM_XML):  # the client's pending notes
        return Choice(go_pendentes(client_id), label)
    if manage and item.kind is Kind.CERTIFICADO:
        return Choice(go_cert(client_id), label)
    if manage and item.kind is Kind.TESTE:
        return Choice(go_contrato(client_id), label)
    return Choice(go_card(client_id), label)


def ask_list(ctx: Ctx, data: Data) -> Text:
    """Show one page: the groups it touches with their counts, an item per line and button."""
    page = pendencias.list_page(
        ctx.uow,
        ctx.principal,
        page=int(data.get("p", 1)),
        page_size=PAGE_SIZE,
        options=ctx.config.pendencias,
    )
    data["p"] = page.page
    if page.total == 0:
        return screen(texts.PENDENCIAS_EMPTY, [MENU])
    lines = [fill(texts.PENDENCIAS_HEADER, total=page.total, page=page.page, pages=page.pages)]
    groups = {group.kind: group for group in page.groups}
    first = (page.page - 1) * PAGE_SIZE
    rows: list[list[Choice]] = []
    shown: Kind | None = None
    for i, item in enumerate(page.items):
        if item.kind is not shown:
            lines += ["", _title(ctx, groups[item.kind])]
            shown = item.kind
        lines.append(_line(item, first + i + 1))
        rows.append([_button(ctx, item, first + i + 1)])
    paging = [b for b, show in ((PREVIOUS, page.page > 1), (NEXT, page.page < page.pages)) if show]
    lines += ["", texts.PENDENCIAS_HINT]
    return screen("\n".join(lines), *rows, paging, [MENU])


def answer_list(ctx: Ctx, data: Data, body: Body) -> Answer:
    """Turn the page (the items' buttons are `go:` ids the router opens)."""
    choice = chosen(body)
    if choice == PREVIOUS.id:
        return Goto("lista", {"p": int(data.get("p", 1)) - 1})
    if choice == NEXT.id:
        return Goto("lista", {"p": int(data.get("p", 1)) + 1})
    return Retry(texts.USE_BUTTONS)


PENDENCIAS_FLOW = Flow(FLOW, {"lista": Step(ask_list, answer_list)})


# -- where an item's button leads ----------------------------------------------------------------
# Voltar from there comes back to the list, at the page the person was on.


def _back(data: Data) -> Data:
    return {"flow": FLOW, "step": "lista", "data": {"p": int(data.get("p", 1))}}


def _open_list(ctx: Ctx, args: Sequence[str], data: Data) -> Opened:
    """The digest's Ver pendências."""
    return Screen(State(FLOW, "lista", {"p": 1})) if not args else texts.EXPIRED


def _contrato(ctx: Ctx, client_id: int, args: Sequence[str], data: Data) -> Opened:
    contracts.get_contract(ctx.uow, ctx.principal, client_id)  # gestor role, own client
    return Screen(State("config", "contrato", {"cid": client_id, RETURN: _back(data)}))


def _fatura(ctx: Ctx, fatura_id: int, args: Sequence[str], data: Data) -> Opened:
    pendencias.require_kind(ctx.principal, Kind.FATURA)
    billing.get_fatura(ctx.uow, ctx.principal, fatura_id)
    state = State("dados", "fatura", {"fid": fatura_id, RETURN: _back(data)})
    return Screen(state, press=GERAR.id)


def _link(ctx: Ctx, link_id: int, args: Sequence[str], data: Data) -> Opened:
    pendencias.require_kind(ctx.principal, Kind.LINK)
    links.get_link(ctx.uow, ctx.principal, link_id)
    return Screen(State("link", "detalhe", {"sel": link_id, RETURN: _back(data)}))


# Pendências' own `go:` kinds (its other buttons are the notices', handlers/push.py); the
# router opens them through handlers/go.py, the object re-checked now.
OPENERS: Mapping[str, Opener] = {
    "pend": _open_list,
    "ctr": by_id(_contrato),
    "fat": by_id(_fatura),
    "lnk": by_id(_link),
}


# -- the daily digest ----------------------------------------------------------------------------


def _overdue(count: object) -> str:
    return fill(texts.PENDENCIAS_DIGEST_OVERDUE, n=int(str(count))) if count else ""


def render_digest(ctx: Ctx, data: dict[str, Any]) -> Sequence[Outbound]:
    """One message with the counts per kind this role sees, and Ver pendências."""
    visible = {kind.value for kind in pendencias.kinds_for(ctx.principal)}
    counts = {k: int(v) for k, v in dict(data.get("counts", {})).items() if k in visible}
    fresh = sum(int(v) for k, v in dict(data.get("new", {})).items() if k in visible)
    if not fresh:
        return []  # nothing new for this role: the others' news are not its business
    overdue = dict(data.get("overdue", {}))
    lines = [
        texts.PENDENCIAS_DIGEST_LINE.format(
            title=texts.PENDENCIAS_DIGEST_TITLES[kind.value],
            count=format_number(counts[kind.value]),
        )
        + _overdue(overdue.get(kind.value))
        for kind in Kind
        if counts.get(kind.value)
    ]
    text = texts.PENDENCIAS_DIGEST.format(
        new=fill(texts.PENDENCIAS_DIGEST_NEW, n=fresh), lines="\n".join(lines)
    )
    return [Text(text, ((Choice(go_pendencias(), texts.VER_PENDENCIAS),),))]
