"""The month report: what is counted and summed (vNF of authorized notes), the PDF's text and
chart, and the same rows as CSV and XLSX — all with a pinned clock."""

from __future__ import annotations

import io
import os
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook  # type: ignore[import-untyped]
from pypdf import PdfReader

from domain.fiscal import Modelo, Situacao, parse_document
from domain.fiscal.model import NotaFiscal, Participante
from domain.fiscal.report import (
    Cabecalho,
    LinhaRelatorio,
    itens_do_xml,
    participante,
    summarize,
)
from domain.fiscal.report_pdf import render_report_pdf
from domain.fiscal.report_tables import COLUMNS, render_csv, render_xlsx
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
    assert len(lines) == 4
    third = lines[3].split(";")
    assert third[1:5] == ["NF-e", "1", "3", "31/10/2026 20:00:00"]
    assert third[9:] == ["Autorizada", "1015,00", "6102"]
    assert lines[2].split(";")[9] == "Cancelada"


def test_the_xlsx_has_the_same_rows_with_numbers_and_dates() -> None:
    data = render_xlsx(CABECALHO, fixed_rows())

    sheet = load_workbook(io.BytesIO(data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == COLUMNS
    assert len(rows) == 4
    assert rows[3][4] == datetime(2026, 10, 31, 20, 0)  # noqa: DTZ001 - a spreadsheet date
    assert rows[3][10] == pytest.approx(1015.0)
    assert rows[3][9] == "Autorizada"
    assert sheet.title == "NF-e 2026-10"


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
