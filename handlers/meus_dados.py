"""Meus dados: the entry screen, Básicos (company data) and E-mails.

Senha lives in handlers/senha.py and Pagamento (with Minhas faturas) in handlers/faturas.py;
their steps belong to this same flow, so Voltar walks back through Meus dados.
A contador sees Básicos and E-mails read only; the services refuse its changes anyway.
"""

from __future__ import annotations

from typing import Any

from domain.contacts import format_phone
from domain.documents import format_tax_id
from handlers import texts
from handlers.avisos import AVISOS_STEPS
from handlers.core import (
    HISTORY,
    Answer,
    Ctx,
    Data,
    Flow,
    Goto,
    Retry,
    Stay,
    Step,
    choice_arg,
    chosen,
    int_arg,
    nav,
    screen,
    typed,
)
from handlers.faturas import PAGAMENTO_STEPS
from handlers.senha import SENHA_STEPS, reset_password_data
from services import gestor_profile
from services.gestor_profile import BASIC_FIELDS, Profile
from services.messages import Body, Choice, Text

BASICOS = Choice("d:bas", texts.BASICOS)
EMAILS = Choice("d:em", texts.EMAILS)
SENHA = Choice("d:senha", texts.SENHA)
PAGAMENTO = Choice("d:pag", texts.PAGAMENTO)
AVISOS = Choice("d:avisos", texts.AVISOS)
SAVE = Choice("bas:save", texts.DADOS_SALVAR)
DISCARD = Choice("bas:discard", texts.DADOS_DESCARTAR)
ADD = Choice("em:add", texts.ADICIONAR)
REMOVE = Choice("em:yes", texts.REMOVER)
PENDING = "pend"


def pin_history(data: Data, *steps: str) -> None:
    """An overview screen is reached from one place only: Voltar goes there, whatever came
    before (editing a field and coming back must not make Voltar reopen the field)."""
    data[HISTORY] = list(steps)


# -- Meus dados -------------------------------------------------------------------------------


def ask_inicio(ctx: Ctx, data: Data) -> Text:
    """Offer the four parts (Senha and Pagamento only to the gestor)."""
    pin_history(data)
    reset_password_data(data)
    data.pop(PENDING, None)
    profile = gestor_profile.get_profile(ctx.uow, ctx.principal)
    if not ctx.principal.can_manage:
        text = texts.DADOS_TEXT_CONTADOR.format(name=profile.razao_social)
        return screen(text, [BASICOS, EMAILS], [AVISOS], nav(cancel=False, menu=True))
    text = texts.DADOS_TEXT.format(name=profile.razao_social)
    return screen(
        text, [BASICOS, EMAILS], [SENHA, PAGAMENTO], [AVISOS], nav(cancel=False, menu=True)
    )


def answer_inicio(ctx: Ctx, data: Data, body: Body) -> Answer:
    """Open the chosen part."""
    choice = chosen(body)
    if choice == BASICOS.id:
        return Goto("basicos", {PENDING: {}})
    if choice == EMAILS.id:
        return Goto("emails")
    if choice == AVISOS.id:
        return Goto("avisos")
    ctx.principal.require_manage()
    if choice == SENHA.id:
        return Goto("senha")
    if choice == PAGAMENTO.id:
        return Goto("pagamento")
    return Retry(texts.USE_BUTTONS)


# -- Básicos ----------------------------------------------------------------------------------


def _shown(field: str, value: str | None) -> str:
    if not value:
        return texts.NOT_INFORMED
    if field == "cnpj":
        return format_tax_id(value)
    if field == "telefone":
        return format_phone(value)
    return value


def _field_choice(field: str) -> Choice:
    return Choice(f"bas:{field}", texts.BASIC_LABELS[field])


def ask_basicos(ctx: Ctx, data: Data) -> Text:
    """Show the company data, the changes not saved yet, and a button per field."""
    pin_history(data, "inicio")
    profile = gestor_profile.get_profile(ctx.uow, ctx.principal)
    values = {field: _shown(field, profile.value(field)) for field in BASIC_FIELDS}
    text = texts.BASICOS_TEXT.format(**values)
    if not ctx.principal.can_manage:
        return screen(f"{text}\n\n{texts.BASICOS_READ_ONLY}", nav(cancel=False, menu=True))
    pending: dict[str, Any] = data.get(PENDING) or {}
    fields = [_field_choice(field) for field in BASIC_FIELDS]
    rows = [fields[:2], fields[2:4], fields[4:]]
    if not pending:
        return screen(f"{text}\n\n{texts.BASICOS_HINT}", *rows, nav(cancel=False, menu=True))
    changes = "\n".join(
        texts.BASICOS_PENDING_LINE.format(
            label=texts.BASIC_LABELS[field],
            before=values[field],
            after=_shown(field, value),
        )
        for field, value in pending.items()
    )
    text += texts.BASICOS_PENDING.format(changes=changes)
    return screen(text, *rows, [SAVE, DISCARD], nav(cancel=False, menu=True))


