"""Getting a client's XMLs in: one XML, a ZIP of many, or a stream of files (the CLI).

Each document is all-or-nothing and decided on its own: in a ZIP with 3 good notes and 1 bad
one, the 3 are stored and the 1 is refused with its reason (the summary lists each). Reading and
classifying (the CPU-bound half: parse, checks, compression) happen before the database is
touched, in worker processes for big batches (`services.prepare_pool`); a chunk of documents is
then written in one transaction (`chunk_size`, default 500: one multi-row INSERT) and committed
while the workers read the next ones. Called inside an outer unit of work (the
API does this) the whole call is one transaction. Re-sending is always safe: a chave already
stored is a duplicate, and the database's unique key settles concurrent uploads.

Cancellation events are applied after every note of the call, so a ZIP or folder holding a note
and its cancellation works in any order; an event whose note is not stored is refused with the
reason ("envie antes o XML da nota").
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from itertools import chain, islice
from typing import Protocol

from domain.documents import normalize
from domain.fiscal.safe_xml import MAX_XML_BYTES
from domain.fiscal.zipsafe import ZipLimits, iter_members, looks_like_zip, open_zip
from services.danfe_ahead import after_store
from services.errors import NotFound
from services.fiscal_prepare import (
    Outcome,
    Prepared,
    PreparedEvent,
    PreparedNote,
    Status,
    TipoNota,
    prepare,
    refused,
)
from services.prepare_pool import PreparePool
from storage.models import AuditEntry
from storage.uow import UnitOfWork

CHUNK_SIZE = 500  # notes written per transaction (one multi-row INSERT)
TASK_SIZE = 50  # files per worker task: small enough to keep every worker busy


class ClientRef(Protocol):
    """The client the documents belong to (an `ApiClient` from the integration key is one)."""

    @property
    def client_id(self) -> int: ...

    @property
    def documento(self) -> str: ...


@dataclass(frozen=True, slots=True)
class ImportClient:
    """A client found by its CNPJ/CPF, for the operator's bulk import."""

    client_id: int
    gestor_id: int
    documento: str
    razao_social: str


@dataclass(frozen=True, slots=True)
class IncomingFile:
    """A file to ingest: its name (for the summary) and bytes, or why it could not be read."""

    nome: str
    data: bytes | None
    problem: str | None = None


@dataclass
class IngestReport:
    """Every file's outcome, in the order the files came."""

    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, status: Status) -> int:
        return sum(1 for outcome in self.outcomes if outcome.status is status)

    @property
    def carregados(self) -> int:
        return self.count(Status.CARREGADO)

    @property
    def duplicados(self) -> int:
        return self.count(Status.DUPLICADO)

    @property
    def cancelamentos(self) -> int:
        return self.count(Status.CANCELAMENTO)

    @property
    def recusados(self) -> int:
        return self.count(Status.RECUSADO)

    @property
    def ignorados(self) -> int:
        return self.count(Status.IGNORADO)

    @property
    def refusals(self) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if outcome.status is Status.RECUSADO]


def client_by_documento(uow: UnitOfWork, documento: str) -> ImportClient:
    """The client with this CNPJ/CPF (the operator acts as the system: any gestor)."""
    with uow:
        client = uow.fiscal.client_by_documento(normalize(documento))
        if client is None:
            raise NotFound(f"Nenhum cliente com o CNPJ/CPF {documento}.")
        return ImportClient(client.id, client.gestor_id, client.documento, client.razao_social)


def ingest(
    uow: UnitOfWork,
    client: ClientRef,
    files: Iterable[IncomingFile],
    *,
    via: str,
    chunk_size: int = CHUNK_SIZE,
    max_bytes: int = MAX_XML_BYTES,
    check_xsd: bool = False,
    workers: int = 1,
    pool: PreparePool | None = None,
    on_file: Callable[[Outcome | None], None] | None = None,
) -> IngestReport:
    """Store the client's notes and cancellations from `files`; one outcome per file.

    Files are read and classified in `pool`'s worker processes when the batch is big enough
    (or in `workers` processes when asked, whatever the size) while this process writes the
    previous batch; `files` is still consumed lazily. `on_file` is called once per file (with
    its outcome when already known), for a progress bar.
    """
    if pool is None:
        pool = PreparePool(workers, min_files=0)
    writer = _Writer(uow, client, via, on_file)
    prepared = prepare_files(
        files,
        client.documento,
        pool=pool,
        max_bytes=max_bytes,
        check_xsd=check_xsd,
        task_size=min(TASK_SIZE, chunk_size),
    )
    for batch in iter(lambda: list(islice(prepared, chunk_size)), []):
        writer.write(batch)
    return writer.report()


def store(
    uow: UnitOfWork, client: ClientRef, prepared: Iterable[Prepared], *, via: str
) -> IngestReport:
    """Write files already prepared (`prepare_file`): the short, database half of ingest."""
    writer = _Writer(uow, client, via)
    writer.write(list(prepared))
    return writer.report()


