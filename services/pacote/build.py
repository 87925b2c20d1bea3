"""One client's package, as a durable job: build it, then hand it to `delivery` (e-mail it to
the accountant; when the gestor's month is complete, tell the gestor once).

Each stage is recorded before the next one starts, so a job taken over after a crash goes on
from there: the package row turns `pronto` with its file reference (a rebuilt package would be
the same notes again); each e-mail is recorded in `pacote_envio` with the outbox row that sends
it (unique per address); the gestor's message is recorded in `reminder_sent` with the notice.
The job reads the notes on the office's behalf: the package belongs to the client's office,
whoever is bound to it now.
"""

from __future__ import annotations

import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from itertools import chain
from typing import IO

from domain.clients import Role
from domain.documents import format_tax_id
from domain.fiscal import Modelo, Situacao
from domain.fiscal.report import Cabecalho
from domain.fiscal.report import Resumo as ReportResumo
from domain.fiscal.report_pdf import render_summary_pdf
from domain.fiscal.report_tables import render_xlsx
from domain.fiscal.zipstream import ZipEntry, ZipWriter, deflate_entry
from domain.pacote import (
    EMITIDAS_NFCE,
    EMITIDAS_NFE,
    FORNECEDORES,
    RELATORIOS,
    RESUMO,
    Grupo,
    Resumo,
    render_resumo,
)
from services import fiscal_documents
from services.errors import ServiceError
from services.files import CHUNK
from services.fiscal_exports.report import report_lines
from services.fiscal_exports.spec import Export
from services.fiscal_prepare import SAO_PAULO, TipoNota
from services.jobs import RunningJob
from services.pacote import delivery
from services.pacote.options import PacoteOptions
from services.principal import Principal
from storage.models_pacote import PENDENTE, PRONTO, VAZIO
from storage.pacotes import PacoteRow
from storage.uow import UnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class _Group:
    folder: str
    tipo: TipoNota
    modelo: Modelo | None
    titulo: str
    slug: str  # the report files' names


GROUPS = (
    _Group(EMITIDAS_NFE, TipoNota.EMITIDA, Modelo.NFE, "NF-e emitidas", "NF-e_emitidas"),
    _Group(EMITIDAS_NFCE, TipoNota.EMITIDA, Modelo.NFCE, "NFC-e emitidas", "NFC-e_emitidas"),
    _Group(FORNECEDORES, TipoNota.FORNECEDOR, None, "NF-e de fornecedores", "fornecedores"),
)


def office(gestor_id: int) -> Principal:
    """The client's office, acting through the scheduler (no person, no identity)."""
    return Principal(0, "scheduler:pacote", gestor_id, "", Role.GESTOR)


def run(job: RunningJob, options: PacoteOptions) -> None:
    pacote_id = int(job.spec["pacote_id"])
    row = _load(job.uow_factory, pacote_id)
    if row is None:  # the client was removed meanwhile
        return
    if row.status == PENDENTE:
        row = _build(job, row, options)
    if row.status == PRONTO:
        delivery.email_accountant(job, row, options)
    delivery.announce_if_complete(job.uow_factory, row.gestor_id, row.competencia)


def give_up(job: RunningJob, options: PacoteOptions) -> None:
    """No worker could build it: marked `falhou`, so the gestor's month still gets its
    message (without this package); the next run of the sweep for that month tries again."""
    row = _load(job.uow_factory, int(job.spec["pacote_id"]))
    if row is None:
        return
    uow = job.uow_factory()
    with uow:
        if row.status == PENDENTE:
            uow.pacotes.mark_failed(row.id, datetime.now(UTC))
        uow.commit()
    delivery.announce_if_complete(job.uow_factory, row.gestor_id, row.competencia)


def _load(uow_factory: UnitOfWorkFactory, pacote_id: int) -> PacoteRow | None:
    uow = uow_factory()
    with uow:
        return uow.pacotes.get(pacote_id)


# -- the ZIP ---------------------------------------------------------------------------------


def _build(job: RunningJob, row: PacoteRow, options: PacoteOptions) -> PacoteRow:
    """Write the ZIP into a temporary file, put it in the store, then mark the row `pronto`
    with the stage's checkpoint (a month with no notes left after all: `vazio`)."""
    if options.files is None:
        raise ServiceError("pacote: no file store configured")
    now = datetime.now(UTC)
    ref, crc = None, 0
    with tempfile.TemporaryFile(prefix="revendabot-pacote-") as out:
        resumo = write_package(job, row, out, now)
        if resumo.notas:
            out.seek(0)
            while block := out.read(CHUNK):
                crc = zlib.crc32(block, crc)
            out.seek(0)
            ref = options.files.put(out)
    uow = job.uow_factory()
    with uow:
        if ref is None:
            uow.pacotes.mark_empty(row.id, now)
        else:
            uow.pacotes.mark_built(
                row.id,
                key=ref.key,
                size=ref.size,
                sha256=ref.sha256,
                crc32=crc,
                notas=resumo.notas,
                eventos=resumo.eventos,
                now=now,
            )
        job.lease.save(uow, built=True)
        uow.commit()
    if ref is None:
        return replace(row, status=VAZIO)
    return replace(
        row,
        status=PRONTO,
        file_key=ref.key,
        file_size=ref.size,
        file_sha256=ref.sha256,
        file_crc32=crc,
        notas=resumo.notas,
        eventos=resumo.eventos,
    )


