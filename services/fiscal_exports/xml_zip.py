"""The month's XMLs as a ZIP (nfeProc + cancellation events), split at the channel's limit."""

from __future__ import annotations

from collections.abc import Iterator

from domain.fiscal.zipstream import ZipEntry
from domain.text import fill
from services.fiscal_exports.parts import (
    Counter,
    discard,
    guarded,
    notes,
    progress_of,
    send_parts,
    zip_documents,
)
from services.fiscal_exports.spec import ExportOptions, ExportSpec
from services.jobs import RunningJob


def run(job: RunningJob, options: ExportOptions) -> None:
    spec = ExportSpec.from_json(job.spec)
    words, export = spec.words, spec.export
    progress = progress_of(job, spec, words.progress, options)

    def build() -> None:
        members = notes(job, spec, with_cancellations=True)
        counter = Counter()

        def entries() -> Iterator[ZipEntry]:
            for member in members:
                entry = counter.see(member)
                progress.tick(counter.notas)
                yield entry

        parts = zip_documents(entries(), export.base, options.upload_limit(spec.to.channel))
        if counter.notas == 0:
            discard(parts)
            progress.end(words.empty.format(titulo=export.titulo))
            return
        caption = fill(
            words.zip_caption, titulo=export.titulo, notas=counter.notas, eventos=counter.eventos
        )
        send_parts(job, spec, parts, caption, progress, options)
        progress.end(fill(words.finished, partes=len(parts)), or_send=progress.big)

    guarded(words, progress, build)
