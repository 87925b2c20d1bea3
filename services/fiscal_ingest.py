"""Getting a client's XMLs in: one XML, a ZIP of many, or a stream of files (the CLI).

Each document is all-or-nothing and decided on its own: in a ZIP with 3 good notes and 1 bad
one, the 3 are stored and the 1 is refused with its reason (the summary lists each). Reading and
classifying happen before the database is touched; a chunk of documents is then written in one
transaction (`chunk_size`, default 500) and committed. Called inside an outer unit of work (the
API does this) the whole call is one transaction. Re-sending is always safe: a chave already
stored is a duplicate, and the database's unique key settles concurrent uploads.

Cancellation events are applied after every note of the call, so a ZIP or folder holding a note
and its cancellation works in any order; an event whose note is not stored is refused with the
reason ("envie antes o XML da nota").
"""

from __future__ import annotations

import io
import multiprocessing
import zipfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from itertools import islice
from typing import Protocol

from domain.documents import normalize
from domain.fiscal.safe_xml import MAX_XML_BYTES
from domain.fiscal.zipsafe import ZipLimits, iter_members, looks_like_zip, open_zip
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
from storage.models import AuditEntry
from storage.uow import UnitOfWork

CHUNK_SIZE = 500


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
    on_file: Callable[[Outcome | None], None] | None = None,
) -> IngestReport:
    """Store the client's notes and cancellations from `files`; one outcome per file.

    With `workers` > 1 (bulk imports), chunks are read and classified in that many processes
    while this one writes the previous chunk; `files` is still consumed lazily. `on_file` is
    called once per file (with its outcome when already known), for a progress bar.
    """
    slots: list[Outcome | None] = []
    events: list[tuple[int, PreparedEvent]] = []
    read = partial(
        _prepare_chunk,
        documento=client.documento,
        max_bytes=max_bytes,
        check_xsd=check_xsd,
        slim=workers > 1,
    )
    iter_files = iter(files)
    chunks = iter(lambda: list(islice(iter_files, chunk_size)), [])
    with _chunk_reader(workers) as reader:
        for prepared_chunk in reader(read, chunks):
            notes: list[tuple[int, PreparedNote]] = []
            for prepared in prepared_chunk:
                index = len(slots)
                slots.append(prepared if isinstance(prepared, Outcome) else None)
                if isinstance(prepared, PreparedNote):
                    notes.append((index, prepared))
                elif isinstance(prepared, PreparedEvent):
                    events.append((index, prepared))
                if on_file is not None:
                    on_file(prepared if isinstance(prepared, Outcome) else None)
            if notes:
                for index, outcome in _store_notes(uow, client, notes, via):
                    slots[index] = outcome
    if events:
        for index, outcome in _apply_events(uow, client, events, via):
            slots[index] = outcome
    return IngestReport([outcome for outcome in slots if outcome is not None])


ChunkReader = Callable[
    [Callable[[list[IncomingFile]], list[Prepared]], Iterator[list[IncomingFile]]],
    Iterator[list[Prepared]],
]


@contextmanager
def _chunk_reader(workers: int) -> Iterator[ChunkReader]:
    """Map chunks through `read` in order: here, or in a pool with a bounded window."""
    if workers <= 1:
        yield lambda read, chunks: map(read, chunks)
        return
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:

        def parallel(
            read: Callable[[list[IncomingFile]], list[Prepared]],
            chunks: Iterator[list[IncomingFile]],
        ) -> Iterator[list[Prepared]]:
            window: deque[Future[list[Prepared]]] = deque()
            for chunk in chunks:
                window.append(pool.submit(read, chunk))
                if len(window) > workers:
                    yield window.popleft().result()
            while window:
                yield window.popleft().result()

        yield parallel


def _prepare_chunk(
    chunk: list[IncomingFile], *, documento: str, max_bytes: int, check_xsd: bool, slim: bool
) -> list[Prepared]:
    prepared = [_prepare(incoming, documento, max_bytes, check_xsd) for incoming in chunk]
    if slim:  # going back through a pipe: the items are not stored, so not sent either
        return [_without_items(item) for item in prepared]
    return prepared


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
    results: list[tuple[int, Outcome]] = []
    with uow:
        stored = uow.fiscal.existing(
            client.client_id, {note.nota.chave.valor for _, note in notes}
        )
        to_insert: dict[tuple[str, str], tuple[int, PreparedNote]] = {}
        changed = 0
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
                changed += 1
            else:
                results.append((index, note.outcome(Status.DUPLICADO)))
        inserted = uow.fiscal.insert_many(
            [note.row(client.client_id, now, via) for _, note in to_insert.values()]
        )
        for key, (index, note) in to_insert.items():
            status = Status.CARREGADO if key in inserted else Status.DUPLICADO
            results.append((index, note.outcome(status)))
        changed += len(inserted)
        if changed:
            _audit(
                uow,
                client,
                via,
                now,
                carregados=len(inserted),
                cancelamentos=changed - len(inserted),
            )
        uow.commit()
    return results


def _apply_events(
    uow: UnitOfWork, client: ClientRef, events: list[tuple[int, PreparedEvent]], via: str
) -> list[tuple[int, Outcome]]:
    now = datetime.now(UTC)
    results: list[tuple[int, Outcome]] = []
    applied = 0
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
            applied += 1
            results.append((index, event.outcome(Status.CANCELAMENTO, tipo)))
        if applied:
            _audit(uow, client, via, now, carregados=0, cancelamentos=applied)
        uow.commit()
    return results


def _audit(
    uow: UnitOfWork,
    client: ClientRef,
    via: str,
    now: datetime,
    *,
    carregados: int,
    cancelamentos: int,
) -> None:
    gestor_id = getattr(client, "gestor_id", None)
    uow.audit.add(
        AuditEntry(
            at=now,
            gestor_id=gestor_id,
            actor=via,
            client_id=client.client_id,
            action="fiscal.ingest",
            before=None,
            after={"carregados": carregados, "cancelamentos": cancelamentos},
        )
    )
