"""Configurações of a client (gestor only): Certificado digital, Chave de integração, Contrato
and Software. Each screen shows the current value; changes go through a confirmation or Salvar.
"""

from __future__ import annotations

from datetime import UTC, datetime

from domain.certificates import CertificateStatus
from domain.clients import ContractStatus, Payer
from domain.documents import format_tax_id
from domain.money import format_brl
from handlers import texts
from handlers.config_choices import CHAVE_FLOW, PLANO_FLOW
from handlers.config_nav import open_sub
from handlers.config_sefaz import answer_sefaz, ask_sefaz
from handlers.config_upload import CERT_UPLOAD_FLOW
from handlers.core import Answer, Ctx, Data, Flow, Goto, Retry, Step, chosen, nav, screen
from handlers.formatting import SAO_PAULO, datetime_br
from services import certificates, clients, contracts, integration_keys
from services.certificates import CertificateView
from services.messages import Body, Choice, Text
from services.pacote import chat as pacote_chat

CERT = Choice("cfg:cert", texts.CERTIFICADO_DIGITAL)
CHAVE = Choice("cfg:chave", texts.CHAVE_INTEGRACAO)
CONTRATO = Choice("cfg:contrato", texts.CONTRATO)
SOFTWARE = Choice("cfg:software", texts.SOFTWARE)
SEFAZ = Choice("cfg:sefaz", texts.SEFAZ_CONFIG)
SECTIONS = {
    CERT.id: "cert",
    CHAVE.id: "chave",
    CONTRATO.id: "contrato",
    SOFTWARE.id: "software",
    SEFAZ.id: "sefaz",
}
PACOTE_TOGGLE = "cfg:pacote"
SEND_CERT = Choice("cert:send", texts.ENVIAR_CERTIFICADO)
NEW_KEY = Choice("key:new", texts.GERAR_NOVA_CHAVE)
SAVE = Choice("ct:save", texts.SALVAR)
PLAN = Choice("sw:plan", texts.PLANO)
SAVE_SOFTWARE = Choice("sw:save", texts.SALVAR_SOFTWARE)
STATUS_CHOICES = [Choice(f"ct:st:{s.value}", texts.STATUS_LABELS[s.value]) for s in ContractStatus]
PAYER_CHOICES = [Choice("ct:pg:gestor", texts.GESTOR), Choice("ct:pg:cliente", texts.CLIENTE)]
HOME_NAV = nav(cancel=False, menu=True)
# Choices kept in the flow data until Salvar / Salvar software.
PENDING = ("st", "pg", "sw", "pl")


def _name(ctx: Ctx, data: Data) -> str:
    return clients.open_management(ctx.uow, ctx.principal, int(data["cid"])).razao_social


# -- Configurações ---------------------------------------------------------------------------


def ask_sections(ctx: Ctx, data: Data) -> Text:
    """Show the four settings of the client (choices not saved on a screen are dropped)."""
    for pending in PENDING:
        data.pop(pending, None)
    name = _name(ctx, data)
    on = pacote_chat.is_on(ctx.uow, ctx.principal, int(data["cid"]))
    toggle = Choice(PACOTE_TOGGLE, texts.PACOTE_TOGGLE.format(estado=_estado(on)))
    return screen(
        texts.CONFIG_TEXT.format(name=name),
        [CERT],
        [CHAVE],
        [CONTRATO],
        [SOFTWARE],
        [SEFAZ],
        [toggle],
        HOME_NAV,
    )


def answer_sections(ctx: Ctx, data: Data, body: Body) -> Answer:
    """Open one setting, or flip Pacote mensal (one press: it is on or off)."""
    choice = chosen(body)
    if choice == PACOTE_TOGGLE:
        cid = int(data["cid"])
        on = not pacote_chat.is_on(ctx.uow, ctx.principal, cid)
        pacote_chat.set_on(ctx.uow, ctx.principal, cid, on=on)
        said = texts.PACOTE_TOGGLED.format(
            name=_name(ctx, data), estado=_estado(on), dia=ctx.config.pacote.dia
        )
        return Goto("inicio", before=[Text(said)])
    step = SECTIONS.get(choice)
    return Goto(step) if step else Retry(texts.USE_BUTTONS)


def _estado(on: bool) -> str:
    return texts.PACOTE_ON if on else texts.PACOTE_OFF


# -- Certificado digital ---------------------------------------------------------------------


