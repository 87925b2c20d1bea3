"""Acessar software do cliente: a URL button that signs into the client's software."""

from __future__ import annotations

from datetime import UTC, datetime

from handlers import texts
from handlers.core import Answer, Ctx, Data, Flow, Retry, Step, nav, screen
from handlers.formatting import SAO_PAULO
from services import clients, software_access
from services.errors import ServiceError
from services.messages import Body, Text, UrlButton
from services.software_access import ClientAccessCut


def ask_link(ctx: Ctx, data: Data) -> Text:
    """Issue a 5-minute, single-use link and offer it as a URL button."""
    cid = int(data["cid"])
    name = clients.open_management(ctx.uow, ctx.principal, cid).razao_social
    signer = ctx.config.link_signer
    if signer is None:
        raise ServiceError("O acesso ao software não está configurado. Fale com o suporte.")
    back = nav(cancel=False, menu=True)
    try:
        link = software_access.open_software(
            ctx.uow, ctx.principal, cid, signer=signer, now=datetime.now(UTC)
        )
    except ClientAccessCut as exc:
        return screen(f"⚠️ {exc.message}", back)
    until = link.expires_at.astimezone(SAO_PAULO).strftime("%H:%M")
    text = texts.ACESSO_TEXT.format(software=link.software, name=name, until=until)
    button = UrlButton(texts.ACESSO_ABRIR.format(software=link.software), link.url)
    return screen(text, [button], back)


def answer_link(ctx: Ctx, data: Data, body: Body) -> Answer:
    """Only Voltar and Menu here (handled by the router)."""
    return Retry(texts.USE_BUTTONS)


ACESSO_FLOW = Flow("acesso", {"link": Step(ask_link, answer_link)})
