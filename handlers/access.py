"""People without access yet: the polite explanation and redeeming an invite code."""

from __future__ import annotations

from collections.abc import Sequence

from handlers import texts
from handlers.core import DialogueConfig
from services import access
from services.errors import ServiceError
from services.messages import Inbound, Outbound, Text, TextBody
from services.principal import Principal
from services.types import UnitOfWork


def invite_code_in(event: Inbound) -> str | None:
    """The code in `/start CODE`, or a bare message that looks like one."""
    if not isinstance(event.body, TextBody):
        return None
    text = event.body.text.strip()
    if text.startswith("/start"):
        parts = text.split(maxsplit=1)
        return parts[1] if len(parts) == 2 else None
    return text if access.looks_like_code(text) else None


def redeem(
    uow: UnitOfWork, event: Inbound, code: str
) -> tuple[Principal | None, Sequence[Outbound]]:
    """Bind this identity with the code; on refusal say why (and nothing else)."""
    try:
        principal = access.redeem_invite(
            uow,
            code=code,
            identity_key=event.identity_key,
            channel=event.channel,
            address=event.address,
            display_name=event.display_name,
        )
    except ServiceError as exc:
        return None, [Text(f"⚠️ {exc.message}")]
    accepted = texts.INVITE_ACCEPTED.format(
        gestor=principal.gestor_name, role=texts.ROLE_NAMES[principal.role.value]
    )
    return principal, [Text(accepted)]


def no_access(config: DialogueConfig) -> Text:
    return Text(texts.NO_ACCESS.format(support=config.support_contact))
