"""Enviar link de contratação (payer → software → plan → link and ways to send it) and
Links enviados (state of each link, cancel a pending one); the sign-up notices' wording.

The link's address exists in clear only in this flow's data, for the gestor to send it now;
the database keeps its hash.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from domain.clients import Payer
from domain.money import format_brl
from handlers import texts
from handlers.core import (
    MENU,
    Answer,
    Ctx,
    Data,
    Flow,
    Goto,
    Retry,
    Stay,
    Step,
    chosen,
    go_card,
    int_arg,
    nav,
    screen,
    typed,
)
from handlers.formatting import SAO_PAULO, client_card_text, date_br, payer_label
from handlers.plan_picker import (
    PAY_CLIENTE,
    PAY_GESTOR,
    payer_of,
    plan_question,
    software_answer,
    software_question,
)
from services import clients, links
from services.errors import NotFound
from services.messages import Body, Choice, Outbound, Text, UrlButton

LISTA = Choice("ln:lista", texts.LINKS_ENVIADOS)
EMAIL = Choice("ln:email", texts.LINK_SEND_EMAIL)
SMS = Choice("ln:sms", texts.LINK_SEND_SMS)
CANCEL_LINK = Choice("ln:cancel", texts.LINK_CANCEL)


def _when(moment: datetime) -> str:
    return f"{date_br(moment)} às {moment.astimezone(SAO_PAULO).strftime('%H:%M')}"


def ask_payer(ctx: Ctx, data: Data) -> Text:
    """Ask who pays the monthly fee; Links enviados is one tap away."""
    return screen(texts.LINK_ASK_PAYER, [PAY_CLIENTE, PAY_GESTOR], [LISTA], nav())


def answer_payer(ctx: Ctx, data: Data, body: Body) -> Answer:
    """Keep the payer, or open the list of links."""
    choice = chosen(body)
    ctx.principal.require_manage()
    if choice == LISTA.id:
        return Goto("lista")
    return Goto("software", {"payer": payer_of(choice).value})


def ask_software(ctx: Ctx, data: Data) -> Text:
    """List the catalog's softwares."""
    return software_question(ctx, texts.LINK_ASK_SOFTWARE)


def answer_software(ctx: Ctx, data: Data, body: Body) -> Answer:
    """Keep the chosen software (re-checked against the catalog)."""
    return software_answer(ctx, body)


def ask_plan(ctx: Ctx, data: Data) -> Text:
    """The software's plans with the price for this payer, as in Novo cadastro."""
    return plan_question(ctx, data, texts.LINK_ASK_PLAN)


def answer_plan(ctx: Ctx, data: Data, body: Body) -> Answer:
    """Create the link and show it with a ready-to-forward message."""
    plan_id = int_arg(chosen(body), "pl")
    if plan_id is None:
        return Retry(texts.USE_BUTTONS)
    options = ctx.config.links
    issued = links.create_link(
        ctx.uow,
        ctx.principal,
        software_id=int(data["software_id"]),
        plan_id=plan_id,
        payer=Payer(data["payer"]),
        ttl=options.ttl,
    )
    url = options.url(issued.token)
    price = format_brl(issued.price)
    gestor = ctx.principal.gestor_name
    offer = (
        texts.LINK_OFFER_GESTOR.format(plan=issued.plan, gestor=gestor)
        if issued.payer is Payer.GESTOR
        else texts.LINK_OFFER_CLIENTE.format(plan=issued.plan, price=price)
    )
    expires = _when(issued.expires_at)
    forward = texts.LINK_FORWARD.format(
        gestor=gestor, software=issued.software, offer=offer, expires=expires, url=url
    )
    created = texts.LINK_CREATED.format(
        software=issued.software,
        plan=issued.plan,
        price=price,
        payer=payer_label(issued.payer),
        expires=expires,
        url=url,
    )
    sent = {"link_id": issued.id, "url": url, "forward": forward, "software": issued.software}
    # The gestor's copy shows the address as code (one tap copies it, where the channel can);
    # the message to forward keeps it a plain link, for the client to open.
    return Goto(
        "enviar",
        sent,
        before=(Text(created, code=(url,), sensitive=True), Text(forward, sensitive=True)),
    )


def ask_send(ctx: Ctx, data: Data) -> Text:
    """Offer the ways to send the link."""
    url, forward = data["url"], data["forward"]
    intro = forward.removesuffix(url).rstrip()
    return screen(
        texts.LINK_SEND_HOW,
        [UrlButton(texts.LINK_SHARE_WHATSAPP, links.whatsapp_url(forward))],
        [UrlButton(texts.LINK_SHARE_TELEGRAM, links.telegram_share_url(url, intro))],
        [EMAIL, SMS],
        [LISTA],
        [MENU],
    )


def answer_send(ctx: Ctx, data: Data, body: Body) -> Answer:
    """E-mail or SMS (when configured), or the list of links."""
    choice = chosen(body)
    if choice == EMAIL.id:
        if ctx.config.links.email is None:
            return Stay(texts.LINK_EMAIL_NOT_CONFIGURED)
        return Goto("email")
    if choice == SMS.id:
        if not ctx.config.links.sms_configured:
            return Stay(texts.LINK_SMS_NOT_CONFIGURED)
        return Goto("sms")
    return Goto("lista")


def ask_email(ctx: Ctx, data: Data) -> Text:
    """Ask the client's e-mail address."""
    return screen(texts.LINK_ASK_EMAIL, nav())


