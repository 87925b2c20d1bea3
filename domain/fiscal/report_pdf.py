"""The month report as a PDF (fpdf2): counts by situação, vNF total, the report's chart (value
per day and by CFOP, the same PNG the chat shows), totals by CFOP and the cancelled notes.

Every page carries a header with whose notes these are (client, CNPJ, model, month) and a footer
with "Página N de M", so a printed page that goes astray still says where it belongs.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from datetime import date

from fpdf import FPDF

from domain.documents import format_tax_id
from domain.fiscal.model import Situacao
from domain.fiscal.report import (
    SAO_PAULO,
    SITUACOES,
    Cabecalho,
    LinhaRelatorio,
    Resumo,
    summarize,
)
from domain.fiscal.report_chart import SIZE_INCHES, render_report_chart
from domain.money import format_brl
from domain.text import format_number

FONT = "Helvetica"
GRID = (200, 200, 200)
HEADER_FILL = (230, 236, 243)
MUTED = (90, 90, 90)
MARGIN = 15.0
FOOTER_ROOM = 18.0  # the bottom margin: page breaks leave room for "Página N de M"


def render_report_pdf(
    cabecalho: Cabecalho, linhas: Iterable[LinhaRelatorio], *, chart: bytes | None = None
) -> bytes:
    """The PDF report of the month; the clock comes in `cabecalho.gerado_em`. `chart` is the
    PNG of `report_chart` when the caller made it already (the chat sends it too); without it,
    it is drawn here."""
    return render_summary_pdf(cabecalho, summarize(linhas), chart=chart)


def render_summary_pdf(
    cabecalho: Cabecalho, resumo: Resumo, *, chart: bytes | None = None
) -> bytes:
    """The same PDF from the month's totals accumulated row by row (`Resumo.add`, then
    `finished`), for callers that stream the rows instead of holding them."""
    return _ReportPdf(cabecalho, resumo, chart).build()


def _date_br(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def _number(value: int) -> str:
    return format_number(value)


class _Pages(FPDF):
    """An A4 document whose every page has the report's header and "Página N de M"."""

    def __init__(self, running_header: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.running_header = running_header

    def header(self) -> None:
        self.set_font(FONT, "", 8)
        self.set_text_color(*MUTED)
        self.set_xy(self.l_margin, 8)
        self.cell(0, 4, _fit(self, self.running_header, self.epw), new_x="LMARGIN", new_y="NEXT")
        self.set_draw_color(*GRID)
        self.line(self.l_margin, 12.5, self.w - self.r_margin, 12.5)
        self.set_text_color(0, 0, 0)
        self.set_y(MARGIN)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, "", 8)
        self.set_text_color(*MUTED)
        # {nb} becomes the page count when the document is output
        self.cell(0, 5, f"Página {self.page_no()} de {{nb}}", align="C")
        self.set_text_color(0, 0, 0)


def running_header(cabecalho: Cabecalho) -> str:
    """`ACME Comércio Ltda — CNPJ 11.222.333/0001-81 — NF-e — competência 10/2026`."""
    year, month = cabecalho.ano_mes
    documento = f"{_tax_label(cabecalho.documento)} {format_tax_id(cabecalho.documento)}"
    return (
        f"{cabecalho.cliente} — {documento} — {cabecalho.modelo.label} — "
        f"competência {month:02d}/{year}"
    )


