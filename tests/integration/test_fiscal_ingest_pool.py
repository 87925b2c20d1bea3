"""Ingest with the prepare step in worker processes: the same outcomes, rows and reasons as
reading here, and small batches stay here."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import delete, select

from services.fiscal_ingest import IncomingFile, ingest, prepare_files
from services.fiscal_prepare import PreparedNote
from services.prepare_pool import PreparePool
from services.types import UnitOfWorkFactory
from storage.models_fiscal import FiscalDocument
from tests.integration.fiscal_support import client_with_documento
from tests.support import make_office
from tests.unit.fiscal.samples import EMITENTE_CNPJ, Ide, nfe_proc, proc_evento

OUTRO_CNPJ = "45723174000110"
WORKERS = PreparePool(2, min_files=1)


class Target:
    def __init__(self, client_id: int, documento: str) -> None:
        self.client_id = client_id
        self.documento = documento


def files() -> list[IncomingFile]:
    """Notes, a cancellation before its note, refusals of several kinds, a duplicate."""
    notes = [IncomingFile(f"n{n}.xml", nfe_proc(Ide(nnf=str(n)))) for n in range(1, 13)]
    return [
        IncomingFile("cancela-3.xml", proc_evento(Ide(nnf="3").chave())),
        *notes[:5],
        IncomingFile("ruim.xml", b"<nfeProc"),
        IncomingFile("sem-protocolo.xml", nfe_proc(Ide(nnf="90"), c_stat=None)),
        IncomingFile("outro.xml", nfe_proc(Ide(nnf="91", cnpj=OUTRO_CNPJ), c_stat=100)),
        IncomingFile("danfe.pdf", b"%PDF-1.4"),
        IncomingFile("ilegivel.xml", None, "Arquivo corrompido no ZIP."),
        *notes[5:],
        notes[0],
    ]


def stored(uow_factory: UnitOfWorkFactory, client_id: int) -> list[tuple[str, str, int]]:
    uow = uow_factory()
    with uow:
        return [
            (row.chave, row.situacao, row.xml_size)
            for row in uow.session.execute(
                select(FiscalDocument.chave, FiscalDocument.situacao, FiscalDocument.xml_size)
                .where(FiscalDocument.client_id == client_id)
                .order_by(FiscalDocument.chave)
            )
        ]


@pytest.fixture
def emitente(uow_factory: UnitOfWorkFactory) -> int:
    office = make_office(uow_factory, 1)
    return client_with_documento(uow_factory, office.gestor, EMITENTE_CNPJ, "Emitente Ltda").id


def forget_documents(uow_factory: UnitOfWorkFactory) -> None:
    uow = uow_factory()
    with uow:
        uow.session.execute(delete(FiscalDocument))
        uow.commit()


def test_reading_in_workers_stores_the_same_rows_with_the_same_outcomes_and_reasons(
    uow_factory: UnitOfWorkFactory, emitente: int
) -> None:
    client = Target(emitente, EMITENTE_CNPJ)
    serial = ingest(uow_factory(), client, files(), via="t", chunk_size=4)
    rows_serial = stored(uow_factory, emitente)
    forget_documents(uow_factory)

    parallel = ingest(uow_factory(), client, files(), via="t", chunk_size=4, pool=WORKERS)

    assert parallel.outcomes == serial.outcomes
    assert [o.nome for o in parallel.outcomes] == [f.nome for f in files()]
    assert (parallel.carregados, parallel.duplicados, parallel.recusados) == (12, 1, 4)
    assert (parallel.cancelamentos, parallel.ignorados) == (1, 1)
    assert stored(uow_factory, emitente) == rows_serial


def test_a_batch_goes_to_the_workers_only_when_it_is_big_enough() -> None:
    notes = [IncomingFile(f"n{n}.xml", nfe_proc(Ide(nnf=str(n)))) for n in range(1, 4)]

    # Items are dropped only on the way back through a worker's pipe (they are not stored).
    sent = list(prepare_files(notes, EMITENTE_CNPJ, pool=PreparePool(2, min_files=3)))
    kept = list(prepare_files(notes, EMITENTE_CNPJ, pool=PreparePool(2, min_files=4)))

    assert all(isinstance(p, PreparedNote) and p.nota.itens == () for p in sent)
    assert all(isinstance(p, PreparedNote) and p.nota.itens for p in kept)


def test_the_pool_runs_in_other_processes_and_keeps_the_order() -> None:
    pids_and_values = list(WORKERS.map(_pid_and_square, range(20)))

    assert [value for _, value in pids_and_values] == [n * n for n in range(20)]
    assert os.getpid() not in {pid for pid, _ in pids_and_values}


async def test_one_file_runs_off_the_event_loop_in_a_worker() -> None:
    pid, value = await WORKERS.run(_pid_and_square, 7)

    assert (value, pid != os.getpid()) == (49, True)


def _pid_and_square(n: int) -> tuple[int, int]:
    return os.getpid(), n * n
