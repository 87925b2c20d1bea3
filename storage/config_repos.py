"""Repositories of Configurações: certificates, software access links, audit pages."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update

from storage.models import AuditEntry, Client
from storage.models_config import AccessLink, Certificate
from storage.transaction import Repository


class CertificateRepository(Repository):
    def of_client(self, client_id: int) -> Certificate | None:
        return self.session.scalar(select(Certificate).where(Certificate.client_id == client_id))

    def put(self, certificate: Certificate) -> Certificate:
        """Store the client's certificate, replacing the previous one."""
        current = self.of_client(certificate.client_id)
        if current is not None:
            self.session.delete(current)
            self.session.flush()
        self.session.add(certificate)
        self.session.flush()
        return certificate

    def all_for_update(self) -> list[Certificate]:
        """Every stored certificate, locked for rewriting (key rotation)."""
        query = select(Certificate).order_by(Certificate.id)
        if self.dialect == "postgresql":
            query = query.with_for_update()
        return list(self.session.scalars(query))


class AccessLinkRepository(Repository):
    def add(self, link: AccessLink) -> AccessLink:
        self.session.add(link)
        self.session.flush()
        return link

    def by_hash(self, token_hash: str) -> tuple[AccessLink, Client] | None:
        row = self.session.execute(
            select(AccessLink, Client)
            .join(Client, Client.id == AccessLink.client_id)
            .where(AccessLink.token_hash == token_hash)
        ).first()
        return (row[0], row[1]) if row else None

    def use(self, link_id: int, now: datetime) -> bool:
        """Mark the link used; False when another request used it first (single use)."""
        result = self.session.execute(
            update(AccessLink)
            .where(AccessLink.id == link_id, AccessLink.used_at.is_(None))
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
        return getattr(result, "rowcount", 0) == 1


class HistoryRepository(Repository):
    """The audit log of one client, a page at a time (newest first)."""

    def count(self, client_id: int) -> int:
        return (
            self.session.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.client_id == client_id)
            )
            or 0
        )

    def page(self, client_id: int, offset: int, limit: int) -> list[AuditEntry]:
        query = (
            select(AuditEntry)
            .where(AuditEntry.client_id == client_id)
            .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
            .offset(offset)
            .limit(limit)
        )
        return list(self.session.scalars(query))
