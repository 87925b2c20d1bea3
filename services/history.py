"""Histórico: the client's audit log (who, when, what, before → after), a page at a time."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.errors import NotFound
from services.principal import Principal
from storage.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class HistoryItem:
    at: datetime
    actor: str
    actor_name: str | None
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class HistoryPage:
    client_name: str
    items: tuple[HistoryItem, ...]
    page: int
    pages: int
    total: int


def client_history(
    uow: UnitOfWork, principal: Principal, client_id: int, *, page: int = 1, page_size: int = 5
) -> HistoryPage:
    """Newest first; gestor role only, own clients only."""
    principal.require_manage()
    with uow:
        client = uow.clients.get_of_gestor(principal.gestor_id, client_id)
        if client is None:
            raise NotFound()
        total = uow.history.count(client.id)
        pages = max(1, math.ceil(total / page_size))
        page = min(max(1, page), pages)
        rows = uow.history.page(client.id, (page - 1) * page_size, page_size)
        names: dict[str, str | None] = {}
        for row in rows:
            if row.actor not in names:
                identity = uow.identities.by_key(row.actor)
                names[row.actor] = identity.display_name if identity else None
        items = tuple(
            HistoryItem(r.at, r.actor, names.get(r.actor), r.action, r.before, r.after)
            for r in rows
        )
        return HistoryPage(client.razao_social, items, page, pages, total)
