"""Helpers for the Pendências tests: an office with one of each kind, written to storage."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from services.reminders import SAO_PAULO
from services.types import UnitOfWorkFactory
from storage.models import Client
from storage.models_fiscal import FiscalDocument
from tests.integration.reminder_support import put_certificate, put_fatura, put_link
from tests.support import Office, add_client

TODAY = date(2026, 3, 16)  # a Monday, mid-month
_numbers = itertools.count(1)


def sp(day: date, hour: int = 12) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=SAO_PAULO).astimezone(UTC)


def put_note(uow_factory: UnitOfWorkFactory, client_id: int, day: date) -> None:
    """An NF-e the client issued on `day` (only the columns the list reads matter)."""
    uow = uow_factory()
    with uow:
        uow.session.add(note(client_id, day))
        uow.commit()


def note(client_id: int, day: date) -> FiscalDocument:
    """An NF-e the client issued on `day`, not stored yet."""
    numero = next(_numbers)
    return FiscalDocument(
        client_id=client_id,
        tipo="emitida",
        modelo="55",
        chave=f"{client_id:010d}{numero:034d}",
        serie=1,
        numero=numero,
        emitida_em=sp(day),
        emitida_offset_min=-180,
        competencia=f"{day.year}-{day.month:02d}",
        emitente_documento="11222333000181",
        valor=Decimal("10.00"),
        situacao="autorizada",
        recebida_em=sp(day),
        recebida_via="test",
        xml_crc32=0,
        xml_size=0,
        xml_deflate=b"",
    )


def set_status(
    uow_factory: UnitOfWorkFactory, client_id: int, status: str, since: datetime | None
) -> None:
    uow = uow_factory()
    with uow:
        client = uow.session.get(Client, client_id)
        assert client is not None
        client.status, client.status_since = status, since
        uow.commit()


@dataclass(frozen=True)
class Seeded:
    expired_cert: int  # client ids
    expiring_cert: int
    teste: int
    sem_notas: int
    overdue_fatura: int  # fatura ids
    due_fatura: int
    link: int


def seed_each_kind(uow_factory: UnitOfWorkFactory, office: Office, base: int = 0) -> Seeded:
    """One office with every kind of pendência, as of TODAY (clients made efetivado unless
    the kind needs otherwise, so that only the one meant shows)."""
    gestor = office.gestor

    def client(n: int, name: str) -> int:
        card = add_client(uow_factory, gestor, base + n, name=name)
        set_status(uow_factory, card.id, "efetivado", sp(TODAY - timedelta(days=60)))
        return card.id

    expired = client(1, "Alfa Vencido Ltda")
    put_certificate(uow_factory, expired, TODAY - timedelta(days=3))
    expiring = client(2, "Beta Vencendo Ltda")
    put_certificate(uow_factory, expiring, TODAY + timedelta(days=10))
    valid = client(3, "Gama Em Dia Ltda")
    put_certificate(uow_factory, valid, TODAY + timedelta(days=200))
    teste = client(4, "Delta Teste Ltda")
    set_status(uow_factory, teste, "teste", sp(TODAY - timedelta(days=20)))
    recent = client(5, "Épsilon Teste Novo Ltda")
    set_status(uow_factory, recent, "teste", sp(TODAY - timedelta(days=3)))
    quiet = client(6, "Zeta Parou Ltda")
    put_note(uow_factory, quiet, TODAY.replace(day=1) - timedelta(days=5))
    busy = client(7, "Eta Emitindo Ltda")
    put_note(uow_factory, busy, TODAY.replace(day=1) - timedelta(days=5))
    put_note(uow_factory, busy, TODAY - timedelta(days=1))
    gestor_id = gestor.gestor_id
    overdue = put_fatura(uow_factory, gestor_id, TODAY - timedelta(days=6), competencia="2026-02")
    due = put_fatura(uow_factory, gestor_id, TODAY + timedelta(days=5), competencia="2026-03")
    put_fatura(
        uow_factory, gestor_id, TODAY - timedelta(days=40), status="paga", competencia="2026-01"
    )
    opened = sp(TODAY - timedelta(days=2))
    link = put_link(uow_factory, gestor_id, opened, token=f"{base}a")
    put_link(uow_factory, gestor_id, None, token=f"{base}b")  # never opened
    put_link(uow_factory, gestor_id, opened, used=True, token=f"{base}c")
    return Seeded(expired, expiring, teste, quiet, overdue, due, link)
