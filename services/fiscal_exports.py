"""Long work of the fiscal chat, run after the step's commit and delivered when ready: a
month's ZIP of XMLs, the month report (its chart as a picture, then PDF + CSV or XLSX) and the
month's DANFEs.

A job factory is called inside the step (so role and tenancy are checked there, and a forged
id is refused at once) and returns a callable the conversation engine runs after commit, on a
worker thread in `serve`. The job reads the notes in short transactions, writes the ZIP as a
stream into temporary files split at the channel's upload limit, and enqueues each part as a
document in its own transaction; a failure is answered with a reference, never half-sent.

The step answers at once: given a `Notice`, the factory puts the "Gerando…" text and a chat
action ("enviando documento…") in the outbox within the step's transaction. While the job runs
it renews the chat action and edits the notice with its count, and at the end edits it to
"Pronto" or the error (services/job_progress.py), as far as the channel can.

The words are the dialogue's (handlers/texts.py): the handler hands them over in `Words`.
"""

from __future__ import annotations

import logging
import re
import secrets
import tempfile
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Literal

from domain.fiscal import Item, Modelo, Participante, Situacao
from domain.fiscal.danfe import DanfeError, danfe_name, render_danfe
from domain.fiscal.report import Cabecalho, LinhaRelatorio, itens_do_xml, participante, summarize
from domain.fiscal.report_chart import PNG_MIME, render_report_chart
from domain.fiscal.report_pdf import render_report_pdf
from domain.fiscal.report_tables import render_csv, render_xlsx
from domain.fiscal.zipstream import ZipEntry, deflate_entry, split_zip
from domain.money import format_brl
from domain.text import fill
from services import fiscal_documents
from services.capabilities import EVERYTHING, Capabilities
from services.conversation import enqueue_to, stored_file
from services.errors import ServiceError
from services.files import FileStore
from services.fiscal_documents import CompressedXml
from services.fiscal_prepare import TipoNota, inflate
from services.job_progress import (
    ACTION_INTERVAL,
    PROGRESS_INTERVAL,
    PRONTO_FROM,
    Announced,
    Pace,
    Progress,
    Recipient,
    announce,
)
from services.messages import Document, Image, Outbound, Text
from services.principal import Principal
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)

Job = Callable[[], None]
Clock = Callable[[], datetime]

ZIP_MIME = "application/zip"
PDF_MIME = "application/pdf"
CSV_MIME = "text/csv"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MODEL_TAGS = {Modelo.NFE: "NFe", Modelo.NFCE: "NFCe"}


@dataclass(frozen=True, slots=True)
class ExportOptions:
    """How the jobs run in this deployment (set by the composition root, bot/app.py)."""

    # What each channel can do and take (bot/channels declare it, the composition root adds
    # what depends on the deployment); one not listed can do everything.
    channels: Mapping[str, Capabilities] = field(default_factory=dict)
    # How a running job speaks (services/job_progress.py); seconds of `monotonic`.
    progress_interval: float = PROGRESS_INTERVAL
    action_interval: float = ACTION_INTERVAL
    pronto_from: int = PRONTO_FROM
    monotonic: Callable[[], float] = time.monotonic
    # Where the jobs' files go (the outbox carries references); None keeps the bytes in the
    # outbox rows, for callers that run without a store.
    files: FileStore | None = None

    def upload_limit(self, channel: str) -> int:
        return self.capabilities(channel).upload_limit

    def capabilities(self, channel: str) -> Capabilities:
        return self.channels.get(channel, EVERYTHING)

    @property
    def pace(self) -> Pace:
        return Pace(self.progress_interval, self.action_interval, self.pronto_from, self.monotonic)


DEFAULT_OPTIONS = ExportOptions()


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Words:
    """The pt-BR texts a job fills in (placeholders in braces, rendered by `domain.text.fill`
    so counts can carry their word: `{notas:nota|notas}`)."""

    zip_caption: str  # {titulo} {notas} {eventos}
    part: str  # {n} {total}
    empty: str  # {titulo}
    failed: str  # {ref}
    report_caption: str  # {titulo}
    table_caption: str  # {titulo}
    danfe_caption: str  # {titulo} {notas}
    danfe_skipped: str  # {n} {notas}
    progress: str  # {feito} {total}: notes put in a ZIP
    finished: str  # {partes}
    danfe_progress: str  # {feito} {total}: DANFEs printed
    report_progress: str  # {feito} {total}: notes read for the report
    report_finished: str
    chart_caption: str = ""  # {titulo} {valor}; empty: the report's chart goes without one


