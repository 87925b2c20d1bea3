"""The month report: what is counted and summed (vNF of authorized notes), the chart (a PNG
checked as an image), the PDF's text, header and page numbers, and the same rows as CSV and
XLSX with their totals row — all with a pinned clock."""

from __future__ import annotations

import csv
import io
import os
import re
import time
import zipfile
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook  # type: ignore[import-untyped]
from PIL import Image
from pypdf import PdfReader

from domain.fiscal import Modelo, Situacao, parse_document
from domain.fiscal.model import NotaFiscal, Participante
from domain.fiscal.report import (
    Cabecalho,
    LinhaRelatorio,
    Resumo,
    itens_do_xml,
    participante,
    summarize,
)
from domain.fiscal.report_chart import OUTROS, cfop_split, render_report_chart
from domain.fiscal.report_pdf import render_report_pdf
from domain.fiscal.report_tables import COLUMNS, TOTAL, render_csv, render_xlsx
from tests.unit.fiscal_chat.factory import NotaSpec, month_specs, nfe_proc_xml

GOLDEN = Path(__file__).parent / "golden" / "report_2026-10_nfe.txt"
PINNED = datetime(2026, 11, 3, 13, 30, tzinfo=UTC)
CABECALHO = Cabecalho(
    cliente="ACME Comércio Ltda",
    documento="11222333000181",
    competencia="2026-10",
    modelo=Modelo.NFE,
    gerado_em=PINNED,
)


def linha(spec: NotaSpec, situacao: Situacao = Situacao.AUTORIZADA) -> LinhaRelatorio:
    nota = parse_document(nfe_proc_xml(spec))
    assert isinstance(nota, NotaFiscal)
    return LinhaRelatorio.from_nota(nota, situacao)


def fixed_rows() -> list[LinhaRelatorio]:
    """Three notes with known values: the second cancelled, the third with freight."""
    base = datetime(2026, 10, 5, 10, 0, tzinfo=timezone(timedelta(hours=-3)))
    specs = [
        NotaSpec(1, base, itens=(("5102", Decimal("100.00")), ("5405", Decimal("50.00")))),
        NotaSpec(2, base.replace(day=6), itens=(("5102", Decimal("999.99")),), cnf=22222222),
        NotaSpec(
            3,
            base.replace(day=31, hour=20),  # shown in the note's own offset
            itens=(("6102", Decimal("1000.00")),),
            frete=Decimal("15.00"),
            cnf=33333333,
        ),
    ]
    return [linha(specs[0]), linha(specs[1], Situacao.CANCELADA), linha(specs[2])]


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def colours(data: bytes) -> dict[object, int]:
    """How many pixels of each colour (an RGB tuple) the PNG has."""
    image = Image.open(io.BytesIO(data)).convert("RGB")
    width, height = image.size
    counted = image.getcolors(maxcolors=width * height)
    assert counted is not None
    return {colour: count for count, colour in counted}


def many_cfops() -> list[LinhaRelatorio]:
    """One authorized note with nine CFOPs of decreasing value."""
    base = datetime(2026, 10, 12, 9, 0, tzinfo=timezone(timedelta(hours=-3)))
    itens = tuple((f"51{n:02d}", Decimal(1000 - n * 100)) for n in range(9))
    return [linha(NotaSpec(7, base, itens=itens, cnf=77777777))]


def test_the_summary_sums_vnf_of_authorized_notes_only_and_vprod_by_cfop() -> None:
    resumo = summarize(fixed_rows())

    assert resumo.contagem == {Situacao.AUTORIZADA: 2, Situacao.CANCELADA: 1}
    assert resumo.total_autorizadas == Decimal("1165.00")  # 150.00 + 1015.00 (vNF with freight)
    assert [(t.cfop, t.itens, t.v_prod) for t in resumo.por_cfop] == [
        ("5102", 1, Decimal("100.00")),
        ("5405", 1, Decimal("50.00")),
        ("6102", 1, Decimal("1000.00")),
    ]
    assert resumo.total_cfop == Decimal("1150.00")
    assert [c.numero for c in resumo.canceladas] == [2]
    days = dict(resumo.por_dia(date(2026, 10, 1), date(2026, 10, 31)))
    assert days[date(2026, 10, 5)] == Decimal("150.00")
    assert days[date(2026, 10, 31)] == Decimal("1015.00")
    assert days[date(2026, 10, 6)] == Decimal("0.00")
    assert len(days) == 31


