"""The report's rows as a spreadsheet: CSV (Excel pt-BR: `;`, decimal comma, UTF-8 with BOM)
or XLSX (numbers as numbers, dates as dates)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from decimal import Decimal

from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.cell import WriteOnlyCell  # type: ignore[import-untyped]
from openpyxl.styles import Font  # type: ignore[import-untyped]

from domain.fiscal.report import SAO_PAULO, Cabecalho, LinhaRelatorio

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


def render_csv(linhas: Iterable[LinhaRelatorio]) -> bytes:
    """One line per note, the value being vNF with a decimal comma."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for linha in linhas:
        cells = list(_cells(linha))
        cells[4] = linha.dh_emi.strftime("%d/%m/%Y %H:%M:%S")
        cells[10] = _decimal_br(linha.v_nf)
        writer.writerow(cells)
    return out.getvalue().encode("utf-8-sig")


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
    for linha in linhas:
        row: list[object] = list(_cells(linha))
        when = WriteOnlyCell(sheet, value=row[4])
        when.number_format = "DD/MM/YYYY HH:MM:SS"
        value = WriteOnlyCell(sheet, value=row[10])
        value.number_format = "#,##0.00"
        row[4], row[10] = when, value
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
