"""Group commit for notes sent one per request (the integration API's single XML).

Writing one note costs a transaction of its own: a look-up, an INSERT, an audit row, a commit.
When senders post concurrently, the notes that arrive while one batch is being written wait
and go together in the next: one transaction, one look-up and one multi-row INSERT per client,
still one audit entry per request. Each request gets the outcome that writing the notes one
after another, in arrival order, would give. Should a batch fail, each of its notes is written
again alone, so one bad request never fails the others.

Leader and followers: the first request to find nobody writing writes the batch (its own note
and whatever queued), then hands the pen to the first one that queued meanwhile. No thread or
event loop of its own; a request waits only for the batch it is in.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from services.fiscal_ingest import ClientRef, IngestReport, audit, store, write_notes
from services.fiscal_prepare import Outcome, PreparedNote
from services.types import UnitOfWorkFactory

MAX_BATCH = 200


@dataclass(eq=False)
class _Request:
    client: ClientRef
    note: PreparedNote
    via: str
    wake: threading.Event = field(default_factory=threading.Event)
    lead: bool = False
    finished: bool = False
    outcome: Outcome | None = None
    error: Exception | None = None

    @property
    def key(self) -> tuple[int, str, str, str]:
        return (self.client.client_id, self.via, self.note.nota.chave.valor, self.note.tipo.value)


class NoteWriter:
    def __init__(self, uow_factory: UnitOfWorkFactory, max_batch: int = MAX_BATCH) -> None:
        self._uow_factory = uow_factory
        self._max_batch = max_batch
        self._lock = threading.Lock()
        self._queue: list[_Request] = []
        self._writing = False

    def store(self, client: ClientRef, note: PreparedNote, *, via: str) -> IngestReport:
        """Store one prepared note, with whatever other requests are waiting (blocks)."""
        request = _Request(client, note, via)
        with self._lock:
            self._queue.append(request)
            request.lead, self._writing = not self._writing, True
        while True:
            if request.lead:
                self._write_next_batch()
            if request.finished:
                break
            request.wake.wait()
            request.wake.clear()
        if request.outcome is None:
            raise request.error or RuntimeError("the note was not written")
        return IngestReport([request.outcome])

    def _write_next_batch(self) -> None:
        with self._lock:
            batch = self._take()
        try:
            self._write(batch)
        except Exception:
            for request in batch:  # alone, as without grouping: its own outcome or error
                try:
                    [request.outcome] = store(
                        self._uow_factory(), request.client, [request.note], via=request.via
                    ).outcomes
                except Exception as exc:
                    request.error = exc
        for request in batch:
            request.lead, request.finished = False, True
            request.wake.set()
        with self._lock:
            if self._queue:  # the pen goes to the first one that queued meanwhile
                self._queue[0].lead = True
                self._queue[0].wake.set()
            else:
                self._writing = False

    def _take(self) -> list[_Request]:
        """The queue's head, up to a repeated note: a note sent twice in one batch would not
        see its first copy stored, as it does one after another."""
        seen: set[tuple[int, str, str, str]] = set()
        batch: list[_Request] = []
        for request in self._queue[: self._max_batch]:
            if request.key in seen:
                break
            seen.add(request.key)
            batch.append(request)
        del self._queue[: len(batch)]
        return batch

    def _write(self, batch: list[_Request]) -> None:
        now = datetime.now(UTC)
        groups: dict[tuple[int, str], list[_Request]] = defaultdict(list)
        for request in batch:
            groups[(request.client.client_id, request.via)].append(request)
        written: list[tuple[_Request, Outcome]] = []
        uow = self._uow_factory()
        with uow:
            for (_, via), requests in groups.items():
                notes = [(n, request.note) for n, request in enumerate(requests)]
                outcomes = dict(write_notes(uow, requests[0].client, notes, via, now))
                for n, request in enumerate(requests):
                    audit(uow, request.client, via, now, [outcomes[n]])
                    written.append((request, outcomes[n]))
            uow.commit()
        for request, outcome in written:
            request.outcome = outcome
