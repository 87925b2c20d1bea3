"""Integration keys (hash + prefix) and notices waiting to be dispatched."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from storage.models import Client, IntegrationKey, Notice
from storage.repositories import INSERT_INTEGRATION_KEY
from storage.transaction import Repository


class IntegrationKeyRepository(Repository):
    def add(
        self, *, client_id: int, prefix: str, key_hash: str, created_at: datetime, created_by: str
    ) -> None:
        """A new active key (one statement on the driver: it is written with every client)."""
        INSERT_INTEGRATION_KEY.run(
            self.flushed(),
            {
                "client_id": client_id,
                "prefix": prefix,
                "key_hash": key_hash,
                "created_at": created_at,
                "created_by": created_by,
            },
        )

    def active_for(self, client_id: int) -> IntegrationKey | None:
        return self.session.scalar(
            select(IntegrationKey)
            .where(IntegrationKey.client_id == client_id, IntegrationKey.revoked_at.is_(None))
            .order_by(IntegrationKey.id.desc())
            .limit(1)
        )

    def by_hash(self, key_hash: str) -> tuple[IntegrationKey, Client] | None:
        row = self.session.execute(
            select(IntegrationKey, Client)
            .join(Client, Client.id == IntegrationKey.client_id)
            .where(IntegrationKey.key_hash == key_hash)
        ).first()
        return (row[0], row[1]) if row else None

    def revoke_all(self, client_id: int, now: datetime) -> None:
        self.session.execute(
            update(IntegrationKey)
            .where(IntegrationKey.client_id == client_id, IntegrationKey.revoked_at.is_(None))
            .values(revoked_at=now)
        )


class NoticeRepository(Repository):
    def add(self, gestor_id: int, kind: str, payload: dict[str, Any], now: datetime) -> None:
        self.session.add(Notice(gestor_id=gestor_id, kind=kind, payload=payload, created_at=now))

    def pending(self, limit: int, *, for_update: bool = False) -> list[Notice]:
        query = (
            select(Notice).where(Notice.dispatched_at.is_(None)).order_by(Notice.id).limit(limit)
        )
        if for_update and self.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return list(self.session.scalars(query))

    def mark_dispatched(self, notice_id: int, now: datetime) -> None:
        self.session.execute(
            update(Notice).where(Notice.id == notice_id).values(dispatched_at=now)
        )
