"""What a built package becomes: the accountant's e-mail (attached up to PACOTE_EMAIL_MAX_MB,
else a signed link that expires) and, when the office's month is complete, the gestor's one
message. Each is recorded in the transaction that queues it (`pacote_envio`, unique per
address; `reminder_sent` for the month's message), so a job taken over sends neither twice.
"""

from __future__ import annotations

from datetime import UTC, datetime

from domain.documents import format_tax_id
from domain.pacote import competencia_label
from services import notices
from services.email import Attachment, EmailMessage, enqueue_emails
from services.files import FileRef
from services.fiscal_exports.naming import ZIP_MIME
from services.fiscal_prepare import SAO_PAULO
from services.jobs import RunningJob
from services.pacote.options import PacoteOptions
from storage.models import AuditEntry
from storage.pacotes import PacoteRow
from storage.uow import UnitOfWorkFactory

NOTICE_KIND = "pacote.pronto"
MUTE_KIND = "pacote"  # Meus dados › Avisos

EMAIL_SUBJECT = "Pacote do mês {competencia} — {cliente}"
EMAIL_ATTACHED = (
    "Olá,\n\nSegue em anexo o pacote de {competencia} de {cliente} ({documento}): os XMLs das "
    "notas emitidas (NF-e e NFC-e, com os cancelamentos), os XMLs de fornecedores, o relatório "
    "do mês em PDF e XLSX e o resumo.txt com as quantidades e os totais.\n\n"
    "{notas} nota(s) · arquivo {arquivo} ({tamanho}).\n\n"
    "— RevendaBot (mensagem automática, não responda)"
)
EMAIL_LINKED = (
    "Olá,\n\nO pacote de {competencia} de {cliente} ({documento}) está pronto: os XMLs das "
    "notas emitidas (NF-e e NFC-e, com os cancelamentos), os XMLs de fornecedores, o relatório "
    "do mês em PDF e XLSX e o resumo.txt com as quantidades e os totais.\n\n"
    "Ele tem {tamanho}, grande demais para ir anexado. Baixe por este link até {ate}:\n{link}\n\n"
    "— RevendaBot (mensagem automática, não responda)"
)


# -- the accountant's e-mail -----------------------------------------------------------------


def email_accountant(job: RunningJob, row: PacoteRow, options: PacoteOptions) -> None:
    """The package to the client's accountant: attached when small, else a signed link."""
    destino = (row.email_contador or "").strip()
    if not options.email or not destino or row.file_key is None or row.file_size is None:
        return
    now = datetime.now(UTC)
    ref = FileRef(row.file_key, row.file_size, row.file_sha256 or "")
    values = {
        "competencia": competencia_label(row.competencia),
        "cliente": row.razao_social,
        "documento": format_tax_id(row.documento),
        "notas": row.notas,
        "arquivo": row.nome,
        "tamanho": human_size(ref.size),
    }
    subject = EMAIL_SUBJECT.format(**values)
    if ref.size <= options.email_max_bytes:
        via = "anexo"
        message = EmailMessage(
            destino,
            subject,
            EMAIL_ATTACHED.format(**values),
            (Attachment(row.nome, ZIP_MIME, file=ref),),
        )
    elif options.links is not None:
        via = "link"
        url, until = options.links.link(ref, row.nome, ZIP_MIME, now, ttl=options.link_ttl)
        ate = until.astimezone(SAO_PAULO).strftime("%d/%m/%Y %H:%M")
        message = EmailMessage(destino, subject, EMAIL_LINKED.format(**values, link=url, ate=ate))
    else:
        return
    uow = job.uow_factory()
    with uow:
        uow.lock(f"pacote:{row.id}")
        if destino in uow.pacotes.sent_to(row.id):  # its first taker sent it
            return
        enqueue_emails(uow, [message], now, sensitive=via == "link")
        uow.pacotes.record_sent(row.id, destino, via, ref.size, ref.sha256, now)
        uow.audit.add(
            AuditEntry(
                at=now,
                gestor_id=row.gestor_id,
                actor="scheduler:pacote",
                client_id=row.client_id,
                action="pacote.enviado",
                before=None,
                after={
                    "competencia": row.competencia,
                    "para": destino,
                    "via": via,
                    "bytes": ref.size,
                    "sha256": ref.sha256,
                },
            )
        )
        job.lease.save(uow, emailed=destino)
        uow.commit()


def human_size(size: int) -> str:
    """`1536` → `1,5 kB`; `12_345_678` → `11,8 MB` (pt-BR decimals)."""
    value, unit = float(size), "bytes"
    for unit in ("bytes", "kB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            break
        value /= 1024
    text = f"{value:.0f}" if unit == "bytes" else f"{value:.1f}".replace(".", ",")
    return f"{text} {unit}"


# -- the gestor's message --------------------------------------------------------------------


def announce_if_complete(uow_factory: UnitOfWorkFactory, gestor_id: int, competencia: str) -> bool:
    """When the last of the gestor's packages of the month is done: one notice, ever."""
    now = datetime.now(UTC)
    subject = f"{gestor_id}:{competencia}"
    uow = uow_factory()
    with uow:
        uow.lock(f"pacote:{subject}")
        if uow.pacotes.pending(gestor_id, competencia):
            return False
        if uow.reminders.sent_keys("pacote", [subject]):
            return False
        clientes, notas = uow.pacotes.totals(gestor_id, competencia)
        if clientes == 0:  # nothing ready (empty or failed): a later run may build one
            return False
        uow.reminders.add_many(
            [
                {
                    "kind": "pacote",
                    "subject": subject,
                    "threshold": "pronto",
                    "gestor_id": gestor_id,
                    "sent_at": now,
                }
            ]
        )
        muted = MUTE_KIND in uow.notice_mutes.of_gestor(gestor_id)
        if not muted:
            payload = {"competencia": competencia, "clientes": clientes, "notas": notas}
            notices.publish(uow, gestor_id, NOTICE_KIND, payload)
        uow.commit()
        return not muted
