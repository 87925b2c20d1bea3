"""Meus dados › Avisos: which kinds of reminder the office receives.

Mutes are per office (every chat of the gestor), changed by the gestor role only; a contador
sees them read only.
"""

from __future__ import annotations

from datetime import UTC, datetime

from services.errors import ServiceError
from services.principal import Principal
from services.reminders import MUTABLE_KINDS
from storage.models import AuditEntry
from storage.uow import UnitOfWork


def muted_kinds(uow: UnitOfWork, principal: Principal) -> set[str]:
    with uow:
        return uow.notice_mutes.of_gestor(principal.gestor_id)


def set_muted(uow: UnitOfWork, principal: Principal, kind: str, *, muted: bool) -> set[str]:
    """Turn one kind of reminder off (or on again); returns the muted kinds."""
    principal.require_manage()
    if kind not in MUTABLE_KINDS:
        raise ServiceError("Tipo de aviso desconhecido.")
    now = datetime.now(UTC)
    with uow:
        before = uow.notice_mutes.of_gestor(principal.gestor_id)
        uow.notice_mutes.set(principal.gestor_id, kind, muted=muted, now=now)
        if (kind in before) != muted:
            uow.audit.add(
                AuditEntry(
                    at=now,
                    gestor_id=principal.gestor_id,
                    actor=principal.identity_key,
                    client_id=None,
                    action="gestor.avisos",
                    before={kind: "desligado" if kind in before else "ligado"},
                    after={kind: "desligado" if muted else "ligado"},
                )
            )
        after = uow.notice_mutes.of_gestor(principal.gestor_id)
        uow.commit()
        return after
