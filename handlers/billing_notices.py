"""How the billing notices read: /entrar lockouts and new chats, faturas closed and paid."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from domain.billing import parse_competencia
from domain.money import format_brl
from handlers import texts
from handlers.core import Ctx, go_boleto
from services.messages import Choice, Outbound, Text

CHANNEL_NAMES = {"telegram": "Telegram", "whatsapp": "WhatsApp", "console": "console"}


def _channel(data: dict[str, Any]) -> str:
    channel = str(data.get("channel", ""))
    return CHANNEL_NAMES.get(channel, channel)


def render_login_locked(ctx: Ctx, data: dict[str, Any]) -> Sequence[Outbound]:
    return [Text(texts.LOGIN_LOCKED_NOTICE.format(channel=_channel(data)))]


def render_login_new_chat(ctx: Ctx, data: dict[str, Any]) -> Sequence[Outbound]:
    """Tell the other chats; the new chat itself already got its welcome."""
    if data.get("identity_key") == ctx.principal.identity_key:
        return []
    name = f", {data['name']}" if data.get("name") else ""
    return [Text(texts.LOGIN_NEW_CHAT_NOTICE.format(channel=_channel(data), name=name))]


def render_fatura_paga(ctx: Ctx, data: dict[str, Any]) -> Sequence[Outbound]:
    if not ctx.principal.can_manage:
        return []
    competencia = parse_competencia(str(data["competencia"])).label
    total = format_brl(Decimal(str(data["total"])))
    return [Text(texts.FATURA_PAID_NOTICE.format(competencia=competencia, total=total))]


def render_fatura_nova(ctx: Ctx, data: dict[str, Any]) -> Sequence[Outbound]:
    if not ctx.principal.can_manage:
        return []
    competencia = parse_competencia(str(data["competencia"])).label
    total = format_brl(Decimal(str(data["total"])))
    due = date.fromisoformat(str(data["due"])).strftime("%d/%m/%Y")
    text = texts.FATURA_CREATED_NOTICE.format(competencia=competencia, total=total, due=due)
    fatura_id = data.get("fatura")
    if not fatura_id:
        return [Text(text)]
    return [Text(text, ((Choice(go_boleto(int(fatura_id)), texts.GERAR_BOLETO),),))]
