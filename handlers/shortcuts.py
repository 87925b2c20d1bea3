"""Typed shortcuts: `xml padaria outubro`, `certificado padaria`, `faturas`, `link novo cliente`…
The line is read by domain/shortcuts.py; here the client is found among the gestor's own clients
(through services.clients, so tenancy applies) and the person lands on the very step the buttons
lead to, with its data filled, so that everything after (Voltar included) is the same.

When typed text is a shortcut (the router asks `listens`, then `shortcut_answer`), in this order:
1. Commands (/menu, /cancelar, /ajuda…) are never shortcuts.
2. A step that waits for a typed answer (a CNPJ, an e-mail, a password, a file) takes every text
   as its answer: no shortcut there, ever.
3. A step whose text is an alternative to its buttons (OPTIONAL_TEXT: the Clientes list search, the
   month questions) keeps the text it reads itself — text that finds a client at the list, a month
   at the month question — and only text it does not read may be a shortcut; if it is not one
   either, the step answers as before (an empty search, "não entendi o mês").
4. At a step with buttons only (the menu, a card, Gerenciar…), a shortcut, else "use os botões".
Actions hidden from the contador (Gerenciar, Novo cliente, Pagamento…) are not shortcuts for it
either: its typing behaves as before; the services refuse them anyway.

A shortcut that needs a client and names none uses the client on screen (at its card, in its
Gerenciar, XMLs…); with none on screen, or a name that matches several clients or none, it asks in
the `atalho` flow below, keeping the rest of the shortcut; a model said without a month asks the
month in `atalho_emitidos` / `atalho_relatorios`, and the model is not asked again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from domain.fiscal import Modelo
from domain.month_text import read_month
from domain.shortcuts import Action, Shortcut, match_clients, read_shortcut
from handlers import texts
from handlers.core import (
    CANCEL,
    HISTORY,
    RETURN,
    Answer,
    Ctx,
    Data,
    Flow,
    Goto,
    Retry,
    Step,
    chosen,
    int_arg,
    screen,
)
from handlers.fiscal_emitidos import ICON as EMITIDOS_ICON
from handlers.fiscal_meses import (
    AFTER_MONTH,
    ask_month_for,
    month_label,
    other_month_steps,
    typed_month,
)
from handlers.fiscal_relatorios import ICON as RELATORIOS_ICON
from handlers.menu import help_text
from services import billing, clients, fiscal_documents
from services.billing import FaturaStatus
from services.clients import ClientSummary
from services.conversation import enqueue
from services.errors import NotFound
from services.messages import Body, Choice, Text, TextBody

FLOW = "atalho"
# Clients offered as buttons when a name matches several (more: type more of the name).
MAX_CHOICES = 8
LIST = Choice("sc:lista", texts.CLIENTES)
_FETCH = 500  # clients read per page while matching a name


@dataclass(frozen=True, slots=True)
class Land(Goto):
    """Open `flow`/`step` with exactly `data` (the router does not merge it with where the person
    was), prefixing `confirm` to its question; with `press`, press that button there at once (as
    the buttons would, e.g. NF-e at the model question: the ZIP starts)."""

    confirm: str = ""
    press: str | None = None


# -- is this text a shortcut? ---------------------------------------------------------------


def _search_hits(ctx: Ctx, data: Data, text: str) -> bool:
    """At the Clientes list, text that finds a client (name or CPF/CNPJ) stays a search."""
    query = text.strip()
    if len(query) < 2:
        return True
    page = clients.list_clients(ctx.uow, ctx.principal, query=query[:60], page=1, page_size=1)
    return page.total > 0


def _is_month(ctx: Ctx, data: Data, text: str) -> bool:
    atual = fiscal_documents.competencia_atual(datetime.now(UTC))
    year = data.get("ano")
    return read_month(text, atual, year=int(year) if year else None) is not None


# Steps that take text only as an alternative to their buttons, and how to tell the text they
# read themselves.
OPTIONAL_TEXT: Mapping[tuple[str, str], Callable[[Ctx, Data, str], bool]] = {
    ("clientes", "lista"): _search_hits,
    **{
        (flow, step): _is_month
        for flow in ("emitidos", "relatorios", f"{FLOW}_emitidos", f"{FLOW}_relatorios")
        for step in ("mes", "ano", "mes_do_ano")
    },
}


def listens(ctx: Ctx, flow: str, step_name: str, step: Step, data: Data, text: str) -> bool:
    """Whether typed text at this step may be a shortcut (see the module's precedence)."""
    if not step.accepts_text:
        return True
    reads = OPTIONAL_TEXT.get((flow, step_name))
    return reads is not None and not reads(ctx, data, text)


def shortcut_answer(ctx: Ctx, flow: str, step: str, data: Data, text: str) -> Answer | None:
    """The shortcut typed: a Land, or a Goto to the question of which client; None when the text
    is not a shortcut (for this person)."""
    shortcut = read_shortcut(text, fiscal_documents.competencia_atual(datetime.now(UTC)))
    if shortcut is None:
        return None
    if shortcut.action.gestor_only and not ctx.principal.can_manage:
        return None
    on_screen = data.get("cid") if (flow, step) != ("clientes", "lista") else None
    return resolve(ctx, shortcut, int(on_screen) if on_screen else None)


# -- which client ---------------------------------------------------------------------------


def _own_clients(ctx: Ctx) -> list[ClientSummary]:
    """Every client of the gestor, through the list service (tenancy as in the list)."""
    found: list[ClientSummary] = []
    page = 1
    while True:
        got = clients.list_clients(ctx.uow, ctx.principal, page=page, page_size=_FETCH)
        found.extend(got.items)
        if page >= got.pages:
            return found
        page += 1


def resolve(ctx: Ctx, shortcut: Shortcut, on_screen: int | None) -> Answer:
    if not shortcut.action.client_scoped:
        return land(ctx, shortcut, None)
    if shortcut.client is None:
        if on_screen is not None:
            return land(ctx, shortcut, on_screen)
        return _ask_client(shortcut, [], 0)
    found = match_clients(shortcut.client, _own_clients(ctx))
    if len(found) == 1:
        return land(ctx, shortcut, found[0].id)
    return _ask_client(shortcut, [c.id for c in found[:MAX_CHOICES]], len(found))


def _ask_client(shortcut: Shortcut, ids: list[int], total: int) -> Goto:
    data = {"sc": _encode(shortcut), "ids": ids, "n": total}
    return Goto("cliente", data, flow=FLOW)


def _encode(shortcut: Shortcut) -> dict[str, Any]:
    model = shortcut.model.value if shortcut.model else None
    return {"a": shortcut.action.value, "q": shortcut.client, "m": shortcut.month, "mo": model}


def _decode(data: Data) -> Shortcut:
    raw = data["sc"]
    model = Modelo(raw["mo"]) if raw.get("mo") else None
    return Shortcut(Action(raw["a"]), raw.get("q"), raw.get("m"), model)


def _feature(shortcut: Shortcut) -> str:
    return texts.SHORTCUT_FEATURES[shortcut.action.value] + _detail(shortcut)


def _detail(shortcut: Shortcut) -> str:
    parts = []
    if shortcut.model is not None:
        parts.append(texts.NFE if shortcut.model is Modelo.NFE else texts.NFCE)
    if shortcut.month is not None:
        parts.append(month_label(shortcut.month))
    return texts.SHORTCUT_DETAIL.format(detail=" ".join(parts)) if parts else ""


def ask_which(ctx: Ctx, data: Data) -> Text:
    """Several clients match: one button each. None matches, or none was named: say so and ask
    for part of the name or CPF/CNPJ (with a button per client when the gestor has few)."""
    shortcut = _decode(data)
    feature = _feature(shortcut)
    offered: list[tuple[int, str]] = []  # (id, razão social)
    for client_id in data.get("ids") or ():
        try:
            card = clients.get_client(ctx.uow, ctx.principal, int(client_id))
        except NotFound:
            continue  # gone (or moved to another gestor) since it was matched
        offered.append((card.id, card.razao_social))
    total = int(data.get("n") or len(offered))
    if offered:
        text = texts.SHORTCUT_SEVERAL.format(feature=feature, n=total, query=shortcut.client)
        if total > len(offered):
            text += "\n" + texts.SHORTCUT_MORE.format(shown=len(offered))
    elif shortcut.client:
        text = texts.SHORTCUT_NONE.format(feature=feature, query=shortcut.client)
    else:
        text = texts.SHORTCUT_WHICH_CLIENT.format(feature=feature)
        page = clients.list_clients(ctx.uow, ctx.principal, page=1, page_size=ctx.config.page_size)
        if page.pages == 1:  # few clients: one button each
            offered = [(item.id, item.razao_social) for item in page.items]
    rows = [[Choice(f"c:{client_id}", name)] for client_id, name in offered]
    return screen(text, *rows, [LIST, CANCEL])


def answer_which(ctx: Ctx, data: Data, body: Body) -> Answer:
    """The client pressed (checked again by the service), or another part of a name typed."""
    shortcut = _decode(data)
    if isinstance(body, TextBody):
        query = body.text.strip()
        if len(query) < 2:
            return Retry(texts.SEARCH_TOO_SHORT)
        answer = resolve(
            ctx, Shortcut(shortcut.action, query[:60], shortcut.month, shortcut.model), None
        )
        if isinstance(answer, Goto) and not isinstance(answer, Land):
            return Goto("cliente", dict(answer.data))
        return answer
    choice = chosen(body)
    if choice == LIST.id:
        return Goto("lista", {"q": None, "p": 1}, flow="clientes")
    client_id = int_arg(choice, "c")
    if client_id is None:
        return Retry(texts.USE_BUTTONS)
    return land(ctx, shortcut, client_id)


ATALHO_FLOW = Flow(FLOW, {"cliente": Step(ask_which, answer_which, accepts_text=True)})


# -- the month, when the model was said -----------------------------------------------------------
# `nfce padaria` says the model but not the month: the month question is asked here, the same
# steps as in XMLs emitidos / Relatórios (handlers/fiscal_meses.py), and once the month is known
# the shortcut lands on the model question with the model pressed, as if typed in full.


def _then_land(inner: Step) -> Step:
    def answer(ctx: Ctx, data: Data, body: Body) -> Answer:
        result = inner.answer(ctx, data, body)
        if isinstance(result, Goto) and result.step == AFTER_MONTH:
            shortcut = _decode(data)
            known = Shortcut(shortcut.action, None, str(result.data["comp"]), shortcut.model)
            return land(ctx, known, int(data["cid"]))
        return result

    return Step(inner.ask, answer, accepts_text=inner.accepts_text)


def _month_flow(action: Action, icon: str, feature: str) -> Flow:
    steps = {"mes": ask_month_for(icon, feature), **other_month_steps(icon, feature)}
    return Flow(f"{FLOW}_{action.value}", {name: _then_land(step) for name, step in steps.items()})


MONTH_FLOWS = {
    Action.EMITIDOS: _month_flow(Action.EMITIDOS, EMITIDOS_ICON, texts.XMLS_EMITIDOS),
    Action.RELATORIOS: _month_flow(Action.RELATORIOS, RELATORIOS_ICON, texts.RELATORIOS_FEATURE),
}
ATALHO_FLOWS = (ATALHO_FLOW, *MONTH_FLOWS.values())


# -- where the buttons would have led -------------------------------------------------------------


def _card(client_id: int) -> Data:
    """The client card's data as Clientes › the client leaves it (Voltar: the list)."""
    return {"cid": client_id, "q": None, "p": 1, HISTORY: ["lista"]}


def _manage(client_id: int) -> Data:
    return {"cid": client_id, "q": None, "p": 1, HISTORY: ["lista", "card"]}


def _from_manage(client_id: int) -> Data:
    """A Gerenciar action's data as entered from Gerenciar (Voltar from its first step: there)."""
    ret = {"flow": "clientes", "step": "gerenciar", "data": _manage(client_id)}
    return {"cid": client_id, RETURN: ret}


_FROM_MENU = {"flow": "menu", "step": "inicio", "data": {}}
_FROM_NOVO = {"flow": "novo", "step": "escolha", "data": {}}
# Actions that need no client: (flow, step, data).
_PLACES: Mapping[Action, tuple[str, str, Data]] = {
    Action.NOVO_CLIENTE: ("novo", "escolha", {}),
    Action.NOVO_CADASTRO: ("cadastro", "pagador", {}),
    Action.LINK: ("link", "pagador", {RETURN: _FROM_NOVO}),
    Action.LINKS_ENVIADOS: ("link", "lista", {RETURN: _FROM_NOVO, HISTORY: ["pagador"]}),
    Action.MEUS_DADOS: ("dados", "inicio", {RETURN: _FROM_MENU}),
    Action.SENHA: ("dados", "senha", {RETURN: _FROM_MENU, HISTORY: ["inicio"]}),
    Action.PAGAMENTO: ("dados", "pagamento", {RETURN: _FROM_MENU}),
    Action.FATURAS: ("dados", "faturas", {RETURN: _FROM_MENU}),
}
# Configurações screens, reached from its first step.
_CONFIG_STEPS = {
    Action.CERTIFICADO: "cert",
    Action.CHAVE: "chave",
    Action.CONTRATO: "contrato",
    Action.SOFTWARE: "software",
}


def land(ctx: Ctx, shortcut: Shortcut, client_id: int | None) -> Land:
    """Where the buttons lead for this shortcut, checking role and tenancy as they do."""
    action = shortcut.action
    if action.gestor_only:
        ctx.principal.require_manage()
    if action is Action.AJUDA:
        return Land("inicio", {}, flow="menu", confirm=help_text(ctx))
    if action is Action.CLIENTES:
        # the list's header says it already ("👥 Seus clientes", "🔎 Clientes com …")
        line = texts.SHORTCUT_SEARCH.format(query=shortcut.client) if shortcut.client else ""
        return Land("lista", {"q": shortcut.client, "p": 1}, flow="clientes", confirm=line)
    if action is Action.BOLETO:
        return _boleto(ctx, shortcut)
    if client_id is None:
        flow, step, data = _PLACES[action]
        return Land(step, dict(data), flow=flow, confirm=texts.SHORTCUT_FEATURES[action.value])
    if action is Action.CLIENTE:
        card = clients.get_client(ctx.uow, ctx.principal, client_id)
    else:
        card = clients.open_management(ctx.uow, ctx.principal, client_id)
    line = texts.SHORTCUT_LINES[action.value].format(name=card.razao_social) + _detail(shortcut)
    return _client_place(ctx, shortcut, client_id, line)


def _client_place(ctx: Ctx, shortcut: Shortcut, cid: int, line: str) -> Land:
    action = shortcut.action
    if action is Action.CLIENTE:
        return Land("card", _card(cid), flow="clientes", confirm=line)
    if action is Action.GERENCIAR:
        return Land("gerenciar", _manage(cid), flow="clientes", confirm=line)
    if action is Action.HISTORICO:
        ret = {"flow": "clientes", "step": "card", "data": _card(cid)}
        return Land("lista", {"cid": cid, "p": 1, RETURN: ret}, flow="historico", confirm=line)
    if action is Action.ACESSO:
        return Land("link", _from_manage(cid), flow="acesso", confirm=line)
    if action is Action.CONFIGURACOES:
        return Land("inicio", _from_manage(cid), flow="config", confirm=line)
    if action in _CONFIG_STEPS:
        data = {**_from_manage(cid), HISTORY: ["inicio"]}
        return Land(_CONFIG_STEPS[action], data, flow="config", confirm=line)
    if action is Action.ENVIAR_CERTIFICADO:
        ret = {
            "flow": "config",
            "step": "cert",
            "data": {**_from_manage(cid), HISTORY: ["inicio"]},
        }
        return Land("arquivo", {"cid": cid, RETURN: ret}, flow="config_cert", confirm=line)
    return _fiscal_place(ctx, shortcut, cid, line)


def _fiscal_place(ctx: Ctx, shortcut: Shortcut, cid: int, line: str) -> Land:
    """XMLs emitidos / Relatórios: the month question, else the model question (the month
    typed there, as if typed at the month question), else the model pressed.
    XMLs de fornecedores: the overview, else the month's list (as Buscar mais notas leaves it)."""
    flow = shortcut.action.value
    start = _from_manage(cid)
    if shortcut.month is None and shortcut.action in MONTH_FLOWS and shortcut.model is not None:
        asked = {**start, "sc": _encode(shortcut)}
        return Land("mes", asked, flow=MONTH_FLOWS[shortcut.action].name, confirm=line)
    if shortcut.month is None:
        return Land(_first_step(flow), start, flow=flow, confirm=line)
    month = typed_month(month_label(shortcut.month))
    if isinstance(month, Retry):  # a month still to come: ask the month, saying why
        warning = texts.INVALID_PREFIX.format(message=month.message)
        return Land(_first_step(flow), start, flow=flow, confirm=f"{line}\n\n{warning}")
    competencia = str(shortcut.month)
    if shortcut.action is Action.FORNECEDORES:
        data = {
            **start,
            "f": "m",
            "comp": competencia,
            "pg": 1,
            "ano": int(competencia[:4]),
            HISTORY: ["inicio", "ano", "mes"],
        }
        return Land("lista", data, flow=flow, confirm=line)
    data = {**start, "comp": competencia, HISTORY: ["mes"]}
    if shortcut.model is None:
        return Land("modelo", data, flow=flow, confirm=line)
    # The button starts long work whose notice is queued at once: the confirmation goes first.
    enqueue(ctx.uow, ctx.event, [Text(line)], datetime.now(UTC))
    return Land("modelo", data, flow=flow, press=f"mod:{shortcut.model.value}")


def _first_step(flow: str) -> str:
    return "inicio" if flow == "fornecedores" else "mes"


def _boleto(ctx: Ctx, shortcut: Shortcut) -> Land:
    """The fatura to pay (Gerar boleto is on it): the month's, else the only one pending;
    otherwise Minhas faturas, to pick one."""
    faturas = billing.list_faturas(ctx.uow, ctx.principal)
    if shortcut.month is not None:
        picked = [f for f in faturas if str(f.competencia) == shortcut.month]
    else:
        picked = [f for f in faturas if f.status is FaturaStatus.PENDENTE]
    flow, step, data = _PLACES[Action.FATURAS]
    if len(picked) != 1:
        return Land(step, dict(data), flow=flow, confirm=texts.SHORTCUT_FEATURES["faturas"])
    fatura = picked[0]
    line = texts.SHORTCUT_BOLETO.format(competencia=fatura.competencia.label)
    history = ["inicio", "pagamento", "faturas"]
    return Land("fatura", {**data, "fid": fatura.id, HISTORY: history}, flow=flow, confirm=line)
