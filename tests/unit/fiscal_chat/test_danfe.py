"""DANFE/DANFCE PDFs printed from the XML by BrazilFiscalReport, watermarked when cancelled."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from pypdf import PdfReader

from domain.fiscal import Modelo
from domain.fiscal.danfe import DanfeError, render_danfe
from tests.unit.fiscal_chat.factory import month_specs, nfe_proc_xml

PINNED = datetime(2026, 11, 3, 13, 30, tzinfo=UTC)


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_an_nfe_prints_as_a_danfe_with_its_key_and_total() -> None:
    spec = month_specs(1)[0]

    pdf = render_danfe(nfe_proc_xml(spec), Modelo.NFE, cancelada=False, gerado_em=PINNED)

    text = text_of(pdf)
    assert "DANFE" in text
    assert " ".join(spec.chave()[i : i + 4] for i in range(0, 44, 4)) in text
    assert "CANCELADA" not in text
    assert PdfReader(io.BytesIO(pdf)).metadata.creation_date == PINNED  # type: ignore[union-attr]


def test_a_cancelled_nfe_carries_the_watermark() -> None:
    spec = month_specs(1)[0]

    pdf = render_danfe(nfe_proc_xml(spec), Modelo.NFE, cancelada=True, gerado_em=PINNED)

    assert "CANCELADA" in text_of(pdf)


@pytest.mark.parametrize("cancelada", [False, True])
def test_an_nfce_prints_as_a_danfce(cancelada: bool) -> None:
    spec = month_specs(1, modelo="65")[0]

    pdf = render_danfe(nfe_proc_xml(spec), Modelo.NFCE, cancelada=cancelada, gerado_em=PINNED)

    text = text_of(pdf)
    assert "DANFE NFC-e - Documento Auxiliar da Nota Fiscal de" in text
    assert "VALOR TOTAL R$: " + f"{spec.v_nf:,.2f}".translate(str.maketrans(",.", ".,")) in text
    assert ("CANCELADA" in text) is cancelada


def test_an_xml_the_printer_cannot_read_raises_the_projects_error() -> None:
    with pytest.raises(DanfeError) as caught:
        render_danfe(b"<nfeProc/>", Modelo.NFE, cancelada=False, gerado_em=PINNED)
    assert caught.value.message == (
        "Não foi possível gerar o DANFE desta nota: o XML não tem todos os campos que a "
        "impressão exige."
    )


def test_the_same_xml_and_clock_give_the_same_pdf() -> None:
    xml = nfe_proc_xml(month_specs(1)[0])
    first = render_danfe(xml, Modelo.NFE, cancelada=False, gerado_em=PINNED)
    assert first == render_danfe(xml, Modelo.NFE, cancelada=False, gerado_em=PINNED)