def certificate_text(view: CertificateView | None) -> str:
    if view is None:
        return texts.CERT_MISSING
    until = f"{view.valid_until:%d/%m/%Y}"
    doc = format_tax_id(view.documento) if view.documento else texts.NOT_INFORMED
    if view.health.status is CertificateStatus.EXPIRED:
        return texts.CERT_EXPIRED.format(until=until, holder=view.holder_name, doc=doc)
    if view.health.status is CertificateStatus.EXPIRING:
        left = view.health.days_left
        days = texts.CERT_EXPIRING_DAYS.get(left) or texts.CERT_EXPIRING_N.format(n=left)
        return texts.CERT_EXPIRING.format(days=days, until=until, holder=view.holder_name, doc=doc)
    uploaded = view.uploaded_at.astimezone(SAO_PAULO).strftime("%d/%m/%Y")
    return texts.CERT_VALID.format(
        until=until, holder=view.holder_name, doc=doc, uploaded=uploaded
    )


def ask_certificate(ctx: Ctx, data: Data) -> Text:
    """Show the certificate's status, with Enviar certificado."""
    view = certificates.certificate_status(
        ctx.uow, ctx.principal, int(data["cid"]), now=datetime.now(UTC)
    )
    return screen(certificate_text(view), [SEND_CERT], HOME_NAV)


def answer_certificate(ctx: Ctx, data: Data, body: Body) -> Answer:
    """Start sending a certificate."""
    if chosen(body) == SEND_CERT.id:
        return open_sub(CERT_UPLOAD_FLOW.name, data, "cert")
    return Retry(texts.USE_BUTTONS)


# -- Chave de integração ---------------------------------------------------------------------


def ask_key(ctx: Ctx, data: Data) -> Text:
    """Show the key's prefix and creation date, with Gerar nova chave."""
    name = _name(ctx, data)
    key = integration_keys.current(ctx.uow, ctx.principal, int(data["cid"]))
    if key is None:
        text = texts.CHAVE_NONE.format(name=name)
    else:
        created = datetime_br(key.created_at)
        text = texts.CHAVE_TEXT.format(name=name, prefix=key.prefix, created=created)
    return screen(text, [NEW_KEY], HOME_NAV)


def answer_key(ctx: Ctx, data: Data, body: Body) -> Answer:
    """Go to the confirmation of a new key."""
    if chosen(body) == NEW_KEY.id:
        return open_sub(CHAVE_FLOW.name, data, "chave")
    return Retry(texts.USE_BUTTONS)


# -- Contrato --------------------------------------------------------------------------------


def _pending(data: Data, current: contracts.Contract) -> tuple[ContractStatus, Payer]:
    status = ContractStatus(data.get("st") or current.status.value)
    payer = Payer(data.get("pg") or current.payer.value)
    return status, payer


def _changes(current: contracts.Contract, status: ContractStatus, payer: Payer) -> list[str]:
    lines = []
    if status is not current.status:
        lines.append(
            texts.CONTRATO_CHANGE.format(
                field=texts.CONTRATO_STATUS_FIELD, before=current.status.label, after=status.label
            )
        )
    if payer is not current.payer:
        lines.append(
            texts.CONTRATO_CHANGE.format(
                field=texts.CONTRATO_PAYER_FIELD, before=current.payer.label, after=payer.label
            )
        )
    return lines


def ask_contract(ctx: Ctx, data: Data) -> Text:
    """Show the status and payer, the changes not yet saved, and Salvar."""
    name = _name(ctx, data)
    current = contracts.get_contract(ctx.uow, ctx.principal, int(data["cid"]))
    status, payer = _pending(data, current)
    text = texts.CONTRATO_TEXT.format(
        name=name, status=current.status.label, payer=current.payer.label
    )
    changes = _changes(current, status, payer)
    if changes:
        text += texts.CONTRATO_PENDING.format(changes="\n".join(changes))
        if status.cuts_access and status is not current.status:
            text += texts.CONTRATO_CUT_WARNING.format(status=status.label)
    mark = {f"ct:st:{status.value}", f"ct:pg:{payer.value}"}
    statuses = [Choice(c.id, f"✓ {c.label}" if c.id in mark else c.label) for c in STATUS_CHOICES]
    payers = [Choice(c.id, f"✓ {c.label}" if c.id in mark else c.label) for c in PAYER_CHOICES]
    return screen(text, statuses[:2], statuses[2:], payers, [SAVE], HOME_NAV)


