"""Contracting links: the state a link is in, read from its dates (pure rule)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum


class LinkState(StrEnum):
    ENVIADO = "enviado"
    ABERTO = "aberto"
    CONCLUIDO = "concluido"
    EXPIRADO = "expirado"
    CANCELADO = "cancelado"

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def pending(self) -> bool:
        """Still usable by the client (and so still cancellable by the gestor)."""
        return self in (LinkState.ENVIADO, LinkState.ABERTO)


_LABELS = {
    LinkState.ENVIADO: "Enviado",
    LinkState.ABERTO: "Aberto",
    LinkState.CONCLUIDO: "Concluído",
    LinkState.EXPIRADO: "Expirado",
    LinkState.CANCELADO: "Cancelado",
}


def link_state(
    *,
    now: datetime,
    expires_at: datetime,
    opened_at: datetime | None,
    used_at: datetime | None,
    cancelled_at: datetime | None,
) -> LinkState:
    """Cancelled and concluded win over the clock; an unused link past its expiry is expired."""
    if cancelled_at is not None:
        return LinkState.CANCELADO
    if used_at is not None:
        return LinkState.CONCLUIDO
    if now >= expires_at:
        return LinkState.EXPIRADO
    if opened_at is not None:
        return LinkState.ABERTO
    return LinkState.ENVIADO
