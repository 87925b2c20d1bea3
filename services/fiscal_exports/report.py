"""The month report: its chart as a picture (when something was authorized), then the PDF
with the same chart, then the same rows as CSV or XLSX — all in one transaction."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import chain

from domain.fiscal import Participante, Situacao
from domain.fiscal.report import Cabecalho, LinhaRelatorio, Resumo, itens_do_xml, participante
from domain.fiscal.report_chart import PNG_MIME, render_report_chart
from domain.fiscal.report_pdf import render_summary_pdf
from domain.fiscal.report_tables import render_csv, render_xlsx
from domain.money import format_brl
from domain.text import fill
from services import fiscal_documents
from services.fiscal_exports.naming import CSV_MIME, PDF_MIME, XLSX_MIME
from services.fiscal_exports.parts import guarded, principal_of, progress_of, send
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
        # One pass over the month: each row goes into the totals (the chart and the PDF) and
        # into the table as it is read; no row is held after it was written.
        resumo = Resumo()
        lidas = report_lines(job.uow_factory(), principal_of(job, spec), export)
        linhas = resumo.tally(lidas, progress.tick)
        first = next(linhas, None)
        if first is None:
            progress.end(words.empty.format(titulo=export.titulo))
            return
        cabecalho = Cabecalho(
            cliente=spec.cliente[0],
            documento=spec.cliente[1],
            competencia=export.competencia or first.dh_emi.strftime("%Y-%m"),
            modelo=export.modelo or first.modelo,
            gerado_em=spec.gerado_em,
            tipo="emitidas" if export.tipo is TipoNota.EMITIDA else "fornecedores",
        )
        rows = chain([first], linhas)
        table_caption = words.table_caption.format(titulo=export.titulo)
        table = (
            Document(f"{export.base}.csv", CSV_MIME, render_csv(rows), table_caption)
            if spec.formato == "csv"
            else Document(
                f"{export.base}.xlsx", XLSX_MIME, render_xlsx(cabecalho, rows), table_caption
            )
        )
        resumo.finished()
        authorized = resumo.contagem.get(Situacao.AUTORIZADA, 0)
        chart = render_report_chart(cabecalho, resumo) if authorized else None
        pdf = render_summary_pdf(cabecalho, resumo, chart=chart)
        progress.tick()
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


def report_lines(
    uow: UnitOfWork, principal: Principal, export: Export
) -> Iterator[LinhaRelatorio]:
    """The notes as stored (situação with its events, vNF), oldest first, each with its items
    (CFOP, vProd) read from its stored XML — a batch of notes at a time."""
    notes = fiscal_documents.notes_with_xml(
        uow,
        principal,
        export.client_id,
        tipo=export.tipo,
        modelo=export.modelo,
        competencia=export.competencia,
        reconhecida=export.reconhecida,
    )
    for note, deflated in notes:
        yield LinhaRelatorio(
            chave=note.chave,
            modelo=note.modelo,
            serie=note.serie,
            numero=note.numero,
            dh_emi=note.emitida_em,
            emitente=participante(note.emitente_documento, note.emitente_nome) or Participante(),
            destinatario=participante(note.destinatario_documento, note.destinatario_nome),
            situacao=note.situacao,
            v_nf=note.valor,
            itens=itens_do_xml(inflate(deflated)),
        )
