"""Contracting links, the gestor's side: create, list, cancel, send by e-mail or SMS.

A link carries a random token (256 bits) that is shown once, in the chat that created it;
only its SHA-256 is stored. The client's side (opening and completing it) is services/signups.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import quote

from domain.clients import Payer
from domain.contacts import parse_email, parse_phone
from domain.links import LinkState, link_state
from domain.money import monthly_price
from services.catalog import get_plan
from services.email import (
    EmailGateway,
    EmailMessage,
    NotConfigured,
    SmsGateway,
    enqueue_emails,
)
from services.errors import Conflict, NotFound
from services.principal import Principal
from storage.links import LinkRow
from storage.models import AuditEntry
from storage.models_links import ContractingLink
from storage.uow import UnitOfWork

TOKEN_BYTES = 32
DEFAULT_TTL = timedelta(days=7)
RECENT = 10


class LinkNotFound(NotFound):
    message = "Link não encontrado."


@dataclass(frozen=True, slots=True)
class LinkOptions:
    """What the dialogue needs to hand out links (built by the composition root)."""

    base_url: str = "http://127.0.0.1:8000"
    ttl: timedelta = DEFAULT_TTL
    email: EmailGateway | None = None
    sms: SmsGateway | None = None

    def url(self, token: str) -> str:
        return f"{self.base_url.rstrip('/')}/c/{token}"

    @property
    def sms_configured(self) -> bool:
        return self.sms is not None and self.sms.configured


def hash_token(token: str) -> str:
    return hashlib.sha256(token.strip().encode()).hexdigest()


def telegram_share_url(url: str, text: str) -> str:
    return f"https://t.me/share/url?url={quote(url, safe='')}&text={quote(text, safe='')}"


def whatsapp_url(text: str) -> str:
    return f"https://wa.me/?text={quote(text, safe='')}"


@dataclass(frozen=True, slots=True)
class IssuedLink:
    id: int
    token: str  # shown once; never stored
    software: str
    plan: str
    price: Decimal
    payer: Payer
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class LinkView:
    id: int
    state: LinkState
    software: str
    plan: str
    price: Decimal
    payer: Payer
    created_at: datetime
    expires_at: datetime
    client_id: int | None
    client_name: str | None


def view(row: LinkRow, now: datetime) -> LinkView:
    link = row.link
    payer = Payer(link.payer)
    return LinkView(
        id=link.id,
        state=link_state(
            now=now,
            expires_at=link.expires_at,
            opened_at=link.opened_at,
            used_at=link.used_at,
            cancelled_at=link.cancelled_at,
        ),
        software=row.software,
        plan=row.plan,
        price=monthly_price(row.list_price, gestor_pays=payer is Payer.GESTOR),
        payer=payer,
        created_at=link.created_at,
        expires_at=link.expires_at,
        client_id=link.client_id,
        client_name=row.client_name,
    )


def _audit(
    uow: UnitOfWork, principal: Principal, action: str, after: dict[str, object], now: datetime
) -> None:
    uow.audit.add(
        AuditEntry(
            at=now,
            gestor_id=principal.gestor_id,
            actor=principal.identity_key,
            client_id=None,
            action=action,
            before=None,
            after=after,
        )
    )


def create_link(
    uow: UnitOfWork,
    principal: Principal,
    *,
    software_id: int,
    plan_id: int,
    payer: Payer,
    ttl: timedelta = DEFAULT_TTL,
) -> IssuedLink:
    """Issue a single-use sign-up link for this software/plan; the token is returned once."""
    principal.require_manage()
    now = datetime.now(UTC)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    with uow:
        software, plan = get_plan(uow, software_id, plan_id)
        link = uow.links.add(
            ContractingLink(
                token_hash=hash_token(token),
                gestor_id=principal.gestor_id,
                software_id=software.id,
                plan_id=plan.id,
                payer=payer.value,
                created_by=principal.identity_key,
                created_at=now,
                expires_at=now + ttl,
            )
        )
        _audit(
            uow,
            principal,
            "link.create",
            {
                "link": link.id,
                "software": software.name,
                "plan": plan.name,
                "payer": payer.value,
                "expires_at": link.expires_at.isoformat(),
            },
            now,
        )
        uow.commit()
        return IssuedLink(
            id=link.id,
            token=token,
            software=software.name,
            plan=plan.name,
            price=plan.price_for(gestor_pays=payer is Payer.GESTOR),
            payer=payer,
            expires_at=link.expires_at,
        )


def list_links(uow: UnitOfWork, principal: Principal, *, limit: int = RECENT) -> list[LinkView]:
    """The gestor's most recent links, newest first, each with its state."""
    principal.require_manage()
    now = datetime.now(UTC)
    with uow:
        return [view(row, now) for row in uow.links.recent(principal.gestor_id, limit)]


def get_link(uow: UnitOfWork, principal: Principal, link_id: int) -> LinkView:
    """One of the gestor's links; another gestor's is not found."""
    principal.require_manage()
    with uow:
        row = uow.links.of_gestor(principal.gestor_id, link_id)
        if row is None:
            raise LinkNotFound()
        return view(row, datetime.now(UTC))


def cancel_link(uow: UnitOfWork, principal: Principal, link_id: int) -> LinkView:
    """Cancel a link the client has not used yet: opening it then shows it was cancelled."""
    principal.require_manage()
    now = datetime.now(UTC)
    with uow:
        row = uow.links.of_gestor(principal.gestor_id, link_id, for_update=True)
        if row is None:
            raise LinkNotFound()
        current = view(row, now)
        if not current.state.pending:
            raise Conflict(
                f"Este link não pode mais ser cancelado: ele está {current.state.label.lower()}."
            )
        row.link.cancelled_at = now
        _audit(uow, principal, "link.cancel", {"link": link_id}, now)
        uow.commit()
        return view(row, now)


def _pending(uow: UnitOfWork, principal: Principal, link_id: int) -> LinkView:
    current = get_link(uow, principal, link_id)
    if not current.state.pending:
        raise Conflict(f"Este link está {current.state.label.lower()}: crie um novo link.")
    return current


def send_by_email(
    uow: UnitOfWork,
    principal: Principal,
    link_id: int,
    *,
    to: str,
    subject: str,
    body: str,
    gateway: EmailGateway | None,
) -> str:
    """Queue the link text to an address typed by the gestor (the outbox's e-mail channel
    sends it after the commit, with retries); returns the address used. `gateway` only says
    whether e-mail is configured here."""
    principal.require_manage()
    if gateway is None:
        raise NotConfigured()
    address = parse_email(to)
    now = datetime.now(UTC)
    with uow:
        _pending(uow, principal, link_id)
        message = EmailMessage(to=address, subject=subject, body=body)
        enqueue_emails(uow, [message], now, sensitive=True)  # the body carries the token
        _audit(uow, principal, "link.email", {"link": link_id, "to": address}, now)
        uow.commit()
    return address


def send_by_sms(
    uow: UnitOfWork,
    principal: Principal,
    link_id: int,
    *,
    phone: str,
    text: str,
    gateway: SmsGateway | None,
) -> str:
    """Send the link by SMS through the configured gateway; returns the number used."""
    principal.require_manage()
    if gateway is None or not gateway.configured:
        raise NotConfigured()
    number = parse_phone(phone)
    with uow:
        _pending(uow, principal, link_id)
        gateway.send(number, text)
        _audit(uow, principal, "link.sms", {"link": link_id, "to": number}, datetime.now(UTC))
        uow.commit()
    return number
