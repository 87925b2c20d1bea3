"""Deleting one gestor's office with everything in it (the demo's `--fresh`).

Rows that belong to the office through foreign keys go by the database's own ON DELETE
CASCADE (certificates, keys, access links, audit, notices, links, reminders, identities);
what the schema keeps on RESTRICT (notes, faturas, clients) is deleted here first, in order.
What is keyed by identity rather than by foreign key (conversation state, the outbox, the
dedupe rows of notices) goes too: a rebuilt office may reuse the same notice and identity
ids, and a stale dedupe row would swallow its first notices.
"""

from __future__ import annotations

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from storage.models import (
    Client,
    ConversationState,
    Gestor,
    OutboxMessage,
    ProcessedEvent,
    UserIdentity,
)
from storage.models_billing import Fatura
from storage.models_fiscal import FiscalDocument


def purge_gestor(session: Session, gestor_id: int) -> None:
    """Delete the gestor and every row of its office; the caller commits."""
    identities = session.execute(
        select(UserIdentity.key, UserIdentity.channel, UserIdentity.id).where(
            UserIdentity.gestor_id == gestor_id
        )
    ).all()
    keys = [key for key, _, _ in identities]
    clients = select(Client.id).where(Client.gestor_id == gestor_id).scalar_subquery()
    session.execute(delete(FiscalDocument).where(FiscalDocument.client_id.in_(clients)))
    session.execute(delete(Fatura).where(Fatura.gestor_id == gestor_id))
    session.execute(delete(Client).where(Client.gestor_id == gestor_id))
    session.execute(delete(Gestor).where(Gestor.id == gestor_id))
    if keys:
        session.execute(delete(ConversationState).where(ConversationState.identity_key.in_(keys)))
        session.execute(delete(OutboxMessage).where(OutboxMessage.identity_key.in_(keys)))
        session.execute(
            delete(ProcessedEvent).where(
                or_(
                    *(
                        (ProcessedEvent.channel == channel)
                        & ProcessedEvent.event_id.like(f"notice:%:{identity_id}")
                        for _, channel, identity_id in identities
                    )
                )
            )
        )
