"""The packages from the chat: the month's list, one client's package, all of them in one ZIP
of ZIPs (a durable job, split at the channel's upload limit), and the per-client toggle.

Downloading is for the whole office (a contador too); the toggle is a Gerenciar setting (the
gestor only). Every package is looked up within the principal's office: another office's id
is "não encontrado".
"""

from __future__ import annotations

import io
import logging
import math
import secrets
import tempfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import IO, Any

from domain.clients import ContractStatus
from domain.fiscal.zipstream import ZipTooLargeForLimit, ZipWriter
from domain.text import fill
from services.access import current_principal
from services.errors import NotFound, ServiceError
from services.files import CHUNK, FileRef, FileStore
from services.fiscal_documents import parse_competencia
from services.fiscal_exports.naming import ZIP_MIME
from services.fiscal_prepare import SAO_PAULO
from services.job_progress import Recipient
from services.jobs import Interrupted, JobRequest, LeaseLost, RunningJob, ensure_not_queued
from services.messages import Document, Outbound, Text, UrlButton
from services.outbox import enqueue_to
from services.pacote.options import PacoteOptions
from services.principal import Principal
from storage.models import AuditEntry
from storage.models_pacote import PRONTO
from storage.pacotes import PacoteRow
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)

ALL = "pacote.todos"
# A WhatsApp list holds 10 rows: 6 clients + Anterior, Próxima, Baixar todos and Menu.
PAGE_SIZE = 6


class PacoteNotFound(NotFound):
    message = "Pacote não encontrado."


class NoPackages(ServiceError):
    message = "Nenhum pacote pronto para este mês."


@dataclass(frozen=True, slots=True)
class PacoteItem:
    id: int
    cliente: str
    nome: str
    notas: int
    size: int


@dataclass(frozen=True, slots=True)
class PacotePage:
    competencia: str
    items: tuple[PacoteItem, ...]
    clientes: int
    notas: int
    page: int
    pages: int


@dataclass(frozen=True, slots=True)
class PacoteFile:
    nome: str
    file: FileRef
    cliente: str
    competencia: str


def month_page(
    uow: UnitOfWork, principal: Principal, competencia: str, page: int = 1
) -> PacotePage:
    """One page of the office's ready packages of a month (by client name)."""
    competencia = parse_competencia(competencia)
    with uow:
        clientes, notas = uow.pacotes.totals(principal.gestor_id, competencia)
        pages = max(1, math.ceil(clientes / PAGE_SIZE))
        page = min(max(1, page), pages)
        rows = uow.pacotes.ready(
            principal.gestor_id, competencia, (page - 1) * PAGE_SIZE, PAGE_SIZE
        )
    items = tuple(
        PacoteItem(r.id, r.razao_social, r.nome, r.notas, r.file_size or 0) for r in rows
    )
    return PacotePage(competencia, items, clientes, notas, page, pages)


def package_file(uow: UnitOfWork, principal: Principal, pacote_id: int) -> PacoteFile:
    """One client's package, if it is this office's and ready."""
    with uow:
        row = uow.pacotes.get(pacote_id, principal.gestor_id)
    if row is None or row.status != PRONTO or row.file_key is None:
        raise PacoteNotFound()
    ref = FileRef(row.file_key, row.file_size or 0, row.file_sha256 or "")
    return PacoteFile(row.nome, ref, row.razao_social, row.competencia)


def is_on(uow: UnitOfWork, principal: Principal, client_id: int) -> bool:
    """The client's Pacote mensal (no choice made: on while the contract is Efetivado)."""
    with uow:
        client = uow.clients.get_of_gestor(principal.gestor_id, client_id)
        if client is None:
            raise NotFound()
        if client.pacote_mensal is not None:
            return bool(client.pacote_mensal)
        return client.status == ContractStatus.EFETIVADO.value


def set_on(uow: UnitOfWork, principal: Principal, client_id: int, *, on: bool) -> bool:
    """Turn the client's Pacote mensal on or off (gestor only; audited)."""
    principal.require_manage()
    now = datetime.now(UTC)
    with uow:
        before = is_on(uow, principal, client_id)
        uow.pacotes.set_toggle(client_id, on)
        if before != on:
            uow.audit.add(
                AuditEntry(
                    at=now,
                    gestor_id=principal.gestor_id,
                    actor=principal.identity_key,
                    client_id=client_id,
                    action="client.pacote_mensal",
                    before={"pacote_mensal": before},
                    after={"pacote_mensal": on},
                )
            )
        uow.commit()
        return on


# -- all packages of a month, as one ZIP of ZIPs ---------------------------------------------


@dataclass(frozen=True, slots=True)
class AllWords:
    """The pt-BR texts the job fills in (the dialogue's, handed over by the step)."""

    caption: str  # {competencia} {clientes}
    part: str  # {n} {total}
    too_big: str  # {nome}: a package alone larger than the channel takes
    failed: str  # {ref}


def all_packages_job(
    uow: UnitOfWork,
    principal: Principal,
    competencia: str,
    to: Recipient,
    words: AllWords,
) -> JobRequest:
    """Ask for the ZIP of every ready package of the month (refused when there is none)."""
    competencia = parse_competencia(competencia)
    with uow:
        clientes, _ = uow.pacotes.totals(principal.gestor_id, competencia)
    if clientes == 0:
        raise NoPackages()
    request = JobRequest(ALL, to.identity_key, (competencia,), {})
    ensure_not_queued(uow, request)
    payload = {"competencia": competencia, "to": asdict(to), "words": asdict(words)}
    return JobRequest(ALL, to.identity_key, (competencia,), payload)


