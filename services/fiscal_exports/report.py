"""The month report: its chart as a picture (when something was authorized), then the PDF
with the same chart, then the same rows as CSV or XLSX — all in one transaction."""

from __future__ import annotations

from collections.abc import Iterator

from domain.fiscal import Item, Participante, Situacao
from domain.fiscal.report import Cabecalho, LinhaRelatorio, itens_do_xml, participante, summarize
from domain.fiscal.report_chart import PNG_MIME, render_report_chart
from domain.fiscal.report_pdf import render_report_pdf
from domain.fiscal.report_tables import render_csv, render_xlsx
from domain.money import format_brl
from domain.text import fill
from services import fiscal_documents
from services.fiscal_exports.naming import CSV_MIME, PDF_MIME, XLSX_MIME
from services.fiscal_exports.parts import guarded, notes, principal_of, progress_of, send
from services.fiscal_exports.spec import Export, ExportOptions, ExportSpec
from services.fiscal_prepare import TipoNota, inflate
from services.jobs import RunningJob
from services.messages import Document, Image, Outbound
from services.principal import Principal
from storage.uow import UnitOfWork


def run(job: RunningJob, options: ExportOptions) -> None:
    spec = ExportSpec.from_json(job.spec)
    words, export = spec.words, spec.export
    progress = progress_of(job, spec, words.report_progress, options)

    def build() -> None:
        if job.lease.checkpoint.get("sent"):  # its first taker sent it, then stopped
            progress.end(words.report_finished, or_send=progress.big)
            return
        itens: dict[str, tuple[Item, ...]] = {}
        for lidas, member in enumerate(notes(job, spec, with_cancellations=False), start=1):
            itens[member.chave] = itens_do_xml(inflate(member.deflated))
            progress.tick(lidas)
        principal = principal_of(job, spec)
        linhas = list(report_rows(job.uow_factory(), principal, export, itens))
        if not linhas:
            progress.end(words.empty.format(titulo=export.titulo))
            return
        cabecalho = Cabecalho(
            cliente=spec.cliente[0],
            documento=spec.cliente[1],
            competencia=export.competencia or linhas[0].dh_emi.strftime("%Y-%m"),
            modelo=export.modelo or linhas[0].modelo,
            gerado_em=spec.gerado_em,
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
            if spec.formato == "csv"
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
        send(job, spec, messages, options, sent=True)
        progress.end(words.report_finished, or_send=progress.big)

    guarded(words, progress, build)


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
            com_resumos=False,
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
