"""Novo cliente and the Novo cadastro dialogue (payer → software → plan → company data)."""

from __future__ import annotations

from domain.clients import Payer
from domain.contacts import (
    format_cep,
    format_phone,
    parse_address,
    parse_cep,
    parse_company_name,
    parse_email,
    parse_phone,
)
from domain.documents import format_tax_id, parse_tax_id
from domain.errors import InvalidValue
from domain.money import format_brl
from handlers import texts
from handlers.core import (
    HISTORY,
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
    typed,
)
from handlers.formatting import doc_label, payer_label
from handlers.plan_picker import (
    PAY_CLIENTE,
    PAY_GESTOR,
    gestor_pays,
    payer_of,
    plan_question,
    software_answer,
    software_question,
)
from services import catalog, clients
from services.messages import Body, Choice, ChoiceBody, Text

LINK = Choice("n:link", texts.ENVIAR_LINK)
CADASTRO = Choice("n:cadastro", texts.NOVO_CADASTRO)
SKIP = Choice("skip", texts.PULAR)
CONFIRM = Choice("ok", texts.CADASTRAR)


def ask_novo(ctx: Ctx, data: Data) -> Text:
    """Offer the two ways of adding a client."""
    return screen(texts.NOVO_TEXT, [LINK], [CADASTRO], nav(back=False, cancel=False, menu=True))


def answer_novo(ctx: Ctx, data: Data, body: Body) -> Answer:
    """Start Novo cadastro (the contracting link arrives with its own issue)."""
    choice = chosen(body)
    ctx.principal.require_manage()
    if choice == CADASTRO.id:
        return Goto("pagador", flow="cadastro")
    return enter(LINK, {}, back_to=("novo", "escolha", data))


NOVO_FLOW = Flow("novo", {"escolha": Step(ask_novo, answer_novo)})


def ask_payer(ctx: Ctx, data: Data) -> Text:
    """Ask who pays the monthly fee."""
    return screen(texts.ASK_PAYER, [PAY_GESTOR, PAY_CLIENTE], nav(back=False))


def answer_payer(ctx: Ctx, data: Data, body: Body) -> Answer:
    """Keep the payer."""
    return Goto("software", {"payer": payer_of(chosen(body)).value})


def ask_software(ctx: Ctx, data: Data) -> Text:
    """List the catalog's softwares."""
    return software_question(ctx, texts.ASK_SOFTWARE)


def answer_software(ctx: Ctx, data: Data, body: Body) -> Answer:
    """Keep the chosen software."""
    return software_answer(ctx, body)


def ask_plan(ctx: Ctx, data: Data) -> Text:
    """List the software's plans with the price for this payer (50% when the gestor pays)."""
    return plan_question(ctx, data, texts.ASK_PLAN)


def answer_plan(ctx: Ctx, data: Data, body: Body) -> Answer:
    """Keep the chosen plan (re-checked against the catalog)."""
    choice = chosen(body)
    plan_id = int_arg(choice, "pl")
    if plan_id is None:
        return Retry(texts.USE_BUTTONS)
    catalog.get_plan(ctx.uow, int(data["software_id"]), plan_id)
    return Goto("documento", {"plan_id": plan_id})


def ask_doc(ctx: Ctx, data: Data) -> Text:
    """Ask the CPF or CNPJ."""
    return screen(texts.ASK_DOC, nav())


def answer_doc(ctx: Ctx, data: Data, body: Body) -> Answer:
    """Validate the CPF/CNPJ (alphanumeric CNPJ included) and refuse duplicates."""
    text = typed(body)
    tax_id = parse_tax_id(text)
    clients.check_documento_free(ctx.uow, ctx.principal, tax_id.value)
    return Goto("razao", {"documento": tax_id.value})


def ask_razao(ctx: Ctx, data: Data) -> Text:
    """Ask the razão social."""
    return screen(texts.ASK_RAZAO, nav())


def answer_razao(ctx: Ctx, data: Data, body: Body) -> Answer:
    """Keep the razão social."""
    text = typed(body)
    return Goto("fantasia", {"razao": parse_company_name(text)})


def ask_fantasia(ctx: Ctx, data: Data) -> Text:
    """Ask the nome fantasia (optional)."""
    return screen(texts.ASK_FANTASIA, [SKIP], nav())


def answer_fantasia(ctx: Ctx, data: Data, body: Body) -> Answer:
    """Keep the nome fantasia, or none."""
    if isinstance(body, ChoiceBody):
        return Goto("email", {"fantasia": None})
    text = typed(body)
    name = parse_company_name(text, field="nome_fantasia", label="o nome fantasia")
    return Goto("email", {"fantasia": name})


