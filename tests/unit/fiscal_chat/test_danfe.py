"""DANFE/DANFCE PDFs printed from the XML by BrazilFiscalReport, watermarked when cancelled."""

from __future__ import annotations

import base64
import gc
import io
import json
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from typing import Any

import pytest
from barcode.codex import Code128  # type: ignore[import-untyped]
from brazilfiscalreport.danfe import Danfe  # type: ignore[import-untyped]
from fpdf import FPDF
from pypdf import PdfReader

from domain.fiscal import Modelo
from domain.fiscal.danfe import DanfeError, render_danfe
from tests.fixtures_manifest import fixtures_dir, load_manifest
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


# brazilfiscalreport called plainly, in an interpreter that never imports this project (so
# nothing of domain/fiscal/danfe.py is in it): each note's PDF, or "" where it raised.
_PLAIN_LIBRARY = """
import base64, json, sys
from datetime import datetime
from brazilfiscalreport.danfce import Danfce, DanfceConfig
from brazilfiscalreport.danfe import Danfe, DanfeConfig
out = []
for note in json.load(sys.stdin):
    xml, when = base64.b64decode(note["xml"]).decode(), datetime.fromisoformat(note["when"])
    try:
        if note["nfce"]:
            pdf = Danfce(xml, DanfceConfig(watermark_cancelled=note["cancelada"]))
        else:
            pdf = Danfe(xml, DanfeConfig(watermark_cancelled=note["cancelada"]))
        pdf.set_creation_date(when)
        out.append(base64.b64encode(bytes(pdf.output())).decode())
    except Exception:
        out.append("")
json.dump(out, sys.stdout)
"""


def plain_library(notes: list[tuple[bytes, Modelo, bool]]) -> list[bytes | None]:
    payload = [
        {
            "xml": base64.b64encode(xml).decode(),
            "nfce": modelo is Modelo.NFCE,
            "cancelada": cancelada,
            "when": PINNED.isoformat(),
        }
        for xml, modelo, cancelada in notes
    ]
    done = subprocess.run(
        [sys.executable, "-c", _PLAIN_LIBRARY],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        check=True,
        cwd=tempfile.gettempdir(),  # not the repository: only the installed library
    )
    return [base64.b64decode(pdf) if pdf else None for pdf in json.loads(done.stdout)]


def ours(notes: list[tuple[bytes, Modelo, bool]]) -> list[bytes | None]:
    pdfs: list[bytes | None] = []
    for xml, modelo, cancelada in notes:
        try:
            pdfs.append(render_danfe(xml, modelo, cancelada=cancelada, gerado_em=PINNED))
        except DanfeError:
            pdfs.append(None)
    return pdfs


def test_the_pdfs_are_the_librarys_own_byte_for_byte_in_both_layouts() -> None:
    notes = [
        *((nfe_proc_xml(spec), Modelo.NFE, False) for spec in month_specs(8, month=10)),
        *((nfe_proc_xml(spec), Modelo.NFE, False) for spec in month_specs(8, month=12)),
        *((nfe_proc_xml(spec), Modelo.NFE, True) for spec in month_specs(2, month=10, seed=3)),
        *((nfe_proc_xml(spec), Modelo.NFE, True) for spec in month_specs(2, month=12, seed=3)),
        *((nfe_proc_xml(spec), Modelo.NFCE, False) for spec in month_specs(2, modelo="65")),
    ]
    assert b"<dhEmi>2026-10" in notes[0][0]  # printed in the MOC 7.0 layout
    assert b"<dhEmi>2026-12" in notes[8][0]  # in the NT 2026.010 one

    expected = plain_library(notes)

    assert None not in expected
    assert ours(notes) == expected


def test_the_real_fixtures_print_as_the_library_prints_them() -> None:
    folder = fixtures_dir()
    if not (folder / "MANIFEST.tsv").is_file():
        pytest.skip(f"real fiscal files not found at {folder} (set FIXTURES_DIR)")
    notes = [
        ((folder / entry.file).read_bytes(), Modelo(entry.model), False)
        for entry in load_manifest(folder).values()
        if entry.root in {"nfeProc", "NFe"} and entry.model in {"55", "65"}
    ]
    notes += [(xml, modelo, True) for xml, modelo, _ in notes[:3]]

    expected = plain_library(notes)

    assert sum(pdf is not None for pdf in expected) >= 20  # most of them print
    assert ours(notes) == expected  # and the others fail here too


def test_the_barcode_is_written_and_drawn_once_a_page_not_in_the_measuring_passes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    drawn: list[object] = []
    written: list[object] = []
    draw_path, write = FPDF.draw_path, Code128.write

    def counting(self: FPDF, *args: Any, **kwargs: Any) -> Any:
        drawn.append(self)
        return draw_path(self, *args, **kwargs)

    def writing(self: Code128, *args: Any, **kwargs: Any) -> Any:
        written.append(self)
        return write(self, *args, **kwargs)

    monkeypatch.setattr(FPDF, "draw_path", counting)
    monkeypatch.setattr(Code128, "write", writing)
    for month in (10, 12):  # MOC 7.0, NT 2026.010
        drawn.clear()
        written.clear()
        xml = nfe_proc_xml(month_specs(1, month=month)[0])
        Danfe(xml.decode()).output()
        # the library alone: twice measuring, once on the page
        assert (len(written), len(drawn)) == (3, 3)

        drawn.clear()
        written.clear()
        pdf = render_danfe(xml, Modelo.NFE, cancelada=False, gerado_em=PINNED)
        assert len(PdfReader(io.BytesIO(pdf)).pages) == 1
        assert (len(written), len(drawn)) == (1, 1)


@pytest.mark.parametrize("enabled", [True, False])
def test_the_garbage_collector_is_left_as_it_was_found(enabled: bool) -> None:
    xml = nfe_proc_xml(month_specs(1)[0])
    was = gc.isenabled()
    try:
        (gc.enable if enabled else gc.disable)()
        render_danfe(xml, Modelo.NFE, cancelada=False, gerado_em=PINNED)
        assert gc.isenabled() is enabled
        with pytest.raises(DanfeError):
            render_danfe(b"<nfeProc/>", Modelo.NFE, cancelada=False, gerado_em=PINNED)
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()
