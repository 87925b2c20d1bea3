"""The report's rows as a spreadsheet: CSV (Excel pt-BR: `;`, decimal comma, UTF-8 with BOM)
or XLSX (numbers as numbers, dates as dates).

After the notes, one totals row whose first cell is `TOTAL` (never a 44-character key, so a
program reading one note per line skips it by that cell): how many notes and how many of them
cancelled, and the sum of vNF of the authorized notes only — its label says so, since the
value column of every other row is the note's own vNF whatever its situação.

The same rows and the same `gerado_em` give the same bytes: the workbook's dates and its ZIP
members' dates are that moment, never the clock's (openpyxl's own save stamps both with now).
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import zipfile
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import IO, Any

from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.cell import WriteOnlyCell  # type: ignore[import-untyped]
from openpyxl.styles import Font  # type: ignore[import-untyped]
from openpyxl.writer.excel import ExcelWriter  # type: ignore[import-untyped]

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
    ExcelWriter(workbook, _StampedZip(out, moment)).save()  # (closes the archive)
    return out.getvalue()


class _StampedZip(zipfile.ZipFile):
    """The archive openpyxl writes into, every member dated `moment` instead of now (a name
    given to `writestr`) or its temporary file's time (`write`, the write-only sheet)."""

    def __init__(self, out: IO[bytes], moment: datetime) -> None:
        super().__init__(out, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
        self.moment = moment.timetuple()[:6]

    def _member(self, name: str, size: int = 0) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, self.moment)
        info.compress_type = self.compression
        info.external_attr = 0o600 << 16  # (what writestr gives a name: rw for its owner)
        info.file_size = size  # (tells `open` whether the member needs ZIP64)
        return info

    def writestr(self, zinfo_or_arcname: Any, data: Any, *args: Any, **kwargs: Any) -> None:
        if isinstance(zinfo_or_arcname, str):
            zinfo_or_arcname = self._member(zinfo_or_arcname)
        super().writestr(zinfo_or_arcname, data, *args, **kwargs)

    def write(
        self,
        filename: Any,
        arcname: Any = None,
        compress_type: int | None = None,
        compresslevel: int | None = None,
    ) -> None:
        member = self._member(arcname or os.path.basename(filename), os.path.getsize(filename))
        if compress_type is not None:
            member.compress_type = compress_type
        with open(filename, "rb") as source, self.open(member, "w") as target:
            shutil.copyfileobj(source, target, 1 << 20)  # (streamed: a sheet can be large)