@dataclass(frozen=True, slots=True)
class Export:
    """What to export and how to call it: `titulo` for captions, `base` for the file name."""

    client_id: int
    tipo: TipoNota
    modelo: Modelo | None
    competencia: str | None
    titulo: str
    base: str
    reconhecida: bool | None = None


def file_base(client_name: str, *parts: str) -> str:
    """`ACME Comércio Ltda`, `2026-10`, `NFe` → `ACME-Comercio-Ltda_2026-10_NFe`."""
    decomposed = unicodedata.normalize("NFKD", client_name)
    ascii_name = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    words = re.findall(r"[A-Za-z0-9]+", ascii_name)
    name = "-".join(words)[:40].strip("-") or "cliente"
    return "_".join([name, *parts])


def model_tag(modelo: Modelo) -> str:
    return MODEL_TAGS[modelo]


@dataclass(frozen=True, slots=True)
class Notice:
    """The step's "Gerando…" answer, and how many notes the job goes through."""

    text: str
    total: int = 0


def _progress(
    uow: UnitOfWork,
    to: Recipient,
    notice: Notice | None,
    template: str,
    options: ExportOptions,
) -> Progress:
    """Put the notice and a chat action in the outbox, in the step's transaction; the job
    ticks the returned `Progress` as it goes."""
    capabilities = options.capabilities(to.channel)
    announced: Announced | None = None
    if notice is not None:
        announced = announce(uow, to, notice.text, notice.total, capabilities)
    return Progress(uow, to, announced, template, capabilities, options.pace)


# --- job factories (called inside the step) -------------------------------------------------


def xml_zip_job(
    uow: UnitOfWork,
    principal: Principal,
    export: Export,
    to: Recipient,
    words: Words,
    *,
    notice: Notice | None = None,
    options: ExportOptions = DEFAULT_OPTIONS,
) -> Job:
    """The ZIP of the notes' XMLs (nfeProc + cancellation events), split at the limit."""
    members = _xmls(uow, principal, export, with_cancellations=True)
    progress = _progress(uow, to, notice, words.progress, options)

    def build() -> None:
        counter = _Counter()

        def entries() -> Iterator[ZipEntry]:
            for member in members:
                entry = counter.see(member)
                progress.tick(counter.notas)
                yield entry

        documents = _zip_documents(entries(), export.base, options.upload_limit(to.channel))
        if counter.notas == 0:
            _discard(documents)
            progress.end(words.empty.format(titulo=export.titulo))
            return
        caption = fill(
            words.zip_caption, titulo=export.titulo, notas=counter.notas, eventos=counter.eventos
        )
        _send_parts(uow, to, documents, caption, words, progress, options.files)
        progress.end(fill(words.finished, partes=len(documents)), or_send=progress.big)

    return _guarded(words, progress, build)


