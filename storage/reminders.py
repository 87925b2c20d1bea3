"""Repositories of reminders already sent, what is due, scheduler leases, mutes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from storage.models import Client, Plan, Software
from storage.models_billing import Fatura
from storage.models_config import Certificate
from storage.models_links import ContractingLink
from storage.models_reminders import NoticeMute, ReminderSent, SchedulerLease
from storage.transaction import Repository


@dataclass(frozen=True, slots=True)
class CertificateDue:
    fingerprint: str
    not_after: datetime
    client_id: int
    gestor_id: int
    razao_social: str
    email: str


@dataclass(frozen=True, slots=True)
class FaturaDue:
    id: int
    gestor_id: int
    competencia: str
    total: Decimal
    due_date: date


@dataclass(frozen=True, slots=True)
class IdleLink:
    id: int
    gestor_id: int
    software: str
    plan: str
    opened_at: datetime | None


class ReminderRepository(Repository):
    def certificates_between(self, start: datetime, end: datetime) -> list[CertificateDue]:
        """Certificates whose validity ends in [start, end) (a range on the not_after index)."""
        rows = self.session.execute(
            select(
                Certificate.fingerprint,
                Certificate.not_after,
                Client.id,
                Client.gestor_id,
                Client.razao_social,
                Client.email,
            )
            .join(Client, Client.id == Certificate.client_id)
            .where(Certificate.not_after >= start, Certificate.not_after < end)
        ).all()
        return [CertificateDue(*row) for row in rows]

    def sent_for_certificates_between(
        self, start: datetime, end: datetime
    ) -> set[tuple[str, str]]:
        """(fingerprint, threshold) already sent for the certificates of that range."""
        rows = self.session.execute(
            select(ReminderSent.subject, ReminderSent.threshold)
            .join(Certificate, Certificate.fingerprint == ReminderSent.subject)
            .where(
                ReminderSent.kind == "certificado",
                Certificate.not_after >= start,
                Certificate.not_after < end,
            )
        ).all()
        return {(subject, threshold) for subject, threshold in rows}

    def faturas_due_between(self, first: date, last: date, status: str) -> list[FaturaDue]:
        rows = self.session.execute(
            select(
                Fatura.id, Fatura.gestor_id, Fatura.competencia, Fatura.total, Fatura.due_date
            ).where(Fatura.status == status, Fatura.due_date >= first, Fatura.due_date <= last)
        ).all()
        return [FaturaDue(*row) for row in rows]

    def links_opened_not_used(
        self, opened_from: datetime, opened_before: datetime, now: datetime
    ) -> list[IdleLink]:
        """Links opened in [opened_from, opened_before), not used, cancelled nor expired."""
        rows = self.session.execute(
            select(
                ContractingLink.id,
                ContractingLink.gestor_id,
                Software.name,
                Plan.name,
                ContractingLink.opened_at,
            )
            .join(Software, Software.id == ContractingLink.software_id)
            .join(Plan, Plan.id == ContractingLink.plan_id)
            .where(
                ContractingLink.opened_at >= opened_from,
                ContractingLink.opened_at < opened_before,
                ContractingLink.used_at.is_(None),
                ContractingLink.cancelled_at.is_(None),
                ContractingLink.expires_at > now,
            )
        ).all()
        return [IdleLink(*row) for row in rows]

    def sent_keys(self, kind: str, subjects: Sequence[str]) -> set[tuple[str, str]]:
        if not subjects:
            return set()
        rows = self.session.execute(
            select(ReminderSent.subject, ReminderSent.threshold).where(
                ReminderSent.kind == kind, ReminderSent.subject.in_(list(subjects))
            )
        ).all()
        return {(subject, threshold) for subject, threshold in rows}

    def add_many(self, rows: Sequence[dict[str, Any]]) -> None:
        """Record sent reminders; a duplicate key fails the whole transaction (and its notices)."""
        if rows:
            self.session.execute(insert(ReminderSent), list(rows))


class SchedulerLeaseRepository(Repository):
    def take(self, job: str, holder: str, now: datetime, ttl: timedelta) -> bool:
        """Hold `job` until now + ttl if nobody else holds it; one atomic UPDATE decides."""
        self._ensure(job, now)
        taken = self.session.execute(
            update(SchedulerLease)
            .where(
                SchedulerLease.job == job,
                (SchedulerLease.expires_at <= now) | (SchedulerLease.holder == holder),
            )
            .values(holder=holder, expires_at=now + ttl, last_run_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(taken.rowcount)  # type: ignore[attr-defined]

    def get(self, job: str) -> SchedulerLease | None:
        return self.session.get(SchedulerLease, job)

    def _ensure(self, job: str, now: datetime) -> None:
        """The job's row, created expired when missing (concurrent creators: one wins)."""
        dialect = self.dialect
        values = {"job": job, "holder": "", "expires_at": now - timedelta(seconds=1)}
        module: Any = postgresql if dialect == "postgresql" else sqlite
        statement = module.insert(SchedulerLease).values(**values).on_conflict_do_nothing()
        self.session.execute(statement)


class NoticeMuteRepository(Repository):
    def of_gestor(self, gestor_id: int) -> set[str]:
        return set(
            self.session.scalars(select(NoticeMute.kind).where(NoticeMute.gestor_id == gestor_id))
        )

    def by_gestor(self) -> dict[int, set[str]]:
        muted: dict[int, set[str]] = {}
        for gestor_id, kind in self.session.execute(select(NoticeMute.gestor_id, NoticeMute.kind)):
            muted.setdefault(gestor_id, set()).add(kind)
        return muted

    def set(self, gestor_id: int, kind: str, *, muted: bool, now: datetime) -> None:
        self.session.execute(
            delete(NoticeMute).where(NoticeMute.gestor_id == gestor_id, NoticeMute.kind == kind)
        )
        if muted:
            self.session.add(NoticeMute(gestor_id=gestor_id, kind=kind, muted_at=now))
            self.session.flush()