def prepare_files(
    files: Iterable[IncomingFile],
    documento: str,
    *,
    pool: PreparePool,
    max_bytes: int = MAX_XML_BYTES,
    check_xsd: bool = False,
    task_size: int = TASK_SIZE,
) -> Iterator[Prepared]:
    """Each file read and classified for the client, in order: in the pool's workers, `task_size`
    files a task, when it has several and the batch has at least `pool.min_files`; else here."""
    iter_files = iter(files)
    head = list(islice(iter_files, max(pool.min_files, 1)))
    tasks = _tasks(chain(head, iter_files), task_size)
    here = not pool.parallel or len(head) < pool.min_files
    # Going back through a pipe, the items are left out: they are not stored.
    read = partial(
        _prepare_chunk,
        documento=documento,
        max_bytes=max_bytes,
        check_xsd=check_xsd,
        slim=not here,
    )
    for done in map(read, tasks) if here else pool.map(read, tasks):
        yield from done


def prepare_file(
    nome: str, data: bytes, documento: str, *, max_bytes: int = MAX_XML_BYTES, check_xsd: bool
) -> Prepared:
    """One file read and classified (runs in a pool worker for the API's single XML)."""
    return _without_items(_prepare(IncomingFile(nome, data), documento, max_bytes, check_xsd))


def _tasks(files: Iterator[IncomingFile], size: int) -> Iterator[list[IncomingFile]]:
    return iter(lambda: list(islice(files, size)), [])


class _Writer:
    """Writes prepared files a batch at a time (one transaction each), keeping every file's
    outcome in order; cancellation events wait for `report`, after every note of the call."""

    def __init__(
        self,
        uow: UnitOfWork,
        client: ClientRef,
        via: str,
        on_file: Callable[[Outcome | None], None] | None = None,
    ) -> None:
        self.uow, self.client, self.via, self.on_file = uow, client, via, on_file
        self.slots: list[Outcome | None] = []
        self.events: list[tuple[int, PreparedEvent]] = []

    def write(self, batch: list[Prepared]) -> None:
        notes: list[tuple[int, PreparedNote]] = []
        for prepared in batch:
            index = len(self.slots)
            self.slots.append(prepared if isinstance(prepared, Outcome) else None)
            if isinstance(prepared, PreparedNote):
                notes.append((index, prepared))
            elif isinstance(prepared, PreparedEvent):
                self.events.append((index, prepared))
            if self.on_file is not None:
                self.on_file(prepared if isinstance(prepared, Outcome) else None)
        if notes:
            for index, outcome in _store_notes(self.uow, self.client, notes, self.via):
                self.slots[index] = outcome

    def report(self) -> IngestReport:
        if self.events:
            for index, outcome in _apply_events(self.uow, self.client, self.events, self.via):
                self.slots[index] = outcome
        return IngestReport([outcome for outcome in self.slots if outcome is not None])


def _prepare_chunk(
    chunk: list[IncomingFile], *, documento: str, max_bytes: int, check_xsd: bool, slim: bool
) -> list[Prepared]:
    prepared = [_prepare(incoming, documento, max_bytes, check_xsd) for incoming in chunk]
    return [_without_items(item) for item in prepared] if slim else prepared


def _without_items(prepared: Prepared) -> Prepared:
    if isinstance(prepared, PreparedNote):
        prepared.nota = replace(prepared.nota, itens=())
    return prepared


def ingest_upload(
    uow: UnitOfWork,
    client: ClientRef,
    data: bytes,
    *,
    nome: str,
    via: str,
    limits: ZipLimits | None = None,
    check_xsd: bool = False,
    pool: PreparePool | None = None,
) -> IngestReport:
    """One uploaded body: a single XML, or a ZIP of XMLs (`ZipRefusedError` for the ZIP)."""
    limits = limits or ZipLimits()
    if looks_like_zip(data):
        with open_zip(io.BytesIO(data), limits) as archive:
            return ingest(
                uow,
                client,
                zip_files(archive, limits),
                via=via,
                max_bytes=limits.max_member_bytes,
                check_xsd=check_xsd,
                pool=pool,
            )
    return ingest(uow, client, [IncomingFile(nome, data)], via=via, check_xsd=check_xsd)


def zip_files(archive: zipfile.ZipFile, limits: ZipLimits) -> Iterator[IncomingFile]:
    """The members of a checked ZIP as incoming files (see `domain.fiscal.zipsafe`)."""
    for member in iter_members(archive, limits):
        yield IncomingFile(member.name, member.data, member.problem)


def _prepare(incoming: IncomingFile, documento: str, max_bytes: int, xsd: bool) -> Prepared:
    if incoming.data is None:
        return refused(incoming.nome, "ilegivel", incoming.problem or "Arquivo ilegível.")
    if not incoming.nome.lower().endswith(".xml") and _is_packaging(incoming.nome):
        return Outcome(
            incoming.nome, Status.IGNORADO, motivo="Não é um arquivo .xml (ignorado no lote)."
        )
    return prepare(incoming.nome, incoming.data, documento, max_bytes=max_bytes, check_xsd=xsd)


