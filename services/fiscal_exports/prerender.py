"""Each issued note's DANFE printed in the background once the note is stored, so that
`DANFEs do mês` is a ZIP of PDFs already printed by the time anyone asks.

Ingest calls `services.danfe_ahead.after_store` in the transaction that stores the notes: it
adds (once per client and `WINDOW`) a job due when the window has passed, which prints the
notes of that client received in the window and keeps each PDF in the file store's DANFE
cache (the same key the month's job looks for). Nobody waits for these jobs, so they yield to
those a person asked for: each run prints at most `SLICE` notes, then queues its own
continuation, which takes its turn behind jobs queued meanwhile (jobs are taken oldest
first). A note already in the cache is skipped, so overlapping windows, a takeover after a
crash or a month's job that got there first cost a file lookup each, never a second print.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import islice

from services import fiscal_documents
from services.danfe_ahead import PRERENDER, job_key
from services.fiscal_documents import CompressedXml
from services.fiscal_exports.danfe import cache_key, printed_in_order
from services.fiscal_exports.spec import ExportOptions
from services.fiscal_prepare import TipoNota
from services.jobs import RunningJob

log = logging.getLogger(__name__)

# Notes printed per run before giving way to jobs a person waits for.
SLICE = 40


def run(job: RunningJob, options: ExportOptions) -> None:
    files = options.files
    if not options.prerender or files is None:
        return
    spec = dict(job.spec)
    members = fiscal_documents.received_xmls(
        job.uow_factory(),
        int(spec["client_id"]),
        tipo=TipoNota.EMITIDA,
        desde=datetime.fromisoformat(str(spec["desde"])),
        ate=datetime.fromisoformat(str(spec["ate"])),
        after_id=int(spec["depois_de"]),
    )
    batch = list(islice(members, SLICE))
    if not batch:
        return
    missing = (member for _, member in batch if not files.exists(cache_key(member)))
    printed = 0
    # printed_in_order keeps each PDF in the cache as it comes
    for done in printed_in_order(_ticking(job, missing), datetime.now(UTC), options):
        printed += done.entry is not None
    log.info("DANFEs printed ahead: %d of %d notes", printed, len(batch))
    if len(batch) == SLICE:  # maybe more: the rest in a continuation, behind waiting jobs
        following = {**spec, "depois_de": batch[-1][0]}
        uow = job.uow_factory()
        with uow:
            now = datetime.now(UTC)
            uow.jobs.add_once(
                kind=PRERENDER,
                key=job_key(following),
                payload={"spec": following},
                now=now,
                not_before=now,
            )
            uow.commit()


def _ticking(job: RunningJob, members: Iterator[CompressedXml]) -> Iterator[CompressedXml]:
    for member in members:
        job.lease.renew()
        yield member
