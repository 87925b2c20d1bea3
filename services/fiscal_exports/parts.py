"""What every export job does at run time: read the notes again on the person's behalf,
write ZIP parts into temporary files, hand each to the outbox with the checkpoint that says
it was sent, and turn a failure into the notice's last words."""

from __future__ import annotations

import logging
import secrets
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO

from domain.fiscal.zipstream import ZipEntry, split_zip
from domain.text import fill
from services import fiscal_documents, jobs
from services.conversation import stored_file
from services.errors import ServiceError
from services.fiscal_documents import CompressedXml
from services.fiscal_exports.naming import ZIP_MIME
from services.fiscal_exports.spec import ExportOptions, ExportSpec, Words
from services.job_progress import Progress
from services.jobs import Interrupted, LeaseLost, RunningJob
from services.messages import Document, Outbound
from services.outbox import enqueue_to
from services.principal import Principal

log = logging.getLogger(__name__)


def progress_of(
    job: RunningJob, spec: ExportSpec, template: str, options: ExportOptions
) -> Progress:
    capabilities = options.capabilities(spec.to.channel)
    return Progress(
        job.uow_factory, spec.to, spec.notice, template, capabilities, options.pace, job.lease
    )


def principal_of(job: RunningJob, spec: ExportSpec) -> Principal:
    """Who asked, as they are now: unbound meanwhile, they get nothing."""
    return jobs.principal_of(job, spec.to.identity_key)


def notes(
    job: RunningJob, spec: ExportSpec, *, with_cancellations: bool
) -> Iterator[CompressedXml]:
    """The export's notes, read in short transactions; role and tenancy checked again."""
    export = spec.export
    return fiscal_documents.compressed_xmls(
        job.uow_factory(),
        principal_of(job, spec),
        export.client_id,
        tipo=export.tipo,
        modelo=export.modelo,
        competencia=export.competencia,
        reconhecida=export.reconhecida,
        with_cancellations=with_cancellations,
    )


class Counter:
    def __init__(self) -> None:
        self.notas = 0
        self.eventos = 0

    def see(self, member: CompressedXml) -> ZipEntry:
        if member.cancelamento:
            self.eventos += 1
        else:
            self.notas += 1
        return ZipEntry(member.name, member.deflated, member.crc32, member.size, member.modified)


@dataclass(slots=True)
class Part:
    name: str
    file: IO[bytes]


def zip_documents(entries: Iterable[ZipEntry], base: str, limit: int) -> list[Part]:
    """Write the archive(s) into temporary files; one part → `base.zip`, else numbered."""
    files: list[IO[bytes]] = []

    def open_part(number: int) -> IO[bytes]:
        files.append(tempfile.TemporaryFile(prefix="revendabot-zip-"))  # noqa: SIM115
        return files[-1]

    try:
        split_zip(entries, limit, open_part)
    except BaseException:
        for file in files:
            file.close()
        raise
    if len(files) == 1:
        return [Part(f"{base}.zip", files[0])]
    return [Part(f"{base}.part{n}.zip", file) for n, file in enumerate(files, start=1)]


def send_parts(
    job: RunningJob,
    spec: ExportSpec,
    parts: Sequence[Part],
    caption: str,
    progress: Progress,
    options: ExportOptions,
) -> None:
    """One part per transaction, with the checkpoint that says it went: a job taken over
    sends only the parts its first taker did not. With a store each part streams from its
    temporary file into it (never whole in memory), else one part at a time is read."""
    sent = int(job.lease.checkpoint.get("parts", 0))
    try:
        for number, part in enumerate(parts, start=1):
            if number <= sent:
                continue
            part.file.seek(0)
            text = caption
            if len(parts) > 1:
                text = f"{caption}\n{fill(spec.words.part, n=number, total=len(parts))}"
            if options.files is not None:
                document = Document(
                    part.name, ZIP_MIME, caption=text, file=options.files.put(part.file)
                )
            else:
                document = Document(part.name, ZIP_MIME, part.file.read(), text)
            part.file.close()
            send(job, spec, [document], options, parts=number)
            progress.tick()
    finally:
        discard(parts)


def discard(parts: Sequence[Part]) -> None:
    for part in parts:
        part.file.close()


def send(
    job: RunningJob,
    spec: ExportSpec,
    messages: Sequence[Outbound],
    options: ExportOptions,
    **checkpoint: object,
) -> None:
    """Messages to the person, with how far the job got, in one short transaction (files go to
    the store before it opens)."""
    messages = [stored_file(options.files, message) for message in messages]
    to = spec.to
    uow = job.uow_factory()
    with uow:
        enqueue_to(uow, to.channel, to.identity_key, to.address, messages, datetime.now(UTC))
        if checkpoint:
            job.lease.save(uow, **checkpoint)
        uow.commit()


def guarded(words: Words, progress: Progress, build: Callable[[], None]) -> None:
    """Run the job; any failure becomes the notice's last words, with a reference (and a log
    line). Losing the lease or stopping is not a failure: another worker goes on."""
    try:
        build()
    except (LeaseLost, Interrupted):
        raise
    except ServiceError as exc:
        progress.end(f"⚠️ {exc.message}")
    except Exception:
        reference = secrets.token_hex(4).upper()
        log.exception("fiscal export failed (ref %s)", reference)
        progress.end(words.failed.format(ref=reference))


def give_up(job: RunningJob, template_of: Callable[[Words], str], options: ExportOptions) -> None:
    """No worker could finish the job: its notice says so, with a reference."""
    spec = ExportSpec.from_json(job.spec)
    reference = secrets.token_hex(4).upper()
    log.error("fiscal export job %s given up (ref %s)", job.id, reference)
    progress = progress_of(job, spec, template_of(spec.words), options)
    progress.end(spec.words.failed.format(ref=reference))
