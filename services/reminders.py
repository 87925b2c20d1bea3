"""Reminder sweeps: certificates expiring, faturas due, contracting links left idle.

Each sweep finds what is due today (São Paulo), publishes the notices and records every
reminder in `reminder_sent`, all in one transaction: the table's unique key (kind, subject,
threshold) makes a second run — a restart, another instance, `scheduler run-once` — publish
nothing again. Kinds the gestor muted in Meus dados › Avisos are recorded but not published,
so turning them on again does not replay the past.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from domain.pendencias import PendenciaOptions
from domain.reminders import (
    LINK_IDLE_DAYS,
    certificate_threshold,
    fatura_threshold,
)
from services import notices
from services.email import EmailMessage, enqueue_emails
from services.types import UnitOfWorkFactory
from storage.reminders import CertificateDue
from storage.uow import UnitOfWork

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
# Expired certificates are reminded once; ones that expired before this window (at the first
# run) are old news the gestor already sees as "vencido" on the client's card.
EXPIRED_LOOKBACK_DAYS = 30
OVERDUE_LOOKBACK_DAYS = 60
LINK_LOOKBACK_DAYS = 30
DEFAULT_DIGEST_THRESHOLD = 5

# What a gestor can mute in Meus dados › Avisos, and the notice kinds each covers.
MUTABLE_KINDS: Mapping[str, tuple[str, ...]] = {
    "certificados": ("certificado.vencendo", "certificado.resumo"),
    "faturas": ("fatura.vencendo", "fatura.vencida"),
    "links": ("link.parado",),
    "pendencias": ("pendencias.resumo",),  # the daily digest (services/pendencias.py)
    # the capture of supplier notes (services/sefaz_capture.py)
    "fornecedores": ("fornecedores.novas",),
    "pacote": ("pacote.pronto",),  # Pacote do mês: the gestor's message per month
}

CERT_EMAIL_SUBJECT = "Certificado digital de {name}: {when}"
CERT_EMAIL_BODY = (
    "Olá,\n\nO certificado digital A1 de {name} {when} ({until}). Sem ele, a emissão de NF-e e "
    "NFC-e para.\n\nProvidencie a renovação e envie o novo certificado ao seu revendedor.\n\n"
    "— RevendaBot (mensagem automática, não responda)"
)


@dataclass(frozen=True, slots=True)
class ReminderOptions:
    digest_threshold: int = DEFAULT_DIGEST_THRESHOLD
    email: bool = False  # SMTP configured: clients get an e-mail through the outbox too
    pendencias: PendenciaOptions = field(default_factory=PendenciaOptions)


@dataclass(frozen=True, slots=True)
class SweepResult:
    job: str
    reminders: int  # recorded in reminder_sent
    notices: int  # published (muted ones are not)
    digests: int
    emails: int
    removed: int = 0  # rows deleted (the retention sweep)


def today_sp(now: datetime) -> date:
    return now.astimezone(SAO_PAULO).date()


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=SAO_PAULO).astimezone(UTC)


def _sent_row(
    kind: str, subject: str, threshold: str, gestor_id: int, now: datetime
) -> dict[str, Any]:
    return {
        "kind": kind,
        "subject": subject,
        "threshold": threshold,
        "gestor_id": gestor_id,
        "sent_at": now,
    }


# -- certificates ------------------------------------------------------------------------------


def certificate_window(now: datetime) -> tuple[datetime, datetime]:
    """The not_after range the sweep reads: from the expired lookback to 31 days ahead."""
    today = today_sp(now)
    return (
        _midnight(today - timedelta(days=EXPIRED_LOOKBACK_DAYS)),
        _midnight(today + timedelta(days=31)),
    )


def sweep_certificates(
    uow_factory: UnitOfWorkFactory, *, now: datetime, options: ReminderOptions
) -> SweepResult:
    """Tell each gestor about its clients' certificates at 30, 15, 7, 1, 0 days and expired."""
    today = today_sp(now)
    start, end = certificate_window(now)
    uow = uow_factory()
    with uow:
        uow.lock("reminders:certificados")
        sent = uow.reminders.sent_for_certificates_between(start, end)
        fresh: dict[int, list[tuple[CertificateDue, str, int]]] = {}
        for row in uow.reminders.certificates_between(start, end):
            left = (row.not_after.astimezone(SAO_PAULO).date() - today).days
            threshold = certificate_threshold(left)
            if threshold is None or (row.fingerprint, threshold) in sent:
                continue
            sent.add((row.fingerprint, threshold))  # one certificate on two clients: once
            fresh.setdefault(row.gestor_id, []).append((row, threshold, left))
        muted = uow.notice_mutes.by_gestor()
        published = digests = emails = 0
        rows = []
        for gestor_id, items in fresh.items():
            items.sort(key=lambda item: (item[2], item[0].razao_social))
            rows += [
                _sent_row("certificado", r.fingerprint, th, gestor_id, now) for r, th, _ in items
            ]
            if options.email:
                emails += _email_clients(uow, items, now)
            if "certificados" in muted.get(gestor_id, set()):
                continue
            payloads = [_certificate_payload(row, left) for row, _, left in items]
            if len(items) > options.digest_threshold:
                notices.publish(uow, gestor_id, "certificado.resumo", {"items": payloads})
                digests += 1
            else:
                for payload in payloads:
                    notices.publish(uow, gestor_id, "certificado.vencendo", payload)
                published += len(payloads)
        uow.reminders.add_many(rows)
        uow.commit()
    return SweepResult("certificados", len(rows), published + digests, digests, emails)


