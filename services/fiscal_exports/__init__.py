"""Long work of the fiscal chat, as durable jobs (services/jobs.py): a month's ZIP of XMLs,
the month report (its chart as a picture, then PDF + CSV or XLSX) and the month's DANFEs.

- `requests`: called inside the step — role and tenancy checked there (a forged id is
  refused at once), the "Gerando…" notice put in the outbox, a `JobRequest` returned for the
  conversation engine to write with the step;
- `xml_zip`, `report`, `danfe`: the jobs, run by a worker after commit (on any instance);
  each reads the notes again in short transactions on the person's behalf, writes ZIPs as a
  stream into temporary files split at the channel's upload limit, and hands each part to the
  outbox in its own transaction with the checkpoint that says it went; a failure is answered
  with a reference, never half-sent;
- `parts`: what they share; `spec`: what a job is asked (JSON in its row) and the deployment's
  `ExportOptions`; `naming`: file names and types.

While a job runs it renews the chat action and edits the notice with its count, and at the
end edits it to "Pronto" or the error (services/job_progress.py), as far as the channel can.
The words are the dialogue's (handlers/texts.py): the handler hands them over in `Words`.
"""

from __future__ import annotations

from collections.abc import Mapping

from services.fiscal_exports import danfe, prerender, report, xml_zip
from services.fiscal_exports.danfe import DANFE_CACHE
from services.fiscal_exports.naming import (
    CSV_MIME,
    PDF_MIME,
    XLSX_MIME,
    ZIP_MIME,
    file_base,
    model_tag,
)
from services.fiscal_exports.parts import give_up
from services.fiscal_exports.report import report_lines
from services.fiscal_exports.requests import (
    DANFE_ZIP,
    REPORT,
    XML_ZIP,
    danfe_zip_job,
    report_job,
    xml_zip_job,
)
from services.fiscal_exports.spec import (
    DEFAULT_OPTIONS,
    Export,
    ExportOptions,
    ExportSpec,
    Notice,
    Words,
)
from services.job_progress import Recipient
from services.jobs import JobKind


def kinds(options: ExportOptions) -> Mapping[str, JobKind]:
    """The export jobs' code, for the job runner of this deployment."""
    return {
        XML_ZIP: JobKind(
            lambda job: xml_zip.run(job, options),
            lambda job: give_up(job, lambda words: words.progress, options),
        ),
        REPORT: JobKind(
            lambda job: report.run(job, options),
            lambda job: give_up(job, lambda words: words.report_progress, options),
        ),
        DANFE_ZIP: JobKind(
            lambda job: danfe.run(job, options),
            lambda job: give_up(job, lambda words: words.danfe_progress, options),
        ),
        # nobody waits for it: giving up only leaves the DANFEs to be printed when asked
        prerender.PRERENDER: JobKind(lambda job: prerender.run(job, options), lambda job: None),
    }


__all__ = [
    "CSV_MIME",
    "DANFE_CACHE",
    "DANFE_ZIP",
    "DEFAULT_OPTIONS",
    "PDF_MIME",
    "REPORT",
    "XLSX_MIME",
    "XML_ZIP",
    "ZIP_MIME",
    "Export",
    "ExportOptions",
    "ExportSpec",
    "Notice",
    "Recipient",
    "Words",
    "danfe_zip_job",
    "file_base",
    "kinds",
    "model_tag",
    "report_job",
    "report_lines",
    "xml_zip_job",
]
