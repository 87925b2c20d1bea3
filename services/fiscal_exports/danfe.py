"""The month's DANFE/DANFCE PDFs as a ZIP; cancelled notes carry the watermark.

Printing is the CPU-bound part (brazilfiscalreport: 50–80 ms of CPU a note of a few items,
up to half a second one with dozens; domain/fiscal/danfe.py): with
worker processes (`ExportOptions.cpu`) the notes are printed there, in order, a few at a time,
while this thread writes the ZIP; without, here. Each DANFE printed is kept in the file store
under a key made of the stored XML, its situação and the printer's version, so asking again
(another format, a split month, the accountant's package) is a ZIP of stored PDFs; the cache
goes with the other files after FILE_TTL_DAYS."""

from __future__ import annotations

import hashlib
import logging
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib.metadata import version

from domain.fiscal import Modelo, Situacao
from domain.fiscal.danfe import DanfeError, danfe_name, render_danfe
from domain.fiscal.zipstream import ZipEntry, deflate_entry
from domain.text import fill
from services.files import FileMissing, FileStore, content_key
from services.fiscal_documents import CompressedXml
from services.fiscal_exports.parts import (
    discard,
    guarded,
    notes,
    progress_of,
    send,
    send_parts,
    zip_documents,
)
from services.fiscal_exports.spec import ExportOptions, ExportSpec
from services.fiscal_prepare import inflate
from services.jobs import RunningJob
from services.messages import Text

log = logging.getLogger(__name__)

DANFE_CACHE = "danfe"  # the file store's kind of cached file (services.files.content_key)


@dataclass(frozen=True, slots=True)
class Printed:
    chave: str
    entry: ZipEntry | None  # None: this note could not be printed
    pdf: bytes = b""  # a DANFE printed now, to keep in the cache
    key: str = ""  # where it is kept


def print_danfe(member: CompressedXml, gerado_em: datetime) -> Printed:
    """One note's DANFE as a ZIP member (in a worker process, or here)."""
    modelo = _modelo(member)
    try:
        pdf = render_danfe(
            inflate(member.deflated),
            modelo,
            cancelada=member.situacao is Situacao.CANCELADA,
            gerado_em=gerado_em,
        )
    except DanfeError:
        log.warning("DANFE not printed for %s", member.chave, exc_info=True)
        return Printed(member.chave, None)
    return Printed(member.chave, _entry(member, pdf), pdf, cache_key(member))


def _modelo(member: CompressedXml) -> Modelo:
    return Modelo.NFCE if member.chave[20:22] == Modelo.NFCE.value else Modelo.NFE


def _entry(member: CompressedXml, pdf: bytes) -> ZipEntry:
    name = f"{danfe_name(_modelo(member))}_{member.chave}.pdf"
    return deflate_entry(name, pdf, member.modified)


def cache_key(member: CompressedXml) -> str:
    """Where a note's DANFE is kept: its stored XML, whether cancelled (the watermark), and
    the printer's version (a new layout prints anew)."""
    digest = hashlib.sha256(member.deflated)
    digest.update(f"|{member.situacao.value}|{_printer_version()}".encode())
    return content_key(DANFE_CACHE, digest.hexdigest())


@cache
def _printer_version() -> str:
    return version("brazilfiscalreport")


def _cached(files: FileStore | None, member: CompressedXml) -> Printed | None:
    if files is None:
        return None
    try:
        with files.open(cache_key(member)) as stream:
            pdf = stream.read()
    except FileMissing:
        return None
    return Printed(member.chave, _entry(member, pdf))


def _with_cached(
    files: FileStore | None, members: Iterable[CompressedXml]
) -> Iterator[tuple[CompressedXml, Printed | None]]:
    """Each member with its DANFE from the cache (None: not printed yet), in order. A store
    across the network is read `read_ahead` members ahead, that many reads in flight (one at
    a time, a month of 1,000 waited out 1,000 request latencies); a local one on this thread."""
    if files is None or files.read_ahead <= 1:
        for member in members:
            yield member, _cached(files, member)
        return
    depth = files.read_ahead
    with ThreadPoolExecutor(depth, thread_name_prefix="danfe-cache") as pool:
        ahead: deque[tuple[CompressedXml, Future[Printed | None]]] = deque()
        for member in members:
            ahead.append((member, pool.submit(_cached, files, member)))
            if len(ahead) >= depth:
                first, found = ahead.popleft()
                yield first, found.result()
        while ahead:
            first, found = ahead.popleft()
            yield first, found.result()


def printed_in_order(
    members: Iterable[CompressedXml], gerado_em: datetime, options: ExportOptions
) -> Iterator[Printed]:
    """Each note's DANFE in order: from the cache when it was printed before, else printed
    (in the worker processes, a few at a time, when there are some) and kept in the cache."""
    cpu = options.cpu if options.cpu is not None and options.cpu.parallel else None
    window: deque[Future[Printed]] = deque()
    for member, printed in _with_cached(options.files, members):
        if printed is not None:
            window.append(_done(printed))
        elif cpu is not None:
            window.append(cpu.submit(print_danfe, member, gerado_em))
        else:
            window.append(_done(print_danfe(member, gerado_em)))
        if len(window) >= (2 * cpu.workers if cpu is not None else 1):  # no lookahead here
            yield keep_printed(options.files, window.popleft().result())
    while window:
        yield keep_printed(options.files, window.popleft().result())


def _done(printed: Printed) -> Future[Printed]:
    future: Future[Printed] = Future()
    future.set_result(printed)
    return future


def keep_printed(files: FileStore | None, printed: Printed) -> Printed:
    """Keep a DANFE printed now in the cache (a courtesy: the ZIP goes anyway)."""
    if files is not None and printed.pdf and printed.key:
        try:
            files.put_at(printed.key, printed.pdf)
        except Exception:
            log.warning("DANFE of %s not kept in the cache", printed.chave, exc_info=True)
    return printed


def run(job: RunningJob, options: ExportOptions) -> None:
    spec = ExportSpec.from_json(job.spec)
    words, export = spec.words, spec.export
    progress = progress_of(job, spec, words.danfe_progress, options)

    def build() -> None:
        skipped: list[str] = []
        printed_count = 0

        def pdfs() -> Iterator[ZipEntry]:
            nonlocal printed_count
            members = notes(job, spec, with_cancellations=False)
            for done, printed in enumerate(
                printed_in_order(members, spec.gerado_em, options), start=1
            ):
                progress.tick(done)
                if printed.entry is None:
                    skipped.append(printed.chave)
                    continue
                printed_count += 1
                yield printed.entry

        parts = zip_documents(pdfs(), export.base, options.upload_limit(spec.to.channel))
        if printed_count == 0 and not skipped:
            progress.end(words.empty.format(titulo=export.titulo))
            return
        notas = "\n".join(skipped[:20]) + ("\n…" if len(skipped) > 20 else "")
        not_printed = fill(words.danfe_skipped, n=len(skipped), notas=notas)
        if not printed_count:  # nothing to send: the notice says why
            discard(parts)
            progress.end(not_printed)
            return
        caption = fill(words.danfe_caption, titulo=export.titulo, notas=printed_count)
        send_parts(job, spec, parts, caption, progress, options)
        if skipped and not job.lease.checkpoint.get("skipped_said"):
            send(job, spec, [Text(not_printed)], options, skipped_said=True)
        progress.end(fill(words.finished, partes=len(parts)), or_send=progress.big)

    guarded(words, progress, build)