def test_tally_passes_the_rows_on_one_by_one_and_sums_them_as_summarize_does() -> None:
    """The report job and the pacote read the month once through tally: each row reaches the
    table as it is added (the callback, their progress or lease, after each), same totals."""
    rows = fixed_rows()
    seen: list[tuple[str, int, int]] = []
    resumo = Resumo()

    def each(n: int) -> None:
        seen.append(("each", n, resumo.total_notas))

    for linha in resumo.tally(iter(rows), each):
        seen.append(("row", linha.numero, resumo.total_notas))

    assert seen == [
        ("each", 1, 1), ("row", 1, 1),
        ("each", 2, 2), ("row", 2, 2),
        ("each", 3, 3), ("row", 3, 3),
    ]  # fmt: skip
    expected = summarize(rows)
    resumo.finished()
    assert resumo.contagem == expected.contagem
    assert resumo.total_autorizadas == expected.total_autorizadas
    assert resumo.por_cfop == expected.por_cfop
    assert resumo.canceladas == expected.canceladas


def test_the_pdf_text_matches_the_golden_file() -> None:
    text = pdf_text(render_report_pdf(CABECALHO, fixed_rows()))
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_text(text, encoding="utf-8")
    assert text == GOLDEN.read_text(encoding="utf-8")


def test_the_pdf_names_the_client_the_period_and_which_total_is_used() -> None:
    text = pdf_text(render_report_pdf(CABECALHO, fixed_rows()))

    assert "Cliente: ACME Comércio Ltda — CNPJ 11.222.333/0001-81" in text
    assert "Período: 01/10/2026 a 31/10/2026 (competência 10/2026)" in text
    assert "Gerado em 03/11/2026 10:30 (horário de Brasília)" in text
    assert "Total (vNF): R$ 1.165,00" in text
    assert "Notas canceladas (1)" in text
    assert "Valor por dia (vNF das notas autorizadas)" in text


def test_the_pdf_is_the_same_for_the_same_clock() -> None:
    first = render_report_pdf(CABECALHO, fixed_rows())
    second = render_report_pdf(CABECALHO, fixed_rows())
    assert first == second
    assert PdfReader(io.BytesIO(first)).metadata.creation_date == PINNED  # type: ignore[union-attr]


def test_a_month_without_authorized_notes_still_renders_and_says_so() -> None:
    cancelled = [linha(month_specs(1)[0], Situacao.CANCELADA)]
    text = pdf_text(render_report_pdf(CABECALHO, cancelled))
    assert "Nenhuma nota autorizada no período." in text
    assert "Total (vNF): R$ 0,00" in text


def test_many_cancelled_notes_continue_on_more_pages_with_the_heading() -> None:
    rows = [linha(spec, Situacao.CANCELADA) for spec in month_specs(120)]
    reader = PdfReader(io.BytesIO(render_report_pdf(CABECALHO, rows)))
    assert len(reader.pages) >= 3
    assert "Chave de acesso" in reader.pages[-1].extract_text()


def test_the_csv_has_one_line_per_note_with_a_decimal_comma() -> None:
    data = render_csv(fixed_rows())

    assert data.startswith(b"\xef\xbb\xbf")  # BOM: Excel opens the accents right
    lines = data.decode("utf-8-sig").splitlines()
    assert lines[0] == ";".join(COLUMNS)
    assert len(lines) == 5  # header, three notes, TOTAL
    third = lines[3].split(";")
    assert third[1:5] == ["NF-e", "1", "3", "31/10/2026 20:00:00"]
    assert third[9:] == ["Autorizada", "1015,00", "6102"]
    assert lines[2].split(";")[9] == "Cancelada"