def answer_basicos(ctx: Ctx, data: Data, body: Body) -> Answer:
    """Edit a field, save the pending changes, or drop them."""
    choice = chosen(body)
    ctx.principal.require_manage()
    pending: dict[str, Any] = dict(data.get(PENDING) or {})
    if choice == SAVE.id:
        if not pending:
            return Stay(texts.BASICOS_NOTHING)
        gestor_profile.update_basics(ctx.uow, ctx.principal, pending)
        return Goto("basicos", {PENDING: {}}, before=(Text(texts.BASICOS_SAVED),))
    if choice == DISCARD.id:
        return Goto("basicos", {PENDING: {}}, before=(Text(texts.BASICOS_DISCARDED),))
    field = choice_arg(choice, "bas")
    if field not in BASIC_FIELDS:
        return Retry(texts.USE_BUTTONS)
    return Goto("campo", {"campo": field})


def ask_campo(ctx: Ctx, data: Data) -> Text:
    """Ask the new value of one field, showing the current one."""
    field = data["campo"]
    profile = gestor_profile.get_profile(ctx.uow, ctx.principal)
    current = (data.get(PENDING) or {}).get(field, profile.value(field))
    question = texts.ASK_BASIC_CURRENT.format(
        question=texts.ASK_BASIC[field], current=_shown(field, current)
    )
    return screen(question, nav(cancel=False))


def answer_campo(ctx: Ctx, data: Data, body: Body) -> Answer:
    """Validate the value (same rules as everywhere) and keep it pending until Salvar."""
    ctx.principal.require_manage()
    field = data["campo"]
    value = gestor_profile.parse_basic(field, typed(body))
    pending = {**(data.get(PENDING) or {}), field: value}
    profile: Profile = gestor_profile.get_profile(ctx.uow, ctx.principal)
    if profile.value(field) == value:
        pending.pop(field)
    return Goto("basicos", {PENDING: pending, "campo": None})


# -- E-mails ----------------------------------------------------------------------------------


def ask_emails(ctx: Ctx, data: Data) -> Text:
    """List the linked e-mails; the gestor may add one or remove one."""
    pin_history(data, "inicio")
    profile = gestor_profile.get_profile(ctx.uow, ctx.principal)
    lines = "\n".join(texts.EMAIL_LINE.format(email=e.email) for e in profile.emails)
    text = texts.EMAILS_TEXT.format(count=len(profile.emails), lines=lines)
    if not ctx.principal.can_manage:
        return screen(text, nav(cancel=False, menu=True))
    removable = (
        [
            [Choice(f"emd:{e.id}", texts.REMOVER_EMAIL.format(email=e.email))]
            for e in profile.emails
        ]
        if len(profile.emails) > 1
        else []
    )
    return screen(
        f"{text}\n\n{texts.EMAILS_HINT}", [ADD], *removable, nav(cancel=False, menu=True)
    )


def answer_emails(ctx: Ctx, data: Data, body: Body) -> Answer:
    """Add an e-mail, or ask to confirm removing one."""
    choice = chosen(body)
    ctx.principal.require_manage()
    if choice == ADD.id:
        return Goto("email_novo")
    email_id = int_arg(choice, "emd")
    if email_id is None:
        return Retry(texts.USE_BUTTONS)
    gestor_profile.get_email(ctx.uow, ctx.principal, email_id)  # tenancy, before asking
    return Goto("email_remover", {"email_id": email_id})


def ask_email_novo(ctx: Ctx, data: Data) -> Text:
    """Ask the e-mail to link."""
    return screen(texts.ASK_NEW_EMAIL, nav(cancel=False))


def answer_email_novo(ctx: Ctx, data: Data, body: Body) -> Answer:
    """Link it (refused when another gestor has it, without saying whose)."""
    email = gestor_profile.add_email(ctx.uow, ctx.principal, typed(body))
    return Goto("emails", before=(Text(texts.EMAIL_ADDED.format(email=email)),))


def ask_email_remover(ctx: Ctx, data: Data) -> Text:
    """Confirm the removal."""
    linked = gestor_profile.get_email(ctx.uow, ctx.principal, int(data["email_id"]))
    return screen(texts.CONFIRM_REMOVE_EMAIL.format(email=linked.email), [REMOVE], nav())


def answer_email_remover(ctx: Ctx, data: Data, body: Body) -> Answer:
    """Remove it (the last one stays)."""
    if chosen(body) != REMOVE.id:
        return Retry(texts.USE_BUTTONS)
    email = gestor_profile.remove_email(ctx.uow, ctx.principal, int(data["email_id"]))
    return Goto(
        "emails", {"email_id": None}, before=(Text(texts.EMAIL_REMOVED.format(email=email)),)
    )


MEUS_DADOS_FLOW = Flow(
    "dados",
    {
        "inicio": Step(ask_inicio, answer_inicio),
        "basicos": Step(ask_basicos, answer_basicos),
        "campo": Step(ask_campo, answer_campo, accepts_text=True),
        "emails": Step(ask_emails, answer_emails),
        "email_novo": Step(ask_email_novo, answer_email_novo, accepts_text=True),
        "email_remover": Step(ask_email_remover, answer_email_remover),
        **SENHA_STEPS,
        **PAGAMENTO_STEPS,
        **AVISOS_STEPS,
    },
)