def run_all(job: RunningJob, options: PacoteOptions) -> None:
    """Build the parts and send each in its own transaction, with the checkpoint that says it
    went (a job taken over sends only the rest)."""
    competencia = str(job.spec["competencia"])
    to = Recipient(**job.spec["to"])
    words = AllWords(**job.spec["words"])
    uow = job.uow_factory()
    with uow:
        principal = current_principal(uow, to.identity_key)
        rows = uow.pacotes.ready(principal.gestor_id, competencia) if principal else []
    if principal is None or options.files is None or not rows:
        return
    try:
        _send_all(job, to, words, options, options.files, competencia, rows)
    except (LeaseLost, Interrupted):
        raise
    except Exception:
        reference = secrets.token_hex(4).upper()
        log.exception("all packages of %s failed (ref %s)", competencia, reference)
        _send(job, to, [Text(fill(words.failed, ref=reference))])


def give_up_all(job: RunningJob, options: PacoteOptions) -> None:
    """No worker could finish it: the person is told, with a reference."""
    reference = secrets.token_hex(4).upper()
    log.error("all-packages job %s given up (ref %s)", job.id, reference)
    words = AllWords(**job.spec["words"])
    _send(job, Recipient(**job.spec["to"]), [Text(fill(words.failed, ref=reference))])


def _send_all(
    job: RunningJob,
    to: Recipient,
    words: AllWords,
    options: PacoteOptions,
    files: FileStore,
    competencia: str,
    rows: Sequence[PacoteRow],
) -> None:
    limit = options.upload_limit(to.channel)
    fits = [r for r in rows if _fits(r, limit)]
    extra: list[Outbound] = [_too_big(r, words, options) for r in rows if r not in fits]
    parts = zip_of_zips(fits, files, limit, renew=job.lease.renew)
    base = f"pacotes_{competencia}"
    sent = int(job.lease.checkpoint.get("parts", 0))
    label = f"{competencia[5:]}/{competencia[:4]}"
    caption = fill(words.caption, competencia=label, clientes=len(fits))
    try:
        for number, part in enumerate(parts, start=1):
            if number <= sent:
                continue
            part.seek(0)
            name = f"{base}.zip" if len(parts) == 1 else f"{base}.part{number}.zip"
            text = caption
            if len(parts) > 1:
                text = f"{caption}\n{fill(words.part, n=number, total=len(parts))}"
            ref = files.put(part)
            messages: list[Outbound] = [Document(name, ZIP_MIME, caption=text, file=ref)]
            if number == len(parts):
                messages += extra
            _send(job, to, messages, parts=number)
    finally:
        for part in parts:
            part.close()
    if not parts and extra:
        _send(job, to, extra, parts=0)


def _fits(row: PacoteRow, limit: int) -> bool:
    size = row.file_size or 0
    return ZipWriter(io.BytesIO()).size_with_member(row.nome, size, size) <= limit


def _too_big(row: PacoteRow, words: AllWords, options: PacoteOptions) -> Outbound:
    text = fill(words.too_big, nome=row.nome)
    if options.links is None or row.file_key is None:
        return Text(text)
    ref = FileRef(row.file_key, row.file_size or 0, row.file_sha256 or "")
    url, _ = options.links.link(ref, row.nome, ZIP_MIME, datetime.now(UTC))
    return Text(text, ((UrlButton(row.nome, url),),))


def _send(job: RunningJob, to: Recipient, messages: Sequence[Outbound], **progress: Any) -> None:
    uow = job.uow_factory()
    with uow:
        enqueue_to(uow, to.channel, to.identity_key, to.address, messages, datetime.now(UTC))
        if progress:
            job.lease.save(uow, **progress)
        uow.commit()


def zip_of_zips(
    rows: Sequence[PacoteRow], files: FileStore, limit: int, *, renew: Any = None
) -> list[IO[bytes]]:
    """Temporary files, each an archive of whole packages (stored, not compressed again)
    of at most `limit` bytes, each copied from the store a block at a time. The local header
    comes first, so it needs the package's CRC-32: recorded when it was built (a row without
    one is read twice)."""
    parts: list[IO[bytes]] = []
    modified = datetime.now(UTC).astimezone(SAO_PAULO).replace(tzinfo=None)
    try:
        writer: ZipWriter | None = None
        for row in rows:
            size, key = row.file_size or 0, row.file_key or ""
            if writer is None or (
                writer.count and writer.size_with_member(row.nome, size, size) > limit
            ):
                if writer is not None:
                    writer.close()
                parts.append(tempfile.TemporaryFile(prefix="revendabot-pacotes-"))  # noqa: SIM115
                writer = ZipWriter(parts[-1])
            if writer.size_with_member(row.nome, size, size) > limit:
                raise ZipTooLargeForLimit(row.nome, limit)
            crc = row.file_crc32
            if crc is None:
                crc = 0
                for block in _blocks(files, key):
                    crc = zlib.crc32(block, crc)
            writer.add_stored(row.nome, crc, size, modified, _blocks(files, key))
            if renew is not None:
                renew()
        if writer is not None:
            writer.close()
    except BaseException:
        for part in parts:
            part.close()
        raise
    return parts


def _blocks(files: FileStore, key: str) -> Iterator[bytes]:
    with files.open(key) as stream:
        while block := stream.read(CHUNK):
            yield block
