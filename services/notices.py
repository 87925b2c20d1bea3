"""Notices: things a gestor must be told, pushed to every chat bound to its office.

A use case publishes a notice in its own transaction (so a sign-up and its notice commit
together). The dispatcher turns each pending notice into one inbound event per bound identity
and runs it through the conversation engine, where the dialogue words it (handlers/notices.py)
and the outbox delivers it. Event ids are derived from the notice, so a notice dispatched
twice (two instances, a crash before it was marked) still reaches each chat once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from services.capabilities import Capabilities
from services.messages import NOTHING_PROMISED, Inbound, NoticeBody
from storage.uow import UnitOfWork, UnitOfWorkFactory


def publish(uow: UnitOfWork, gestor_id: int, kind: str, payload: dict[str, Any]) -> None:
    """Record a notice for the gestor; it is delivered after the caller commits."""
    with uow:
        uow.notices.add(gestor_id, kind, payload, datetime.now(UTC))
        uow.published_notices += 1
        uow.commit()


def dispatch(
    uow_factory: UnitOfWorkFactory,
    handle: Callable[[Inbound], object],
    *,
    limit: int = 50,
    capabilities: Mapping[str, Capabilities] | None = None,
) -> int:
    """Deliver pending notices through `handle` (the engine); returns how many were done.

    `capabilities`: each channel's (the composition root's), so a notice is worded for the
    chat it goes to (one message where the channel merges replies, a list's wording)."""
    known = capabilities or {}
    now = datetime.now(UTC)
    uow = uow_factory()
    with uow:
        pending = [
            (notice.id, notice.kind, dict(notice.payload), notice.gestor_id)
            for notice in uow.notices.pending(limit)
        ]
        events = {
            notice_id: [
                Inbound(
                    channel=identity.channel,
                    identity_key=identity.key,
                    event_id=f"notice:{notice_id}:{identity.id}",
                    address=identity.address,
                    body=NoticeBody(kind, payload),
                    received_at=now,
                    capabilities=known.get(identity.channel, NOTHING_PROMISED),
                )
                for identity in uow.identities.of_gestor(gestor_id)
            ]
            for notice_id, kind, payload, gestor_id in pending
        }
    for notice_id, inbound in events.items():
        for event in inbound:
            handle(event)
        done = uow_factory()
        with done:
            done.notices.mark_dispatched(notice_id, datetime.now(UTC))
            done.commit()
    return len(events)