def _certificate_payload(row: CertificateDue, left: int) -> dict[str, Any]:
    return {
        "client_id": row.client_id,
        "razao_social": row.razao_social,
        "valid_until": row.not_after.astimezone(SAO_PAULO).date().isoformat(),
        "days_left": left,
    }


def certificate_when(days_left: int) -> str:
    """How the validity reads in a sentence: "vence hoje", "vence em 7 dias", "venceu"."""
    if days_left < 0:
        return "venceu"
    if days_left == 0:
        return "vence hoje"
    if days_left == 1:
        return "vence amanhã"
    return f"vence em {days_left} dias"


def _email_clients(
    uow: UnitOfWork, items: list[tuple[CertificateDue, str, int]], now: datetime
) -> int:
    """Queue one e-mail per client (the outbox channel "email" delivers it with retries)."""
    messages = []
    for row, _, left in items:
        when = certificate_when(left)
        until = row.not_after.astimezone(SAO_PAULO).strftime("%d/%m/%Y")
        messages.append(
            EmailMessage(
                to=row.email,
                subject=CERT_EMAIL_SUBJECT.format(name=row.razao_social, when=when),
                body=CERT_EMAIL_BODY.format(name=row.razao_social, when=when, until=until),
            )
        )
    return enqueue_emails(uow, messages, now)


# -- faturas and links --------------------------------------------------------------------------


def sweep_faturas(
    uow_factory: UnitOfWorkFactory, *, now: datetime, options: ReminderOptions
) -> SweepResult:
    """Faturas pendentes due within 3 days, and overdue ones: one notice each, once."""
    today = today_sp(now)
    uow = uow_factory()
    with uow:
        uow.lock("reminders:faturas")
        due = uow.reminders.faturas_due_between(
            today - timedelta(days=OVERDUE_LOOKBACK_DAYS), today + timedelta(days=3), "pendente"
        )
        sent = uow.reminders.sent_keys("fatura", [str(f.id) for f in due])
        muted = uow.notice_mutes.by_gestor()
        rows, published = [], 0
        for fatura in due:
            threshold = fatura_threshold((fatura.due_date - today).days)
            if threshold is None or (str(fatura.id), threshold) in sent:
                continue
            rows.append(_sent_row("fatura", str(fatura.id), threshold, fatura.gestor_id, now))
            if "faturas" in muted.get(fatura.gestor_id, set()):
                continue
            kind = "fatura.vencida" if threshold == "vencida" else "fatura.vencendo"
            payload = {
                "fatura_id": fatura.id,
                "competencia": fatura.competencia,
                "total": str(fatura.total),
                "due": fatura.due_date.isoformat(),
            }
            notices.publish(uow, fatura.gestor_id, kind, payload)
            published += 1
        uow.reminders.add_many(rows)
        uow.commit()
    return SweepResult("faturas", len(rows), published, 0, 0)


def sweep_links(
    uow_factory: UnitOfWorkFactory, *, now: datetime, options: ReminderOptions
) -> SweepResult:
    """Contracting links opened 3+ days ago and still not completed: one notice each."""
    idle_since = now - timedelta(days=LINK_IDLE_DAYS)
    uow = uow_factory()
    with uow:
        uow.lock("reminders:links")
        idle = uow.reminders.links_opened_not_used(
            idle_since - timedelta(days=LINK_LOOKBACK_DAYS), idle_since, now
        )
        sent = uow.reminders.sent_keys("link", [str(link.id) for link in idle])
        muted = uow.notice_mutes.by_gestor()
        rows, published = [], 0
        for link in idle:
            if (str(link.id), "parado") in sent:
                continue
            rows.append(_sent_row("link", str(link.id), "parado", link.gestor_id, now))
            if "links" in muted.get(link.gestor_id, set()):
                continue
            payload = {
                "link_id": link.id,
                "software": link.software,
                "plan": link.plan,
                "opened": (link.opened_at or now).astimezone(SAO_PAULO).date().isoformat(),
            }
            notices.publish(uow, link.gestor_id, "link.parado", payload)
            published += 1
        uow.reminders.add_many(rows)
        uow.commit()
    return SweepResult("links", len(rows), published, 0, 0)


Sweep = Callable[..., SweepResult]
JOBS: Mapping[str, Sweep] = {
    "certificados": sweep_certificates,
    "faturas": sweep_faturas,
    "links": sweep_links,
}
