"""How each notice (services/notices.py) is worded for a gestor's chat: kind → renderer.

A renderer returns the messages to send; its buttons are global shortcuts (`go_card`,
`go_cert`, `go_boleto` in handlers/core.py) that work from any state until their object changes
(handlers/push.py).
One line per kind in NOTICE_RENDERERS.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from handlers import (
    billing_notices,
    links,
    pacote,
    pendencias,
    reminder_notices,
)
from handlers.core import Ctx
from services.messages import Outbound

Renderer = Callable[[Ctx, dict[str, Any]], Sequence[Outbound]]

NOTICE_RENDERERS: Mapping[str, Renderer] = {
    "link.completed": links.render_link_completed,
    "signup.linked": links.render_signup_linked,
    "login.locked": billing_notices.render_login_locked,
    "login.new_chat": billing_notices.render_login_new_chat,
    "fatura.paga": billing_notices.render_fatura_paga,
    "fatura.nova": billing_notices.render_fatura_nova,
    "certificado.vencendo": reminder_notices.render_certificate,
    "certificado.resumo": reminder_notices.render_certificate_digest,
    "fatura.vencendo": reminder_notices.render_fatura_due,
    "fatura.vencida": reminder_notices.render_fatura_overdue,
    "link.parado": reminder_notices.render_link_idle,
    "pendencias.resumo": pendencias.render_digest,
    "fornecedores.novas": reminder_notices.render_supplier_notes,
    "pacote.pronto": pacote.render_ready,
}