class _ReportPdf:
    def __init__(self, cabecalho: Cabecalho, resumo: Resumo, chart: bytes | None) -> None:
        self.cab = cabecalho
        self.resumo = resumo
        self.chart = chart
        pdf = _Pages(running_header(cabecalho))
        pdf.core_fonts_encoding = "cp1252"  # pt-BR accents, “”, — in the core fonts
        pdf.set_creation_date(cabecalho.gerado_em)
        pdf.set_title(f"Relatório {cabecalho.modelo.label} {cabecalho.competencia}")
        pdf.set_author("RevendaBot")
        pdf.set_creator("RevendaBot")
        pdf.set_auto_page_break(auto=True, margin=FOOTER_ROOM)
        pdf.set_margins(MARGIN, MARGIN, MARGIN)
        self.pdf = pdf

    def build(self) -> bytes:
        self.pdf.add_page()
        self._header()
        self._counts()
        self._total()
        self._chart()
        self._cfops()
        self._cancelled()
        return bytes(self.pdf.output())

    # -- sections ---------------------------------------------------------------------------

    def _header(self) -> None:
        pdf, cab = self.pdf, self.cab
        kind = "emitidas" if cab.tipo == "emitidas" else "de fornecedores"
        pdf.set_font(FONT, "B", 15)
        pdf.cell(
            0, 8, f"Relatório de notas {kind} — {cab.modelo.label}", new_x="LMARGIN", new_y="NEXT"
        )
        pdf.set_font(FONT, "", 10)
        generated = cab.gerado_em.astimezone(SAO_PAULO).strftime("%d/%m/%Y %H:%M")
        year, month = cab.ano_mes
        for line in (
            f"Cliente: {cab.cliente} — {_tax_label(cab.documento)} {format_tax_id(cab.documento)}",
            f"Período: {_date_br(cab.primeiro_dia)} a {_date_br(cab.ultimo_dia)} "
            f"(competência {month:02d}/{year})",
            f"Gerado em {generated} (horário de Brasília)",
        ):
            pdf.cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)

    def _title(self, text: str) -> None:
        self.pdf.ln(2)
        self.pdf.set_font(FONT, "B", 12)
        self.pdf.cell(0, 7, text, new_x="LMARGIN", new_y="NEXT")
        self.pdf.set_font(FONT, "", 10)

    def _counts(self) -> None:
        self._title("Notas por situação")
        rows = [(s.label, _number(self.resumo.contagem.get(s, 0))) for s in SITUACOES]
        rows.append(("Total", _number(self.resumo.total_notas)))
        self._table(("Situação", "Notas"), rows, (60, 30), ("L", "R"))

    def _total(self) -> None:
        pdf = self.pdf
        self._title("Valor das notas autorizadas")
        pdf.set_font(FONT, "B", 11)
        pdf.cell(
            0,
            7,
            f"Total (vNF): {format_brl(self.resumo.total_autorizadas)}",
            new_x="LMARGIN",
            new_y="NEXT",
        )
        pdf.set_font(FONT, "", 9)
        pdf.multi_cell(
            0,
            5,
            "Soma do valor total da nota (vNF, total/ICMSTot/vNF) das notas autorizadas. "
            "Notas canceladas, denegadas ou não autorizadas são contadas, mas não somadas.",
            new_x="LMARGIN",
            new_y="NEXT",
        )

    def _chart(self) -> None:
        """The report's chart (vNF per day, vProd by CFOP) across the page's width."""
        pdf = self.pdf
        if not self.resumo.contagem.get(Situacao.AUTORIZADA):
            self._title("Valor por dia (vNF das notas autorizadas)")
            pdf.cell(0, 5, "Nenhuma nota autorizada no período.", new_x="LMARGIN", new_y="NEXT")
            return
        png = self.chart or render_report_chart(self.cab, self.resumo)
        width = pdf.epw
        height = width * SIZE_INCHES[1] / SIZE_INCHES[0]
        if pdf.will_page_break(height + 12):
            pdf.add_page()
        self._title("Valor por dia (vNF das notas autorizadas) e por CFOP (vProd dos itens)")
        pdf.image(io.BytesIO(png), x=pdf.l_margin, y=pdf.get_y() + 1, w=width, h=height)
        pdf.set_y(pdf.get_y() + height + 2)

    def _cfops(self) -> None:
        title = "Totais por CFOP (soma de vProd dos itens das notas autorizadas)"
        totals = self.resumo.por_cfop
        if not totals:
            self._title(title)
            self.pdf.cell(
                0, 6, "Nenhum item de nota autorizada no período.", new_x="LMARGIN", new_y="NEXT"
            )
            return
        rows = [(t.cfop, _number(t.itens), format_brl(t.v_prod)) for t in totals]
        rows.append(("Total", "", format_brl(self.resumo.total_cfop)))
        # a short table (with its title and note) moves whole to the next page, not split
        height = 9 + (len(rows) + 1) * 5.5 + 10
        if height < self.pdf.eph / 2 and self.pdf.will_page_break(height):
            self.pdf.add_page()
        self._title(title)
        self._table(("CFOP", "Itens", "Valor (vProd)"), rows, (30, 25, 45), ("L", "R", "R"))
        self.pdf.set_font(FONT, "", 8)
        self.pdf.multi_cell(
            0,
            4,
            "O total por CFOP soma o valor dos produtos (vProd) e pode diferir do total vNF "
            "quando há IPI, ST, frete ou desconto.",
            new_x="LMARGIN",
            new_y="NEXT",
        )

    def _cancelled(self) -> None:
        canceladas = self.resumo.canceladas
        self._title(f"Notas canceladas ({_number(len(canceladas))})")
        if not canceladas:
            self.pdf.cell(
                0, 6, "Nenhuma nota cancelada no período.", new_x="LMARGIN", new_y="NEXT"
            )
            return
        other = "Emitente" if self.cab.tipo != "emitidas" else "Destinatário"
        rows = [
            (
                str(linha.numero),
                str(linha.serie),
                _date_br(linha.dia),
                _party(linha, other == "Emitente"),
                format_brl(linha.v_nf),
                linha.chave,
            )
            for linha in canceladas
        ]
        self.pdf.set_font(FONT, "", 8)
        self._table(
            ("Número", "Série", "Emissão", other, "Valor (vNF)", "Chave de acesso"),
            rows,
            (16, 10, 18, 42, 22, 72),
            ("R", "R", "C", "L", "R", "L"),
            size=7,
        )

    def _table(
        self,
        head: tuple[str, ...],
        rows: Sequence[tuple[str, ...]],
        widths: tuple[float, ...],
        aligns: tuple[str, ...],
        *,
        size: float = 10,
    ) -> None:
        pdf = self.pdf
        line = size * 0.55

        def heading() -> None:
            pdf.set_font(FONT, "B", size)
            pdf.set_fill_color(*HEADER_FILL)
            for text, width, align in zip(head, widths, aligns, strict=True):
                pdf.cell(width, line, text, border=1, align=align, fill=True)
            pdf.ln(line)
            pdf.set_font(FONT, "", size)

        heading()
        for row in rows:
            if pdf.will_page_break(line):
                pdf.add_page()
                heading()
            for text, width, align in zip(row, widths, aligns, strict=True):
                pdf.cell(width, line, _fit(pdf, text, width), border=1, align=align)
            pdf.ln(line)


def _tax_label(documento: str) -> str:
    return "CPF" if len(documento) == 11 else "CNPJ"


def _party(linha: LinhaRelatorio, emitente: bool) -> str:
    party = linha.emitente if emitente else linha.destinatario
    if party is None:
        return "Consumidor não identificado"
    return party.x_nome or format_tax_id(party.documento or "")


def _fit(pdf: FPDF, text: str, width: float) -> str:
    """Cut a text to the cell's width (names can be long)."""
    room = width - 2
    if pdf.get_string_width(text) <= room:
        return text
    while text and pdf.get_string_width(text + "…") > room:
        text = text[:-1]
    return text + "…"
