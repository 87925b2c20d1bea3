"""The main menu and Ajuda."""

from __future__ import annotations

from handlers import texts
from handlers.core import Answer, Ctx, Data, Flow, Goto, Stay, Step, chosen, enter, screen
from handlers.pendencias import MENU_ENTRY, menu_choice, open_list
from services.messages import Body, Choice, Text

CLIENTES = Choice("m:clientes", texts.CLIENTES)
NOVO = Choice("m:novo", texts.NOVO_CLIENTE)
DADOS = Choice("m:dados", texts.MEUS_DADOS)
AJUDA = Choice("m:ajuda", texts.AJUDA)
CONSULTAR = Choice("m:consulta", texts.CONSULTAR_NOTA)


def help_text(ctx: Ctx) -> str:
    return texts.HELP.format(support=ctx.config.support_contact)


def ask_menu(ctx: Ctx, data: Data) -> Text:
    """Show the main menu (a contador cannot add clients, so it gets no Novo cliente)."""
    pendencias = [menu_choice(ctx)]  # last: the numbers of the other entries stay as they were
    if not ctx.principal.can_manage:
        return screen(texts.MENU_TEXT, [CLIENTES], [CONSULTAR], [DADOS, AJUDA], pendencias)
    return screen(texts.MENU_TEXT, [CLIENTES, NOVO], [CONSULTAR], [DADOS, AJUDA], pendencias)


def answer_menu(ctx: Ctx, data: Data, body: Body) -> Answer:
    """Open the chosen entry."""
    choice = chosen(body)
    if choice == CLIENTES.id:
        return Goto("lista", {"q": None, "p": 1}, flow="clientes")
    if choice == NOVO.id:
        return Goto("escolha", flow="novo")
    if choice == MENU_ENTRY:
        return open_list()
    if choice == CONSULTAR.id:
        return Goto("chave", {"r": None}, flow="consulta")
    if choice == DADOS.id:
        return enter(DADOS, {}, back_to=("menu", "inicio", data))
    return Stay(help_text(ctx))


MENU_FLOW = Flow("menu", {"inicio": Step(ask_menu, answer_menu)})