def answer_email(ctx: Ctx, data: Data, body: Body) -> Answer:
    """Send the link by e-mail now, then offer the other ways again."""
    address = links.send_by_email(
        ctx.uow,
        ctx.principal,
        int(data["link_id"]),
        to=typed(body),
        subject=texts.LINK_EMAIL_SUBJECT.format(software=data["software"]),
        body=texts.LINK_EMAIL_BODY.format(forward=data["forward"]),
        gateway=ctx.config.links.email,
    )
    return Goto("enviar", before=(Text(texts.LINK_EMAIL_SENT.format(email=address)),))


def ask_sms(ctx: Ctx, data: Data) -> Text:
    """Ask the client's mobile number."""
    return screen(texts.LINK_ASK_SMS, nav())


def answer_sms(ctx: Ctx, data: Data, body: Body) -> Answer:
    """Send the link by SMS now, then offer the other ways again."""
    number = links.send_by_sms(
        ctx.uow,
        ctx.principal,
        int(data["link_id"]),
        phone=typed(body),
        text=texts.LINK_SMS_TEXT.format(
            gestor=ctx.principal.gestor_name, software=data["software"], url=data["url"]
        ),
        gateway=ctx.config.links.sms,
    )
    return Goto("enviar", before=(Text(texts.LINK_SMS_SENT.format(phone=number)),))


def ask_list(ctx: Ctx, data: Data) -> Text:
    """The gestor's recent links with their state."""
    found = links.list_links(ctx.uow, ctx.principal)
    if not found:
        return screen(texts.LINKS_EMPTY, nav(cancel=False, menu=True))
    lines, rows = [texts.LINKS_HEADER.format(count=len(found))], []
    for n, link in enumerate(found, 1):
        if link.state.pending:
            extra = texts.LINKS_LINE_PENDING.format(expires=date_br(link.expires_at))
        elif link.client_name:
            extra = texts.LINKS_LINE_CLIENT.format(client=link.client_name)
        else:
            extra = ""
        lines.append(
            texts.LINKS_LINE.format(
                n=n,
                software=link.software,
                plan=link.plan,
                state=link.state.label,
                created=date_br(link.created_at),
                extra=extra,
            )
        )
        label = texts.LINK_BUTTON.format(
            n=n, software=link.software, plan=link.plan, state=link.state.label
        )
        rows.append([Choice(f"lk:{link.id}", label)])
    lines.append(texts.LINKS_HINT)
    return screen("\n".join(lines), *rows, nav(cancel=False, menu=True))


def answer_pick(ctx: Ctx, data: Data, body: Body) -> Answer:
    """Open one link (re-checked: another gestor's link is not found)."""
    link_id = int_arg(chosen(body), "lk")
    if link_id is None:
        return Retry(texts.USE_BUTTONS)
    links.get_link(ctx.uow, ctx.principal, link_id)
    return Goto("detalhe", {"sel": link_id})


def ask_detail(ctx: Ctx, data: Data) -> Text:
    """A link's state, its client once concluded; Cancelar link while pending."""

    link = links.get_link(ctx.uow, ctx.principal, int(data["sel"]))
    text = texts.LINK_DETAIL.format(
        software=link.software,
        plan=link.plan,
        price=format_brl(link.price),
        payer=payer_label(link.payer),
        state=link.state.label,
        created=_when(link.created_at),
        expires=_when(link.expires_at),
        client=texts.LINK_DETAIL_CLIENT.format(client=link.client_name)
        if link.client_name
        else "",
    )
    actions: list[Choice] = []
    if link.state.pending:
        actions.append(CANCEL_LINK)
    if link.client_id is not None:
        actions.append(Choice(go_card(link.client_id), texts.ABRIR_CLIENTE))
    return screen(text, actions, nav(cancel=False, menu=True))


def answer_detail(ctx: Ctx, data: Data, body: Body) -> Answer:
    """Cancel the link."""
    if chosen(body) != CANCEL_LINK.id:
        return Retry(texts.USE_BUTTONS)
    links.cancel_link(ctx.uow, ctx.principal, int(data["sel"]))
    return Goto("detalhe", before=(Text(texts.LINK_CANCELLED),))


LINK_FLOW = Flow(
    "link",
    {
        "pagador": Step(ask_payer, answer_payer),
        "software": Step(ask_software, answer_software),
        "plano": Step(ask_plan, answer_plan),
        "enviar": Step(ask_send, answer_send),
        "email": Step(ask_email, answer_email, accepts_text=True),
        "sms": Step(ask_sms, answer_sms, accepts_text=True),
        "lista": Step(ask_list, answer_pick),
        "detalhe": Step(ask_detail, answer_detail),
    },
)


# -- notices ----------------------------------------------------------------------------------


def _card_notice(ctx: Ctx, data: dict[str, Any], header: str) -> Sequence[Outbound]:

    try:
        card = clients.get_client(ctx.uow, ctx.principal, int(data["cid"]))
    except NotFound:
        return []  # the client is gone (or moved to another gestor) since it signed up
    return [
        Text(
            header.format(card=client_card_text(card)),
            ((Choice(go_card(card.id), texts.ABRIR_CLIENTE),),),
        )
    ]


def render_link_completed(ctx: Ctx, data: dict[str, Any]) -> Sequence[Outbound]:
    """A client completed a contracting link: its card, with a button to open it."""
    return _card_notice(ctx, data, texts.LINK_COMPLETED_NOTICE)


def render_signup_linked(ctx: Ctx, data: dict[str, Any]) -> Sequence[Outbound]:
    """A client signed up on /cadastro with one of the gestor's e-mails as its contador's."""
    return _card_notice(ctx, data, texts.SIGNUP_LINKED_NOTICE)