def answer_contract(ctx: Ctx, data: Data, body: Body) -> Answer:
    """Pick a status or payer (kept until Salvar), or save the changes."""
    choice = chosen(body)
    if choice.startswith("ct:st:"):
        return Goto("contrato", {"st": ContractStatus(choice.removeprefix("ct:st:")).value})
    if choice.startswith("ct:pg:"):
        return Goto("contrato", {"pg": Payer(choice.removeprefix("ct:pg:")).value})
    if choice != SAVE.id:
        return Retry(texts.USE_BUTTONS)
    cid = int(data["cid"])
    current = contracts.get_contract(ctx.uow, ctx.principal, cid)
    status, payer = _pending(data, current)
    changes = _changes(current, status, payer)
    if not changes:
        return Retry(texts.CONTRATO_NO_CHANGE)
    contracts.save_contract(ctx.uow, ctx.principal, cid, status=status, payer=payer)
    saved = Text(texts.CONTRATO_SAVED.format(changes="\n".join(changes)))
    return Goto("contrato", {"st": None, "pg": None}, before=[saved])


# -- Software --------------------------------------------------------------------------------


def _price_line(price: str, list_price: str, payer: Payer) -> str:
    note = (
        texts.SOFTWARE_GESTOR_NOTE.format(list_price=list_price) if payer is Payer.GESTOR else ""
    )
    return f"{price}/mês{note}"


def ask_software(ctx: Ctx, data: Data) -> Text:
    """Show the software and plan with its price, the plan picked and not yet saved."""
    cid = int(data["cid"])
    name = _name(ctx, data)
    current = contracts.get_software(ctx.uow, ctx.principal, cid)
    price = _price_line(format_brl(current.price), format_brl(current.list_price), current.payer)
    text = texts.SOFTWARE_TEXT.format(
        name=name, software=current.software, plan=current.plan, price=price
    )
    pending = _pending_plan(ctx, data, current)
    rows = [[PLAN]]
    if pending is not None:
        software, plan_name, plan_price = pending
        text += texts.SOFTWARE_PENDING.format(software=software, plan=plan_name, price=plan_price)
        rows.append([SAVE_SOFTWARE])
    else:
        text += texts.SOFTWARE_HINT
    return screen(text, *rows, HOME_NAV)


def _pending_plan(
    ctx: Ctx, data: Data, current: contracts.SoftwarePlan
) -> tuple[str, str, str] | None:
    software_id, plan_id = data.get("sw"), data.get("pl")
    if not software_id or not plan_id:
        return None
    if (int(software_id), int(plan_id)) == (current.software_id, current.plan_id):
        return None
    name, payer, plans = contracts.plan_options(
        ctx.uow, ctx.principal, int(data["cid"]), int(software_id)
    )
    for plan in plans:
        if plan.id == int(plan_id):
            price = format_brl(plan.price_for(gestor_pays=payer is Payer.GESTOR))
            return name, plan.name, price
    return None


def answer_software(ctx: Ctx, data: Data, body: Body) -> Answer:
    """List the plans, or save the plan picked."""
    choice = chosen(body)
    if choice == PLAN.id:
        return open_sub(PLANO_FLOW.name, data, "software")
    if choice != SAVE_SOFTWARE.id or not data.get("pl") or not data.get("sw"):
        return Retry(texts.USE_BUTTONS)
    saved = contracts.save_software(
        ctx.uow,
        ctx.principal,
        int(data["cid"]),
        software_id=int(data["sw"]),
        plan_id=int(data["pl"]),
    )
    message = texts.SOFTWARE_SAVED.format(
        software=saved.software, plan=saved.plan, price=format_brl(saved.price)
    )
    return Goto("software", {"sw": None, "pl": None}, before=[Text(message)])


CONFIG_FLOW = Flow(
    "config",
    {
        "inicio": Step(ask_sections, answer_sections),
        "cert": Step(ask_certificate, answer_certificate),
        "chave": Step(ask_key, answer_key),
        "contrato": Step(ask_contract, answer_contract),
        "software": Step(ask_software, answer_software),
        "sefaz": Step(ask_sefaz, answer_sefaz),
    },
)
CONFIG_FLOWS = (CONFIG_FLOW, CERT_UPLOAD_FLOW, CHAVE_FLOW, PLANO_FLOW)