def write_package(job: RunningJob, row: PacoteRow, out: IO[bytes], now: datetime) -> Resumo:
    """Write the package into `out` as a stream: each XML is copied as stored (already
    deflated), the reports and the resumo are made at the end."""
    principal = office(row.gestor_id)
    gerado_em = now.astimezone(SAO_PAULO)
    modified = gerado_em.replace(tzinfo=None)
    writer = ZipWriter(out)
    grupos: list[Grupo] = []
    reports: list[tuple[str, bytes]] = []
    for group in GROUPS:
        eventos = 0
        for member in _members(job, principal, row, group):
            name = f"{group.folder}/{member.name}"
            writer.add(ZipEntry(name, member.deflated, member.crc32, member.size, member.modified))
            if member.cancelamento:
                eventos += 1
            job.lease.renew()
        counts = fiscal_documents.month_counts(
            job.uow_factory(),
            principal,
            row.client_id,
            tipo=group.tipo,
            modelo=group.modelo,
            competencia=row.competencia,
        )
        if counts.total == 0:
            continue
        grupos.append(_grupo(group.titulo, counts, eventos))
        reports += _reports(job, principal, row, group, gerado_em)
    for name, data in reports:
        writer.add(deflate_entry(name, data, modified))
    resumo = Resumo(
        cliente=row.razao_social,
        documento=format_tax_id(row.documento),
        competencia=row.competencia,
        gerado_em=gerado_em,
        grupos=tuple(grupos),
        arquivos=tuple(name for name, _ in reports),
    )
    writer.add(deflate_entry(RESUMO, render_resumo(resumo), modified))
    writer.close()
    return resumo


def _members(
    job: RunningJob, principal: Principal, row: PacoteRow, group: _Group
) -> Iterator[fiscal_documents.CompressedXml]:
    return fiscal_documents.compressed_xmls(
        job.uow_factory(),
        principal,
        row.client_id,
        tipo=group.tipo,
        modelo=group.modelo,
        competencia=row.competencia,
        with_cancellations=True,
    )


def _grupo(titulo: str, counts: fiscal_documents.MonthCounts, eventos: int) -> Grupo:
    autorizadas = counts.quantidade[Situacao.AUTORIZADA]
    canceladas = counts.quantidade[Situacao.CANCELADA]
    return Grupo(
        titulo=titulo,
        notas=counts.total,
        autorizadas=autorizadas,
        canceladas=canceladas,
        outras=counts.total - autorizadas - canceladas,
        valor_autorizadas=counts.valor_autorizadas,
        eventos=eventos,
    )


def _reports(
    job: RunningJob,
    principal: Principal,
    row: PacoteRow,
    group: _Group,
    gerado_em: datetime,
) -> list[tuple[str, bytes]]:
    """The month report of one group, PDF and XLSX, from the stored notes."""
    export = Export(
        client_id=row.client_id,
        tipo=group.tipo,
        modelo=group.modelo,
        competencia=row.competencia,
        titulo=group.titulo,
        base=group.slug,
    )
    # one pass: each row into the totals (PDF) and the workbook as it is read
    resumo = ReportResumo()
    lidas = report_lines(job.uow_factory(), principal, export)
    linhas = resumo.tally(lidas, lambda _lidas: job.lease.renew())
    first = next(linhas, None)
    if first is None:
        return []
    cabecalho = Cabecalho(
        cliente=row.razao_social,
        documento=format_tax_id(row.documento),
        competencia=row.competencia,
        modelo=group.modelo or Modelo.NFE,
        gerado_em=gerado_em,
        tipo="emitidas" if group.tipo is TipoNota.EMITIDA else "fornecedores",
    )
    base = f"{RELATORIOS}/relatorio_{group.slug}_{row.competencia}"
    xlsx = render_xlsx(cabecalho, chain([first], linhas))
    return [
        (f"{base}.pdf", render_summary_pdf(cabecalho, resumo.finished())),
        (f"{base}.xlsx", xlsx),
    ]
