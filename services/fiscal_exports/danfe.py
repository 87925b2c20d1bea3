"""The month's DANFE/DANFCE PDFs as a ZIP; cancelled notes carry the watermark.

Printing is the CPU-bound part (about a tenth of a second a note): with worker processes
(`ExportOptions.cpu`) the notes are printed there, in order, a few at a time, while this thread
writes the ZIP; without, here."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from domain.fiscal import Modelo, Situacao
from domain.fiscal.danfe import DanfeError, danfe_name, render_danfe
from domain.fiscal.zipstream import ZipEntry, deflate_entry
from domain.text import fill
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


@dataclass(frozen=True, slots=True)
class Printed:
    chave: str
    entry: ZipEntry | None  # None: this note could not be printed


def print_danfe(member: CompressedXml, gerado_em: datetime) -> Printed:
    """One note's DANFE as a ZIP member (in a worker process, or here)."""
    modelo = Modelo.NFCE if member.chave[20:22] == Modelo.NFCE.value else Modelo.NFE
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
    name = f"{danfe_name(modelo)}_{member.chave}.pdf"
    return Printed(member.chave, deflate_entry(name, pdf, member.modified))


def _printed(
    members: Iterable[CompressedXml], gerado_em: datetime, options: ExportOptions
) -> Iterator[Printed]:
    work = partial(print_danfe, gerado_em=gerado_em)
    if options.cpu is not None and options.cpu.parallel:
        return options.cpu.map(work, members)
    return map(work, members)


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
            for done, printed in enumerate(_printed(members, spec.gerado_em, options), start=1):
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