def report_job(
    uow: UnitOfWork,
    principal: Principal,
    export: Export,
    cliente: tuple[str, str],
    formato: Literal["csv", "xlsx"],
    to: Recipient,
    words: Words,
    clock: Clock = _now,
    *,
    notice: Notice | None = None,
    options: ExportOptions = DEFAULT_OPTIONS,
) -> Job:
    """The month report: its chart as a picture (when something was authorized), then the
    PDF with the same chart, then the same rows as CSV or XLSX."""
    members = _xmls(uow, principal, export, with_cancellations=False)
    progress = _progress(uow, to, notice, words.report_progress, options)

    def build() -> None:
        itens: dict[str, tuple[Item, ...]] = {}
        for lidas, member in enumerate(members, start=1):
            itens[member.chave] = itens_do_xml(inflate(member.deflated))
            progress.tick(lidas)
        linhas = list(report_rows(uow, principal, export, itens))
        if not linhas:
            progress.end(words.empty.format(titulo=export.titulo))
            return
        cabecalho = Cabecalho(
            cliente=cliente[0],
            documento=cliente[1],
            competencia=export.competencia or linhas[0].dh_emi.strftime("%Y-%m"),
            modelo=export.modelo or linhas[0].modelo,
            gerado_em=clock(),
            tipo="emitidas" if export.tipo is TipoNota.EMITIDA else "fornecedores",
        )
        resumo = summarize(linhas)
        authorized = resumo.contagem.get(Situacao.AUTORIZADA, 0)
        chart = render_report_chart(cabecalho, resumo) if authorized else None
        pdf = render_report_pdf(cabecalho, linhas, chart=chart)
        progress.tick()
        table_caption = words.table_caption.format(titulo=export.titulo)
        table = (
            Document(f"{export.base}.csv", CSV_MIME, render_csv(linhas), table_caption)
            if formato == "csv"
            else Document(
                f"{export.base}.xlsx", XLSX_MIME, render_xlsx(cabecalho, linhas), table_caption
            )
        )
        caption = words.report_caption.format(titulo=export.titulo)
        messages: list[Outbound] = []
        if chart is not None:  # a look at the month first, the documents to read after it
            chart_caption = words.chart_caption and fill(
                words.chart_caption,
                titulo=export.titulo,
                valor=format_brl(resumo.total_autorizadas),
            )
            messages.append(
                Image(f"{export.base}_grafico.png", PNG_MIME, chart, chart_caption or None)
            )
        messages += [Document(f"{export.base}.pdf", PDF_MIME, pdf, caption), table]
        _send(uow, to, messages, options.files)
        progress.end(words.report_finished, or_send=progress.big)

    return _guarded(words, progress, build)


def danfe_zip_job(
    uow: UnitOfWork,
    principal: Principal,
    export: Export,
    to: Recipient,
    words: Words,
    clock: Clock = _now,
    *,
    notice: Notice | None = None,
    options: ExportOptions = DEFAULT_OPTIONS,
) -> Job:
    """The ZIP of the month's DANFE/DANFCE PDFs; cancelled notes carry the watermark."""
    members = _xmls(uow, principal, export, with_cancellations=False)
    progress = _progress(uow, to, notice, words.danfe_progress, options)

    def build() -> None:
        skipped: list[str] = []
        printed = _Counter()
        gerado_em = clock()

        def pdfs() -> Iterator[ZipEntry]:
            for done, member in enumerate(members, start=1):
                try:
                    entry = _danfe_entry(member, gerado_em)
                except DanfeError:
                    log.warning("DANFE not printed for %s", member.chave, exc_info=True)
                    skipped.append(member.chave)
                    continue
                finally:
                    progress.tick(done)
                printed.notas += 1
                yield entry

        documents = _zip_documents(pdfs(), export.base, options.upload_limit(to.channel))
        if printed.notas == 0 and not skipped:
            progress.end(words.empty.format(titulo=export.titulo))
            return
        notas = "\n".join(skipped[:20]) + ("\n…" if len(skipped) > 20 else "")
        not_printed = fill(words.danfe_skipped, n=len(skipped), notas=notas)
        if not printed.notas:  # nothing to send: the notice says why
            _discard(documents)
            progress.end(not_printed)
            return
        caption = fill(words.danfe_caption, titulo=export.titulo, notas=printed.notas)
        _send_parts(uow, to, documents, caption, words, progress, options.files)
        if skipped:
            _send(uow, to, [Text(not_printed)])
        progress.end(fill(words.finished, partes=len(documents)), or_send=progress.big)

    return _guarded(words, progress, build)


# --- the pieces ------------------------------------------------------------------------------


def _xmls(
    uow: UnitOfWork, principal: Principal, export: Export, *, with_cancellations: bool
) -> Iterator[CompressedXml]:
    """Checks role and tenancy now; the notes themselves are read when the job runs."""
    return fiscal_documents.compressed_xmls(
        uow,
        principal,
        export.client_id,
        tipo=export.tipo,
        modelo=export.modelo,
        competencia=export.competencia,
        reconhecida=export.reconhecida,
        with_cancellations=with_cancellations,
    )