def test_the_xlsx_has_the_same_rows_with_numbers_and_dates() -> None:
    data = render_xlsx(CABECALHO, fixed_rows())

    sheet = load_workbook(io.BytesIO(data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == COLUMNS
    assert len(rows) == 5  # header, three notes, TOTAL
    assert rows[3][4] == datetime(2026, 10, 31, 20, 0)  # noqa: DTZ001 - a spreadsheet date
    assert rows[3][10] == pytest.approx(1015.0)
    assert rows[3][9] == "Autorizada"
    assert sheet.title == "NF-e 2026-10"


def test_the_xlsx_is_the_same_bytes_whatever_the_clock_says(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = render_xlsx(CABECALHO, fixed_rows())
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 3 * 86400 + 3601)  # (what zipfile reads)
    second = render_xlsx(CABECALHO, fixed_rows())

    assert second == first
    generated = (2026, 11, 3, 10, 30, 0)  # PINNED in São Paulo, as the sheet shows it
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        assert "xl/worksheets/sheet1.xml" in archive.namelist()
        assert {member.date_time for member in archive.infolist()} == {generated}
    properties = load_workbook(io.BytesIO(first)).properties
    assert properties.created == properties.modified == datetime(*generated)  # noqa: DTZ001
    other = render_xlsx(replace(CABECALHO, gerado_em=PINNED + timedelta(days=1)), fixed_rows())
    assert other != first


def test_the_items_read_from_a_stored_xml_are_the_parsers_items() -> None:
    spec = month_specs(5)[4]
    xml = nfe_proc_xml(spec)
    nota = parse_document(xml)
    assert isinstance(nota, NotaFiscal)

    itens = itens_do_xml(xml)

    assert [(i.cfop, i.v_prod) for i in itens] == [(i.cfop, i.v_prod) for i in nota.itens]
    assert [(i.cfop, i.v_prod) for i in itens] == list(spec.itens)


def test_a_stored_party_becomes_cnpj_or_cpf_by_its_length() -> None:
    assert participante("11222333000181", "ACME") == Participante(
        cnpj="11222333000181", x_nome="ACME"
    )
    assert participante("12345678909", None) == Participante(cpf="12345678909")
    assert participante(None, None) is None


# -- the chart -------------------------------------------------------------------------------


def test_the_chart_is_a_modest_png_of_1200_by_800() -> None:
    data = render_report_chart(CABECALHO, summarize(fixed_rows()))

    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(data) < 200_000
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    assert image.size == (1200, 800)


def test_the_chart_is_not_blank_and_draws_its_bars() -> None:
    counted = colours(render_report_chart(CABECALHO, summarize(fixed_rows())))

    assert len(counted) > 50  # text antialiasing, bars, grid: far more than a blank canvas
    painted = sum(n for colour, n in counted.items() if colour != (255, 255, 255))
    assert painted > 1200 * 800 * 0.03
    # The bars are drawn in the PDF's blue (the day of the peak in a darker one).
    assert counted[(0x29, 0x62, 0x9B)] > 1000
    assert counted[(0x1B, 0x3F, 0x66)] > 1000


def test_the_chart_is_the_same_bytes_for_the_same_data_and_changes_with_it() -> None:
    first = render_report_chart(CABECALHO, summarize(fixed_rows()))
    second = render_report_chart(CABECALHO, summarize(fixed_rows()))
    other = render_report_chart(CABECALHO, summarize(fixed_rows()[:1]))

    assert first == second
    assert first != other
    assert b"Matplotlib" not in first  # no software version in the file's metadata


def test_a_month_without_authorized_notes_still_renders_a_chart() -> None:
    cancelled = [linha(month_specs(1)[0], Situacao.CANCELADA)]
    data = render_report_chart(CABECALHO, summarize(cancelled))

    assert Image.open(io.BytesIO(data)).size == (1200, 800)
    counted = colours(data)
    assert len(counted) > 20  # the titles and the "Nenhuma nota autorizada" text
    assert (0x29, 0x62, 0x9B) not in counted  # and no bar at all


def test_the_cfop_split_keeps_the_largest_and_puts_the_rest_in_outros() -> None:
    resumo = summarize(many_cfops())

    split = cfop_split(resumo)

    assert [fatia.rotulo for fatia in split] == [f"51{n:02d}" for n in range(6)] + [OUTROS]
    assert split[-1].v_prod == Decimal(400 + 300 + 200)  # 5106, 5107 and 5108
    assert sum((fatia.v_prod for fatia in split), Decimal(0)) == resumo.total_cfop
    assert [f.rotulo for f in cfop_split(summarize(fixed_rows()))] == ["6102", "5102", "5405"]


def test_the_chart_runs_on_several_threads_at_once() -> None:
    """A server renders reports on worker threads: no shared pyplot state between them."""
    from concurrent.futures import ThreadPoolExecutor

    resumos = [summarize(fixed_rows()), summarize(many_cfops())] * 3
    with ThreadPoolExecutor(max_workers=3) as pool:
        charts = list(pool.map(lambda r: render_report_chart(CABECALHO, r), resumos))

    assert charts[0::2] == [charts[0]] * 3
    assert charts[1::2] == [charts[1]] * 3


# -- the PDF's pages -------------------------------------------------------------------------


HEADER = "ACME Comércio Ltda — CNPJ 11.222.333/0001-81 — NF-e — competência 10/2026"


def test_every_page_has_the_header_and_its_number_of_the_total() -> None:
    rows = [*fixed_rows(), *(linha(spec, Situacao.CANCELADA) for spec in month_specs(120))]
    reader = PdfReader(io.BytesIO(render_report_pdf(CABECALHO, rows)))
    pages = [page.extract_text() for page in reader.pages]

    assert len(pages) >= 3
    for number, text in enumerate(pages, start=1):
        assert text.startswith(HEADER + "\n"), number
        assert text.rstrip().endswith(f"Página {number} de {len(pages)}")
        assert len(re.findall(r"Página \d+ de \d+", text)) == 1


def test_the_pdf_embeds_the_chart_image() -> None:
    chart = render_report_chart(CABECALHO, summarize(fixed_rows()))
    reader = PdfReader(io.BytesIO(render_report_pdf(CABECALHO, fixed_rows(), chart=chart)))

    [embedded] = reader.pages[0].images
    assert embedded.image is not None
    assert embedded.image.size == (1200, 800)
    # drawn here when not handed over: the same picture
    alone = PdfReader(io.BytesIO(render_report_pdf(CABECALHO, fixed_rows())))
    assert alone.pages[0].images[0].data == embedded.data


def test_a_pdf_without_authorized_notes_has_no_chart_image() -> None:
    cancelled = [linha(month_specs(1)[0], Situacao.CANCELADA)]
    reader = PdfReader(io.BytesIO(render_report_pdf(CABECALHO, cancelled)))

    assert all(not page.images for page in reader.pages)


# -- the totals row of the tables --------------------------------------------------------------


def test_the_csv_ends_with_a_total_line_that_programs_can_tell_apart() -> None:
    text = render_csv(fixed_rows()).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))

    *notes, total = rows[1:]
    assert [row[0] for row in notes] == [linha.chave for linha in fixed_rows()]
    assert total[0] == TOTAL
    assert len(total) == len(COLUMNS)
    assert total[6] == "3 notas, 1 cancelada"
    assert total[9] == "Soma do vNF das notas autorizadas (2)"
    assert total[10] == "1165,00"  # 150,00 + 1.015,00: the cancelled 999,99 is not in it
    # one line per note, then TOTAL: a reader skipping that first cell gets the notes only
    assert [row for row in rows[1:] if row[0] != TOTAL] == notes


def test_the_xlsx_ends_with_the_same_totals_row_with_a_number() -> None:
    sheet = load_workbook(io.BytesIO(render_xlsx(CABECALHO, fixed_rows()))).active
    rows = list(sheet.iter_rows())

    total = rows[-1]
    assert total[0].value == TOTAL
    assert total[0].font.bold
    assert total[6].value == "3 notas, 1 cancelada"
    assert total[9].value == "Soma do vNF das notas autorizadas (2)"
    assert total[10].value == pytest.approx(1165.0)
    assert total[10].number_format == "#,##0.00"


def test_the_totals_row_says_one_note_in_the_singular() -> None:
    text = render_csv(fixed_rows()[:1]).decode("utf-8-sig")
    total = text.splitlines()[-1].split(";")

    assert total[6] == "1 nota, 0 canceladas"
    assert total[9] == "Soma do vNF das notas autorizadas (1)"
    assert total[10] == "150,00"