def _is_packaging(nome: str) -> bool:
    """Files that travel in ZIPs beside the XMLs (DANFE PDFs, macOS metadata, notes)."""
    base = nome.replace("\\", "/").rsplit("/", 1)[-1].lower()
    return (
        "__macosx/" in nome.lower()
        or base.startswith(".")
        or base.endswith((".pdf", ".txt", ".csv", ".png", ".jpg", ".jpeg", ".html", ".json"))
    )


def _store_notes(
    uow: UnitOfWork, client: ClientRef, notes: list[tuple[int, PreparedNote]], via: str
) -> list[tuple[int, Outcome]]:
    now = datetime.now(UTC)
    with uow:
        results = write_notes(uow, client, notes, via, now)
        audit(uow, client, via, now, [outcome for _, outcome in results])
        uow.commit()
    return results


def write_notes(
    uow: UnitOfWork,
    client: ClientRef,
    notes: list[tuple[int, PreparedNote]],
    via: str,
    now: datetime,
) -> list[tuple[int, Outcome]]:
    """Insert the new notes (one multi-row INSERT) and record late cancellations, in order;
    in the caller's transaction, neither audited nor committed."""
    results: list[tuple[int, Outcome]] = []
    stored = uow.fiscal.existing(client.client_id, {note.nota.chave.valor for _, note in notes})
    to_insert: dict[tuple[str, str], tuple[int, PreparedNote]] = {}
    for index, note in notes:
        key = (note.nota.chave.valor, note.tipo.value)
        existing = stored.get(key)
        if key in to_insert:
            results.append((index, note.outcome(Status.DUPLICADO)))
        elif existing is None:
            to_insert[key] = (index, note)
        elif note.cancelada_em is not None and existing.situacao != "cancelada":
            # A newer copy of the note with the cancellation attached (non-standard nfeProc).
            xml = (note.xml.deflated, note.xml.crc32, note.xml.size)
            uow.fiscal.cancel(existing.id, cancelada_em=note.cancelada_em, xml=xml)
            stored[key] = replace(existing, situacao="cancelada")
            results.append((index, note.outcome(Status.CANCELAMENTO)))
        else:
            results.append((index, note.outcome(Status.DUPLICADO)))
    inserted = uow.fiscal.insert_many(
        [note.row(client.client_id, now, via) for _, note in to_insert.values()]
    )
    for key, (index, note) in to_insert.items():
        status = Status.CARREGADO if key in inserted else Status.DUPLICADO
        results.append((index, note.outcome(status)))
    if any(tipo == TipoNota.EMITIDA.value for _, tipo in inserted):
        after_store(uow, client.client_id, now)  # their DANFEs, printed ahead
    return results


def _apply_events(
    uow: UnitOfWork, client: ClientRef, events: list[tuple[int, PreparedEvent]], via: str
) -> list[tuple[int, Outcome]]:
    now = datetime.now(UTC)
    results: list[tuple[int, Outcome]] = []
    with uow:
        stored = uow.fiscal.existing(client.client_id, {event.chave for _, event in events})
        for index, event in events:
            rows = [
                stored[(event.chave, tipo.value)]
                for tipo in TipoNota
                if (event.chave, tipo.value) in stored
            ]
            if not rows:
                results.append(
                    (
                        index,
                        refused(
                            event.nome,
                            "nota_desconhecida",
                            f"O cancelamento é da nota {event.chave}, que não está guardada para "
                            "este cliente. Envie antes o XML da nota (nfeProc) e depois o do "
                            "cancelamento.",
                            event.chave,
                        ),
                    )
                )
                continue
            tipo = TipoNota(rows[0].tipo)
            pending = [row for row in rows if not row.has_cancel_event]
            if not pending:
                results.append((index, event.outcome(Status.DUPLICADO, tipo)))
                continue
            registro = event.evento.evento
            for row in pending:
                uow.fiscal.cancel(
                    row.id,
                    cancelada_em=registro.dh_reg_evento or registro.dh_evento,
                    event=(event.xml.deflated, event.xml.crc32, event.xml.size),
                )
                stored[(event.chave, row.tipo)] = replace(
                    row, situacao="cancelada", has_cancel_event=True
                )
            results.append((index, event.outcome(Status.CANCELAMENTO, tipo)))
        audit(uow, client, via, now, [outcome for _, outcome in results])
        uow.commit()
    return results


def audit(
    uow: UnitOfWork, client: ClientRef, via: str, now: datetime, outcomes: Iterable[Outcome]
) -> None:
    """One audit entry for what a call stored (none when it changed nothing)."""
    statuses = [outcome.status for outcome in outcomes]
    carregados, cancelamentos = (
        statuses.count(Status.CARREGADO),
        statuses.count(Status.CANCELAMENTO),
    )
    if not carregados and not cancelamentos:
        return
    uow.audit.add(
        AuditEntry(
            at=now,
            gestor_id=getattr(client, "gestor_id", None),
            actor=via,
            client_id=client.client_id,
            action="fiscal.ingest",
            before=None,
            after={"carregados": carregados, "cancelamentos": cancelamentos},
        )
    )