def ask_email(ctx: Ctx, data: Data) -> Text:
    """Ask the client's e-mail (its login)."""
    return screen(texts.ASK_EMAIL, nav())


def answer_email(ctx: Ctx, data: Data, body: Body) -> Answer:
    """Validate the e-mail; warn and ask again when it is one of the gestor's own."""
    text = typed(body)
    email = parse_email(text)
    if clients.is_own_email(ctx.uow, ctx.principal, email):
        return Retry(texts.OWN_EMAIL.format(email=email))
    return Goto("telefone", {"email": email})


def ask_phone(ctx: Ctx, data: Data) -> Text:
    """Ask the telephone."""
    return screen(texts.ASK_PHONE, nav())


def answer_phone(ctx: Ctx, data: Data, body: Body) -> Answer:
    """Keep the telephone in E.164."""
    text = typed(body)
    return Goto("cep", {"telefone": parse_phone(text)})


def ask_cep(ctx: Ctx, data: Data) -> Text:
    """Ask the CEP."""
    return screen(texts.ASK_CEP, nav())


def answer_cep(ctx: Ctx, data: Data, body: Body) -> Answer:
    """Keep the CEP."""
    text = typed(body)
    return Goto("endereco", {"cep": parse_cep(text)})


def ask_address(ctx: Ctx, data: Data) -> Text:
    """Ask the address, ending in city/UF."""
    return screen(texts.ASK_ADDRESS, nav())


def answer_address(ctx: Ctx, data: Data, body: Body) -> Answer:
    """Keep the address."""
    text = typed(body)
    return Goto("resumo", {"endereco": parse_address(text).one_line})


def ask_summary(ctx: Ctx, data: Data) -> Text:
    """Show everything collected before saving."""
    software, plan = catalog.get_plan(ctx.uow, int(data["software_id"]), int(data["plan_id"]))
    text = texts.SUMMARY.format(
        payer=payer_label(Payer(data["payer"])),
        software=software.name,
        plano=plan.name,
        price=format_brl(plan.price_for(gestor_pays=gestor_pays(data))),
        doc_label=doc_label(data["documento"]),
        doc=format_tax_id(data["documento"]),
        razao=data["razao"],
        fantasia=data.get("fantasia") or texts.NOT_INFORMED,
        email=data["email"],
        telefone=format_phone(data["telefone"]),
        cep=format_cep(data["cep"]),
        endereco=data["endereco"],
    )
    return screen(text, [CONFIRM], nav())


def answer_summary(ctx: Ctx, data: Data, body: Body) -> Answer:
    """Register the client (status Teste) and open its card."""
    choice = chosen(body)
    if choice != CONFIRM.id:
        return Retry(texts.USE_BUTTONS)
    try:
        card = clients.register_client(
            ctx.uow,
            ctx.principal,
            clients.NewClient(
                payer=Payer(data["payer"]),
                software_id=int(data["software_id"]),
                plan_id=int(data["plan_id"]),
                documento=data["documento"],
                razao_social=data["razao"],
                nome_fantasia=data.get("fantasia"),
                email=data["email"],
                telefone=data["telefone"],
                cep=data["cep"],
                endereco=data["endereco"],
            ),
        )
    except InvalidValue as exc:
        return Retry(exc.message)
    done = Text(texts.REGISTERED.format(name=card.razao_social))
    raw = card.integration_key or ""
    # as code: one tap copies it; sensitive: the outbox forgets it once delivered
    key = Text(texts.NEW_KEY.format(key=raw), code=(raw,), sensitive=True)
    # Voltar from the new client's card goes to the client list, where it now appears.
    opened = {"cid": card.id, "q": None, "p": 1, HISTORY: ["lista"]}
    return Goto("card", opened, flow="clientes", before=(done, key))


CADASTRO_FLOW = Flow(
    "cadastro",
    {
        "pagador": Step(ask_payer, answer_payer),
        "software": Step(ask_software, answer_software),
        "plano": Step(ask_plan, answer_plan),
        "documento": Step(ask_doc, answer_doc, accepts_text=True),
        "razao": Step(ask_razao, answer_razao, accepts_text=True),
        "fantasia": Step(ask_fantasia, answer_fantasia, accepts_text=True),
        "email": Step(ask_email, answer_email, accepts_text=True),
        "telefone": Step(ask_phone, answer_phone, accepts_text=True),
        "cep": Step(ask_cep, answer_cep, accepts_text=True),
        "endereco": Step(ask_address, answer_address, accepts_text=True),
        "resumo": Step(ask_summary, answer_summary),
    },
)
