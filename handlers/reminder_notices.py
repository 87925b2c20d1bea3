"""How the reminders read: certificates (one, or a digest), faturas, idle links."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from domain.billing import parse_competencia
from domain.money import format_brl
from handlers import texts
from handlers.core import Ctx, go_boleto, go_cert, go_pendentes
from services.messages import Choice, Outbound, Text
from services.reminders import certificate_when

DIGEST_BUTTONS = 10  # a WhatsApp list holds 10 rows; the rest are in the text


def _date(value: object) -> str:
    return date.fromisoformat(str(value)).strftime("%d/%m/%Y")


def render_certificate(ctx: Ctx, data: dict[str, Any]) -> Sequence[Outbound]:
    text = texts.CERT_REMINDER.format(
        name=data["razao_social"],
        when=certificate_when(int(data["days_left"])),
        until=_date(data["valid_until"]),
    )
    if not ctx.principal.can_manage:
        return [Text(texts.CERT_REMINDER_CONTADOR.format(text=text))]
    until = date.fromisoformat(str(data["valid_until"]))
    button = Choice(go_cert(int(data["client_id"]), until), texts.ENVIAR_CERTIFICADO)
    return [Text(text, ((button,),))]


def render_certificate_digest(ctx: Ctx, data: dict[str, Any]) -> Sequence[Outbound]:
    items = list(data["items"])
    lines = "\n".join(
        texts.CERT_DIGEST_LINE.format(
            name=item["razao_social"],
            when=certificate_when(int(item["days_left"])),
            until=_date(item["valid_until"]),
        )
        for item in items
    )
    text = texts.CERT_DIGEST.format(count=len(items), lines=lines)
    if not ctx.principal.can_manage:
        return [Text(texts.CERT_REMINDER_CONTADOR.format(text=text))]
    buttons = tuple(
        (
            Choice(
                go_cert(int(item["client_id"]), date.fromisoformat(str(item["valid_until"]))),
                texts.ENVIAR_CERTIFICADO_DE.format(name=item["razao_social"]),
            ),
        )
        for item in items[:DIGEST_BUTTONS]
    )
    return [Text(f"{text}\n\n{texts.CERT_DIGEST_HINT}", buttons)]


def _fatura(data: dict[str, Any]) -> dict[str, str]:
    return {
        "competencia": parse_competencia(str(data["competencia"])).label,
        "total": format_brl(Decimal(str(data["total"]))),
        "due": _date(data["due"]),
    }


def _boleto_button(data: dict[str, Any]) -> tuple[tuple[Choice, ...], ...]:
    fatura_id = data.get("fatura_id")
    return ((Choice(go_boleto(int(fatura_id)), texts.GERAR_BOLETO),),) if fatura_id else ()


def render_fatura_due(ctx: Ctx, data: dict[str, Any]) -> Sequence[Outbound]:
    if not ctx.principal.can_manage:
        return []
    return [Text(texts.FATURA_DUE_NOTICE.format(**_fatura(data)), _boleto_button(data))]


def render_fatura_overdue(ctx: Ctx, data: dict[str, Any]) -> Sequence[Outbound]:
    if not ctx.principal.can_manage:
        return []
    return [Text(texts.FATURA_OVERDUE_NOTICE.format(**_fatura(data)), _boleto_button(data))]


def render_link_idle(ctx: Ctx, data: dict[str, Any]) -> Sequence[Outbound]:
    if not ctx.principal.can_manage:
        return []
    text = texts.LINK_IDLE_NOTICE.format(
        software=data["software"], plan=data["plan"], opened=_date(data["opened"])
    )
    return [Text(text)]


def render_supplier_notes(ctx: Ctx, data: dict[str, Any]) -> Sequence[Outbound]:
    """New supplier notes from the SEFAZ capture, with a button to the client's Pendentes."""
    quantidade = int(data["quantidade"])
    text = texts.FORN_NOVAS_NOTICE.format(
        quantidade=quantidade, s="s" if quantidade != 1 else "", nome=data["nome"]
    )
    button = Choice(go_pendentes(int(data["client_id"])), texts.VER_PENDENTES)
    return [Text(text, ((button,),))]
