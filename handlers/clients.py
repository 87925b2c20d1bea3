"""Clientes: the paginated list, search by typing, the client card and Gerenciar."""

from __future__ import annotations

from domain.documents import format_tax_id
from handlers import texts
from handlers.core import (
    MENU,
    Answer,
    Ctx,
    Data,
    Flow,
    Goto,
    Retry,
    Step,
    chosen,
    enter,
    int_arg,
    nav,
    screen,
)
from handlers.formatting import client_card_text, status_label
from handlers.historico import HISTORICO, open_history
from services import clients
from services.errors import NotFound
from services.messages import Body, Choice, Text, TextBody

PREVIOUS = Choice("p:prev", texts.ANTERIOR)
NEXT = Choice("p:next", texts.PROXIMA)
ALL = Choice("p:all", texts.VER_TODOS)
MANAGE = Choice("g:open", texts.GERENCIAR)

ACTIONS = (
    Choice("a:software", texts.ACESSAR_SOFTWARE),
    Choice("a:relatorios", texts.RELATORIOS),
    Choice("a:fornecedores", texts.XMLS_FORNECEDORES),
    Choice("a:emitidos", texts.XMLS_EMITIDOS),
    Choice("a:config", texts.CONFIGURACOES),
)


def page_size(ctx: Ctx, data: Data) -> int:
    """Clients per page: the configured size, fewer where a list holds few rows (WhatsApp: 10),
    so Anterior, Próxima, Menu (and Ver todos after a search) always fit beside them."""
    navigation = 3 + (1 if data.get("q") else 0)
    return ctx.event.capabilities.page_size(ctx.config.page_size, navigation)


def ask_list(ctx: Ctx, data: Data) -> Text:
    """Show one page of clients, with a button per client and page navigation."""
    size = page_size(ctx, data)
    page = clients.list_clients(
        ctx.uow, ctx.principal, query=data.get("q"), page=int(data.get("p", 1)), page_size=size
    )
    data["p"] = page.page
    if page.total == 0 and page.query:
        return screen(texts.LIST_SEARCH_EMPTY.format(query=page.query), [ALL, MENU])
    if page.total == 0:
        return screen(texts.LIST_EMPTY, [MENU])
    header = (
        texts.LIST_HEADER_SEARCH.format(
            query=page.query, total=page.total, page=page.page, pages=page.pages
        )
        if page.query
        else texts.LIST_HEADER.format(total=page.total, page=page.page, pages=page.pages)
    )
    first = (page.page - 1) * size
    lines = [
        texts.LIST_LINE.format(
            n=first + i + 1,
            name=item.razao_social,
            doc=format_tax_id(item.documento),
            status=status_label(item.status),
        )
        for i, item in enumerate(page.items)
    ]
    rows = [[Choice(f"c:{item.id}", item.razao_social)] for item in page.items]
    paging = [b for b, show in ((PREVIOUS, page.page > 1), (NEXT, page.page < page.pages)) if show]
    footer = [ALL, MENU] if page.query else [MENU]
    text = "\n".join([header, "", *lines, "", texts.LIST_HINT])
    return screen(text, *rows, paging, footer)


def answer_list(ctx: Ctx, data: Data, body: Body) -> Answer:
    """Open a client, turn the page, or search for what was typed."""
    if isinstance(body, TextBody):
        query = body.text.strip()
        if len(query) < 2:
            return Retry(texts.SEARCH_TOO_SHORT)
        return Goto("lista", {"q": query[:60], "p": 1})
    choice = chosen(body)
    if choice == PREVIOUS.id:
        return Goto("lista", {"p": int(data.get("p", 1)) - 1})
    if choice == NEXT.id:
        return Goto("lista", {"p": int(data.get("p", 1)) + 1})
    if choice == ALL.id:
        return Goto("lista", {"q": None, "p": 1})
    client_id = int_arg(choice, "c")
    if client_id is None:
        return Retry(texts.USE_BUTTONS)
    # Re-check tenancy now: the id came from a button.
    clients.get_client(ctx.uow, ctx.principal, client_id)
    return Goto("card", {"cid": client_id})


def ask_card(ctx: Ctx, data: Data) -> Text:
    """Show the client card; Gerenciar only for the gestor role."""
    card = clients.get_client(ctx.uow, ctx.principal, int(data["cid"]))
    manage = [MANAGE, HISTORICO] if ctx.principal.can_manage else []
    return screen(client_card_text(card), manage, nav(cancel=False, menu=True))


def answer_card(ctx: Ctx, data: Data, body: Body) -> Answer:
    """Open Gerenciar for this client."""
    choice = chosen(body)
    if choice == MANAGE.id:
        clients.open_management(ctx.uow, ctx.principal, int(data["cid"]))
        return Goto("gerenciar")
    if choice == HISTORICO.id:
        return open_history(data, back_to=("clientes", "card"))
    return Retry(texts.USE_BUTTONS)


def ask_manage(ctx: Ctx, data: Data) -> Text:
    """Show the five Gerenciar actions."""
    card = clients.open_management(ctx.uow, ctx.principal, int(data["cid"]))
    rows = [[action] for action in ACTIONS]
    return screen(
        texts.GERENCIAR_TEXT.format(name=card.razao_social), *rows, nav(cancel=False, menu=True)
    )


def answer_manage(ctx: Ctx, data: Data, body: Body) -> Answer:
    """Run a Gerenciar action (each arrives with its own issue)."""
    choice = chosen(body)
    clients.open_management(ctx.uow, ctx.principal, int(data["cid"]))
    for item in ACTIONS:
        if item.id == choice:
            return enter(item, {"cid": int(data["cid"])}, back_to=("clientes", "gerenciar", data))
    return Retry(texts.USE_BUTTONS)


CLIENTES_FLOW = Flow(
    "clientes",
    {
        "lista": Step(ask_list, answer_list, accepts_text=True),
        "card": Step(ask_card, answer_card),
        "gerenciar": Step(ask_manage, answer_manage),
    },
)

__all__ = ["CLIENTES_FLOW", "NotFound"]
