"""Asking for an export, inside the step: role and tenancy are checked now (a forged id is
refused at once), a request already waiting or running is refused (pressing twice builds
once), and the "Gerando…" notice (with "enviando documento…" where the channel shows it) goes
into the outbox in the step's transaction. The step returns the `JobRequest`; the
conversation engine writes it as a durable job in the same transaction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Literal

from services import fiscal_documents
from services.fiscal_exports.spec import (
    DEFAULT_OPTIONS,
    Export,
    ExportOptions,
    ExportSpec,
    Notice,
    Words,
)
from services.job_progress import Recipient, announce
from services.jobs import JobRequest, ensure_not_queued
from services.principal import Principal
from storage.uow import UnitOfWork

XML_ZIP = "fiscal.xml_zip"
REPORT = "fiscal.report"
DANFE_ZIP = "fiscal.danfe_zip"

Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(UTC)


def xml_zip_job(
    uow: UnitOfWork,
    principal: Principal,
    export: Export,
    to: Recipient,
    words: Words,
    *,
    notice: Notice | None = None,
    options: ExportOptions = DEFAULT_OPTIONS,
    clock: Clock = _now,
) -> JobRequest:
    """The ZIP of the notes' XMLs (nfeProc + cancellation events), split at the limit."""
    spec = ExportSpec(export, to, words, None, clock())
    return _request(XML_ZIP, uow, principal, spec, notice, options)


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
) -> JobRequest:
    """The month report: its chart as a picture, the PDF, then the rows as CSV or XLSX."""
    spec = ExportSpec(export, to, words, None, clock(), cliente, formato)
    return _request(REPORT, uow, principal, spec, notice, options, formato)


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
) -> JobRequest:
    """The ZIP of the month's DANFE/DANFCE PDFs; cancelled notes carry the watermark."""
    spec = ExportSpec(export, to, words, None, clock())
    return _request(DANFE_ZIP, uow, principal, spec, notice, options)


def _request(
    kind: str,
    uow: UnitOfWork,
    principal: Principal,
    spec: ExportSpec,
    notice: Notice | None,
    options: ExportOptions,
    *subject: str,
) -> JobRequest:
    fiscal_documents.check_client(uow, principal, spec.export.client_id)
    to = spec.to
    request = JobRequest(kind, to.identity_key, (*spec.export.subject(), *subject), {})
    ensure_not_queued(uow, request)
    announced = None
    capabilities = options.capabilities(to.channel)
    # Where every message counts (WhatsApp paces each person), a job that ends soon says
    # nothing first: its files are the answer. A big one still says it is at work.
    quiet = (
        capabilities.merge_replies and notice is not None and notice.total < options.pronto_from
    )
    if notice is not None and not quiet:
        announced = announce(uow, to, notice.text, notice.total, capabilities)
    return replace(request, payload=replace(spec, notice=announced).to_json())
