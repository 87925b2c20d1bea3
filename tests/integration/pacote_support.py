"""Helpers for the Pacote do mês tests: an office with clients and notes in October 2026, the
sweep on 1 November (06:00 São Paulo), and the packages opened from the file store."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from bot.app import App
from domain.clients import ContractStatus, Payer
from services import contracts, pacote
from services.clients import ClientCard
from services.download_links import DownloadLinks
from services.jobs import JobRunner
from services.pacote import PacoteOptions, PacoteSweep
from services.principal import Principal
from services.types import UnitOfWorkFactory
from storage.models import Client
from storage.models_pacote import Pacote
from tests.support import Office, add_client, make_office
from tests.unit.fiscal_chat.chat_support import store_emitted, store_supplier_notes

# Day 1 of November 2026 at 06:00 in São Paulo: the sweep's moment; October is packed.
SWEEP_AT = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
LINK_KEY = b"k" * 32


@dataclass
class Seeded:
    office: Office
    acme: ClientCard
    beta: ClientCard


def efetivar(uow_factory: UnitOfWorkFactory, principal: Principal, card: ClientCard) -> None:
    contracts.save_contract(
        uow_factory(), principal, card.id, status=ContractStatus.EFETIVADO, payer=Payer.GESTOR
    )


def set_contador(uow_factory: UnitOfWorkFactory, client_id: int, email: str | None) -> None:
    uow = uow_factory()
    with uow:
        uow.session.execute(
            update(Client).where(Client.id == client_id).values(email_contador=email)
        )
        uow.commit()


def seed(app: App, n: int = 1) -> Seeded:
    """Two Efetivado clients with October notes: ACME (4 NF-e, one cancelled; 2 NFC-e; 3 supplier
    notes) and Beta (2 NF-e); ACME also has a November note, which is not October's."""
    uow_factory = app.uow_factory
    office = make_office(uow_factory, n)
    acme = add_client(uow_factory, office.gestor, 100 * n + 1, name="ACME Comércio Ltda")
    beta = add_client(uow_factory, office.gestor, 100 * n + 2, name="Beta Serviços Ltda")
    for card in (acme, beta):
        efetivar(uow_factory, office.gestor, card)
    store_emitted(uow_factory, acme, 4, cancel=(2,))
    store_emitted(uow_factory, acme, 2, modelo="65", seed=9)
    store_emitted(uow_factory, acme, 1, month=11, seed=13)
    store_supplier_notes(uow_factory, acme, 3)
    store_emitted(uow_factory, beta, 2, seed=21)
    set_contador(uow_factory, acme.id, "contador@acme.com.br")
    return Seeded(office, acme, beta)


def links() -> DownloadLinks:
    return DownloadLinks(LINK_KEY, "https://revenda.example", timedelta(days=7))


def options(app: App, **changes: object) -> PacoteOptions:
    base = PacoteOptions(files=app.files, email=True, links=links())
    return replace(base, **changes)  # type: ignore[arg-type]


def sweep(
    app: App,
    now: datetime = SWEEP_AT,
    opts: PacoteOptions | None = None,
    **kwargs: str,
) -> PacoteSweep:
    """Run the sweep and its jobs here (as `scheduler run-once pacote` does)."""
    swept = pacote.sweep_pacote(app.uow_factory, now=now, dia=1, **kwargs)
    JobRunner(app.uow_factory, pacote.kinds(opts or options(app))).run_now(swept.job_ids)
    return swept


def packages(uow_factory: UnitOfWorkFactory) -> list[Pacote]:
    uow = uow_factory()
    with uow:
        rows = uow.session.scalars(select(Pacote).order_by(Pacote.id)).all()
        uow.session.expunge_all()
        return list(rows)


def package_of(app: App, client_id: int) -> Pacote:
    [row] = [p for p in packages(app.uow_factory) if p.client_id == client_id]
    return row


def unzip_stored(app: App, key: str) -> dict[str, bytes]:
    """A package from the store, after zipfile checked every CRC."""
    with app.files.open(key) as stream:
        data = stream.read()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        return {name: archive.read(name) for name in archive.namelist()}
