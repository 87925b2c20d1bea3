"""The report's rows as a spreadsheet: CSV (Excel pt-BR: `;`, decimal comma, UTF-8 with BOM)
or XLSX (numbers as numbers, dates as dates).

After the notes, one totals row whose first cell is `TOTAL` (never a 44-character key, so a
program reading one note per line skips it by that cell): how many notes and how many of them
cancelled, and the sum of vNF of the authorized notes only — its label says so, since the
value column of every other row is the note's own vNF whatever its situação.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from decimal import Decimal

from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.cell import WriteOnlyCell  # type: ignore[import-untyped]
from openpyxl.styles import Font  # type: ignore[import-untyped]

from domain.fiscal.model import Situacao
from domain.fiscal.report import SAO_PAULO, Cabecalho, LinhaRelatorio, Resumo
from domain.text import fill

COLUMNS = (
    "Chave de acesso",
    "Modelo",
    "Série",
    "Número",
    "Emissão",
    "Emitente CNPJ/CPF",
    "Emitente",
    "Destinatário CNPJ/CPF",
    "Destinatário",
    "Situação",
    "Valor total (vNF)",
    "CFOPs",
)


TOTAL = "TOTAL"
# Cells of the totals row: the counts go under "Emitente" (a wide text column), the label of
# the sum under "Situação", right before the sum itself under "Valor total (vNF)".
COUNTS_COLUMN = COLUMNS.index("Emitente")
LABEL_COLUMN = COLUMNS.index("Situação")
VALUE_COLUMN = COLUMNS.index("Valor total (vNF)")
COUNTS_LABEL = "{notas:nota|notas}, {canceladas:cancelada|canceladas}"
SUM_LABEL = "Soma do vNF das notas autorizadas ({autorizadas:n})"


def _decimal_br(value: Decimal) -> str:
    return f"{value:.2f}".replace(".", ",")


def _cells(linha: LinhaRelatorio) -> tuple[object, ...]:
    destinatario = linha.destinatario
    return (
        linha.chave,
        linha.modelo.label,
        linha.serie,
        linha.numero,
        linha.dh_emi.replace(tzinfo=None),
        linha.emitente.documento or "",
        linha.emitente.x_nome or "",
        (destinatario.documento or "") if destinatario else "",
        (destinatario.x_nome or "") if destinatario else "",
        linha.situacao.label,
        linha.v_nf,
        linha.cfops,
    )


def _totals(resumo: Resumo) -> list[object]:
    """The totals row; its value cell holds the Decimal sum (each format writes it its way)."""
    cells: list[object] = [""] * len(COLUMNS)
    cells[0] = TOTAL
    cells[COUNTS_COLUMN] = fill(
        COUNTS_LABEL,
        notas=resumo.total_notas,
        canceladas=resumo.contagem.get(Situacao.CANCELADA, 0),
    )
    cells[LABEL_COLUMN] = fill(SUM_LABEL, autorizadas=resumo.contagem.get(Situacao.AUTORIZADA, 0))
    cells[VALUE_COLUMN] = resumo.total_autorizadas
    return cells


def render_csv(linhas: Iterable[LinhaRelatorio]) -> bytes:
    """One line per note, the value being vNF with a decimal comma; then the TOTAL line."""
    data = io.BytesIO()
    # encoded as it is written: the month's text is never held a second time as a str
    out = io.TextIOWrapper(data, encoding="utf-8-sig", newline="")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(COLUMNS)
    resumo = Resumo()
    for linha in linhas:
        resumo.add(linha)
        cells = list(_cells(linha))
        cells[4] = linha.dh_emi.strftime("%d/%m/%Y %H:%M:%S")
        cells[10] = _decimal_br(linha.v_nf)
        writer.writerow(cells)
    totals = _totals(resumo)
    totals[VALUE_COLUMN] = _decimal_br(resumo.total_autorizadas)
    writer.writerow(totals)
    out.flush()
    out.detach()
    return data.getvalue()


def render_xlsx(cabecalho: Cabecalho, linhas: Iterable[LinhaRelatorio]) -> bytes:
    """The same rows in a workbook; the file's dates come from the clock in `cabecalho`."""
    workbook = Workbook(write_only=True)
    moment = cabecalho.gerado_em.astimezone(SAO_PAULO).replace(tzinfo=None)
    workbook.properties.created = moment
    workbook.properties.modified = moment
    workbook.properties.creator = "RevendaBot"
    workbook.properties.title = f"Notas {cabecalho.modelo.label} {cabecalho.competencia}"
    sheet = workbook.create_sheet(f"{cabecalho.modelo.label} {cabecalho.competencia}")
    sheet.column_dimensions["A"].width = 47
    sheet.column_dimensions["E"].width = 19
    sheet.column_dimensions["G"].width = 35
    sheet.column_dimensions["I"].width = 35
    sheet.column_dimensions["K"].width = 16
    bold = Font(bold=True)
    header = []
    for title in COLUMNS:
        cell = WriteOnlyCell(sheet, value=title)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    resumo = Resumo()
    for linha in linhas:
        resumo.add(linha)
        row: list[object] = list(_cells(linha))
        when = WriteOnlyCell(sheet, value=row[4])
        when.number_format = "DD/MM/YYYY HH:MM:SS"
        value = WriteOnlyCell(sheet, value=row[10])
        value.number_format = "#,##0.00"
        row[4], row[10] = when, value
        sheet.append(row)
    totals = []
    for content in _totals(resumo):
        cell = WriteOnlyCell(sheet, value=content)
        cell.font = bold
        totals.append(cell)
    totals[VALUE_COLUMN].number_format = "#,##0.00"
    sheet.append(totals)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