class _Counter:
    def __init__(self) -> None:
        self.notas = 0
        self.eventos = 0

    def see(self, member: CompressedXml) -> ZipEntry:
        if member.cancelamento:
            self.eventos += 1
        else:
            self.notas += 1
        return ZipEntry(member.name, member.deflated, member.crc32, member.size, member.modified)


def report_rows(
    uow: UnitOfWork, principal: Principal, export: Export, itens: dict[str, tuple[Item, ...]]
) -> Iterator[LinhaRelatorio]:
    """The notes as stored (situação with its events, vNF), oldest first, with their items."""
    page, pages = 1, 1
    while page <= pages:
        found = fiscal_documents.list_documents(
            uow,
            principal,
            export.client_id,
            tipo=export.tipo,
            modelo=export.modelo,
            competencia=export.competencia,
            reconhecida=export.reconhecida,
            page=page,
            page_size=fiscal_documents.MAX_PAGE_SIZE,
        )
        for note in found.items:
            yield LinhaRelatorio(
                chave=note.chave,
                modelo=note.modelo,
                serie=note.serie,
                numero=note.numero,
                dh_emi=note.emitida_em,
                emitente=participante(note.emitente_documento, note.emitente_nome)
                or Participante(),
                destinatario=participante(note.destinatario_documento, note.destinatario_nome),
                situacao=note.situacao,
                v_nf=note.valor,
                itens=itens.get(note.chave, ()),
            )
        page, pages = page + 1, found.pages


def _danfe_entry(member: CompressedXml, gerado_em: datetime) -> ZipEntry:
    modelo = Modelo.NFCE if member.chave[20:22] == Modelo.NFCE.value else Modelo.NFE
    pdf = render_danfe(
        inflate(member.deflated),
        modelo,
        cancelada=member.situacao is Situacao.CANCELADA,
        gerado_em=gerado_em,
    )
    name = f"{danfe_name(modelo)}_{member.chave}.pdf"
    return deflate_entry(name, pdf, member.modified)


@dataclass(slots=True)
class _Part:
    name: str
    file: IO[bytes]


def _zip_documents(entries: Iterable[ZipEntry], base: str, limit: int) -> list[_Part]:
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
        return [_Part(f"{base}.zip", files[0])]
    return [_Part(f"{base}.part{n}.zip", file) for n, file in enumerate(files, start=1)]


def _send_parts(
    uow: UnitOfWork,
    to: Recipient,
    parts: Sequence[_Part],
    caption: str,
    words: Words,
    progress: Progress,
    files: FileStore | None = None,
) -> None:
    """One part per transaction; with a store each part streams from its temporary file into
    it (never whole in memory), else one part at a time is read into its row."""
    try:
        for number, part in enumerate(parts, start=1):
            part.file.seek(0)
            text = caption
            if len(parts) > 1:
                text = f"{caption}\n{fill(words.part, n=number, total=len(parts))}"
            if files is not None:
                document = Document(part.name, ZIP_MIME, caption=text, file=files.put(part.file))
            else:
                document = Document(part.name, ZIP_MIME, part.file.read(), text)
            part.file.close()
            _send(uow, to, [document])
            progress.tick()
    finally:
        _discard(parts)


def _discard(parts: Sequence[_Part]) -> None:
    for part in parts:
        part.file.close()


def _send(
    uow: UnitOfWork, to: Recipient, messages: Sequence[Outbound], files: FileStore | None = None
) -> None:
    # files go to the store before the transaction opens: it stays short
    messages = [stored_file(files, message) for message in messages]
    with uow:
        enqueue_to(uow, to.channel, to.identity_key, to.address, messages, datetime.now(UTC))
        uow.commit()


def _guarded(words: Words, progress: Progress, build: Job) -> Job:
    """Run the job; any failure becomes the notice's last words, with a reference (and a log
    line)."""

    def run() -> None:
        try:
            build()
        except ServiceError as exc:
            progress.end(f"⚠️ {exc.message}")
        except Exception:
            reference = secrets.token_hex(4).upper()
            log.exception("fiscal export failed (ref %s)", reference)
            progress.end(words.failed.format(ref=reference))

    return run
