"""Helpers for the reminder tests: certificates, faturas and links written straight to storage."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from services import catalog
from services.reminders import SAO_PAULO
from services.types import UnitOfWorkFactory
from storage.models import Notice
from storage.models_billing import Fatura
from storage.models_config import Certificate
from storage.models_links import ContractingLink


def sp_noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=SAO_PAULO).astimezone(UTC)


def put_certificate(
    uow_factory: UnitOfWorkFactory, client_id: int, last_day: date, *, tag: str = ""
) -> str:
    """Store a certificate for the client valid until `last_day` (São Paulo); its fingerprint."""
    fingerprint = hashlib.sha256(f"{client_id}:{last_day}:{tag}".encode()).hexdigest()
    not_after = datetime.combine(last_day, time(20, 59), tzinfo=SAO_PAULO).astimezone(UTC)
    uow = uow_factory()
    with uow:
        existing = uow.certificates.of_client(client_id)
        if existing is not None:
            uow.session.delete(existing)
            uow.session.flush()
        uow.session.add(
            Certificate(
                client_id=client_id,
                subject_cn="EMPRESA:00000000000000",
                holder_name="EMPRESA",
                documento=None,
                issuer_cn="AC Teste",
                serial="01",
                fingerprint=fingerprint,
                not_before=not_after - timedelta(days=365),
                not_after=not_after,
                pfx_encrypted=b"x",
                password_encrypted=b"x",
                uploaded_at=not_after - timedelta(days=365),
                uploaded_by="test",
            )
        )
        uow.commit()
    return fingerprint


def put_fatura(
    uow_factory: UnitOfWorkFactory,
    gestor_id: int,
    due: date,
    *,
    status: str = "pendente",
    competencia: str | None = None,
) -> int:
    uow = uow_factory()
    with uow:
        fatura = Fatura(
            gestor_id=gestor_id,
            competencia=competencia or f"{due.year}-{due.month:02d}",
            total=Decimal("199.80"),
            due_date=due,
            status=status,
            created_at=datetime.now(UTC),
        )
        uow.session.add(fatura)
        uow.session.flush()
        uow.commit()
        return fatura.id


def put_link(
    uow_factory: UnitOfWorkFactory,
    gestor_id: int,
    opened_at: datetime | None,
    *,
    used: bool = False,
    token: str = "t",  # noqa: S107 (a link token, not a password)
) -> int:
    software = catalog.list_softwares(uow_factory())[0]
    uow = uow_factory()
    with uow:
        link = ContractingLink(
            token_hash=hashlib.sha256(token.encode()).hexdigest(),
            gestor_id=gestor_id,
            software_id=software.id,
            plan_id=software.plans[0].id,
            payer="gestor",
            created_by="test",
            created_at=(opened_at or datetime.now(UTC)) - timedelta(hours=1),
            expires_at=(opened_at or datetime.now(UTC)) + timedelta(days=30),
            opened_at=opened_at,
            used_at=opened_at if used else None,
        )
        uow.session.add(link)
        uow.session.flush()
        uow.commit()
        return link.id


def published(uow_factory: UnitOfWorkFactory) -> list[tuple[int, str, dict[str, Any]]]:
    """(gestor id, kind, payload) of every notice, oldest first."""
    uow = uow_factory()
    with uow:
        rows = uow.session.scalars(select(Notice).order_by(Notice.id)).all()
        return [(row.gestor_id, row.kind, dict(row.payload)) for row in rows]
