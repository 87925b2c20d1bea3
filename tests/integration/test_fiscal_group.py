"""Group commit of single notes (the API's one XML per request), on SQLite and PostgreSQL.

Threads start together on a barrier and store one prepared note each. The first write is held
a little (a slow unit of work) so the others queue behind it: that is what makes a group; the
assertions are on what was stored and answered, never on the pause.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from services.fiscal_group import NoteWriter
from services.fiscal_ingest import IngestReport, prepare_file
from services.fiscal_prepare import PreparedNote, Status
from services.types import UnitOfWorkFactory
from storage.models import AuditEntry
from storage.models_fiscal import FiscalDocument
from storage.uow import UnitOfWork
from tests.integration.fiscal_support import client_with_documento
from tests.support import make_office
from tests.unit.fiscal.samples import EMITENTE_CNPJ, Ide, nfe_proc

HOLD_SECONDS = 0.1
INGESTED = AuditEntry.action == "fiscal.ingest"


@dataclass(frozen=True)
class Target:
    client_id: int
    documento: str


class SlowFirstUow(UnitOfWorkFactory):
    """Units of work as usual; the first one pauses before it starts."""

    made = 0

    def __call__(self) -> UnitOfWork:
        self.made += 1
        if self.made == 1:
            time.sleep(HOLD_SECONDS)
        return super().__call__()


@pytest.fixture
def emitente(uow_factory: UnitOfWorkFactory) -> Target:
    office = make_office(uow_factory, 1)
    card = client_with_documento(uow_factory, office.gestor, EMITENTE_CNPJ, "Emitente Ltda")
    return Target(card.id, EMITENTE_CNPJ)


def note(numero: int) -> PreparedNote:
    prepared = prepare_file(f"n{numero}.xml", nfe_proc(Ide(nnf=str(numero))), EMITENTE_CNPJ,
                            check_xsd=False)  # fmt: skip
    assert isinstance(prepared, PreparedNote)
    return prepared


def store_together(
    writer: NoteWriter, sends: list[tuple[Target, PreparedNote]]
) -> list[IngestReport | Exception]:
    results: list[IngestReport | Exception] = [RuntimeError("not run")] * len(sends)
    barrier = threading.Barrier(len(sends))

    def send(n: int) -> None:
        client, prepared = sends[n]
        barrier.wait()
        if n:  # the first one in holds the pen while the others queue
            time.sleep(HOLD_SECONDS / 4)
        try:
            results[n] = writer.store(client, prepared, via="api")
        except Exception as exc:
            results[n] = exc

    threads = [threading.Thread(target=send, args=(n,)) for n in range(len(sends))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_concurrent_notes_are_stored_once_each_with_one_audit_entry_per_request(
    uow_factory: UnitOfWorkFactory, emitente: Target
) -> None:
    writer = NoteWriter(SlowFirstUow(uow_factory.session_factory))
    sends = [(emitente, note(n)) for n in range(1, 9)] + [(emitente, note(5))]

    results = store_together(writer, sends)

    statuses = [r.outcomes[0].status for r in results if isinstance(r, IngestReport)]
    assert sorted(statuses) == sorted([Status.CARREGADO] * 8 + [Status.DUPLICADO])
    uow = uow_factory()
    with uow:
        rows = uow.session.scalar(select(func.count()).select_from(FiscalDocument))
        audits = list(uow.session.scalars(select(AuditEntry.at).where(INGESTED)))
    assert rows == 8
    assert len(audits) == 8  # one per request that stored a note, as without grouping
    assert len(set(audits)) < 8  # some were written together


def test_a_note_that_cannot_be_written_fails_alone(
    uow_factory: UnitOfWorkFactory, emitente: Target
) -> None:
    writer = NoteWriter(SlowFirstUow(uow_factory.session_factory))
    missing_client = Target(emitente.client_id + 1000, EMITENTE_CNPJ)  # breaks a foreign key
    sends = [(emitente, note(n)) for n in range(1, 5)] + [(missing_client, note(9))]

    results = store_together(writer, sends)

    assert [type(r) is IngestReport for r in results] == [True] * 4 + [False]
    assert all(r.carregados == 1 for r in results if isinstance(r, IngestReport))
    uow = uow_factory()
    with uow:
        assert uow.session.scalar(select(func.count()).select_from(FiscalDocument)) == 4
