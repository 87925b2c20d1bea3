"""DANFE (NF-e, model 55) and DANFCE (NFC-e, model 65) PDFs from the authorized XML, printed
by BrazilFiscalReport; a cancelled note carries its "CANCELADA" watermark.

The PDF is the library's own, byte for byte (tests/unit/fiscal_chat/test_danfe.py compares
with brazilfiscalreport called plainly in a separate interpreter); what it would do for
nothing is left out, and three of fpdf2's hot paths take less work (together a DANFE costs
about two thirds of the library's CPU; benchmarks/danfe.py has the profile):
- fpdf2 measures a block by drawing it with output switched off, and the DANFE's header is
  measured twice before it is drawn: each time the access key's Code 128 was written as SVG
  (python-barcode), the SVG parsed and its bars built as paths, then thrown away.
  `_WithoutMeasuredBarcodes` and `_code_render` skip that;
- the cyclic garbage collector ran a dozen passes during each print over objects the print
  still held (what it leaves behind is the document itself): it is held until the print is
  done, and its next pass frees the document;
- domain/fiscal/fpdf_fast.py: the width of a line being broken, the copies of fpdf2's
  graphics state and the comparison of two fragments' styles, with the same results.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from io import BytesIO
from types import MethodType
from typing import Any

from brazilfiscalreport.danfce import Danfce, DanfceConfig  # type: ignore[import-untyped]
from brazilfiscalreport.danfe import Danfe, DanfeConfig, DanfeLayout  # type: ignore[import-untyped]
from brazilfiscalreport.danfe.danfe import resolve_layout  # type: ignore[import-untyped]
from brazilfiscalreport.danfe.danfe_code import DanfeCode  # type: ignore[import-untyped]
from brazilfiscalreport.danfe.danfe_moc_7_0 import DanfeMoc70  # type: ignore[import-untyped]
from brazilfiscalreport.danfe.danfe_nt_2026_010 import (  # type: ignore[import-untyped]
    DanfeNt2026010,
)
from fpdf import FPDF
from fpdf.image_datastructures import VectorImageInfo

from domain.fiscal import fpdf_fast
from domain.fiscal.errors import FiscalDocumentError
from domain.fiscal.model import Modelo

fpdf_fast.install()


class DanfeError(FiscalDocumentError):
    """The library could not print this XML (a field it needs is missing or malformed)."""


def render_danfe(xml: bytes, modelo: Modelo, *, cancelada: bool, gerado_em: datetime) -> bytes:
    """The PDF of one note; `gerado_em` is written as the PDF's creation date (the clock)."""
    text = xml.decode("utf-8")
    try:
        with _collector_held():
            pdf: FPDF
            if modelo is Modelo.NFCE:
                pdf = Danfce(text, DanfceConfig(watermark_cancelled=cancelada))
            else:
                pdf = _danfe(text, DanfeConfig(watermark_cancelled=cancelada))
            pdf.set_creation_date(gerado_em)
            return bytes(pdf.output())
    except Exception as exc:  # a third-party printer: any failure means "this XML, not printed"
        raise DanfeError(
            f"Não foi possível gerar o {'DANFCE' if modelo is Modelo.NFCE else 'DANFE'} "
            "desta nota: o XML não tem todos os campos que a impressão exige."
        ) from exc


def danfe_name(modelo: Modelo) -> str:
    return "DANFCE" if modelo is Modelo.NFCE else "DANFE"


class _WithoutMeasuredBarcodes:
    """Mixed into the library's DANFE layouts: an SVG drawn while fpdf2 measures (writing
    switched off by `FPDF._disable_writing`, which puts a no-op in place of the `_out`
    method, the test fpdf2 itself uses) is not built, since nothing of it would be kept.
    Only an SVG placed at a given x and y, like the barcode: it neither moves the cursor nor
    adds a resource to the page, so the measured heights and the PDF are the same. Raster
    images (logo, QR code) go through as ever: fpdf2 numbers them as it first meets them."""

    def image(self, name: Any, x: Any = None, y: Any = None, w: float = 0, h: float = 0,
              *args: Any, **kwargs: Any) -> Any:  # fmt: skip
        if x is not None and y is not None and _measuring(self) and _is_svg(name):
            return VectorImageInfo(rendered_width=w, rendered_height=h)
        return super().image(name, x, y, w, h, *args, **kwargs)  # type: ignore[misc]


def _measuring(pdf: object) -> bool:
    return not isinstance(getattr(pdf, "_out", None), MethodType)


def _is_svg(name: object) -> bool:
    return isinstance(name, BytesIO) and name.getvalue()[:256].lstrip().startswith(
        (b"<?xml", b"<svg")
    )


_LIBRARY_CODE_RENDER = DanfeCode.render


def _code_render(self: Any) -> None:
    """The access key's barcode block (`DanfeCode.render`) in one of the layouts below: while
    fpdf2 measures, only its box is drawn, as the library does first; the Code 128 it would
    then write as SVG would reach `_WithoutMeasuredBarcodes.image` only to be dropped."""
    if isinstance(self.pdf, _WithoutMeasuredBarcodes) and _measuring(self.pdf):
        super(DanfeCode, self).render()
        return
    _LIBRARY_CODE_RENDER(self)


DanfeCode.render = _code_render


class _Moc70(_WithoutMeasuredBarcodes, DanfeMoc70):
    pass


class _Nt2026010(_WithoutMeasuredBarcodes, DanfeNt2026010):
    pass


_LAYOUTS: dict[object, Callable[..., FPDF]] = {
    DanfeLayout.MOC_7_0: _Moc70,
    DanfeLayout.NT_2026_010: _Nt2026010,
}


def _danfe(text: str, config: Any) -> FPDF:
    """What `Danfe(text, config)` returns (the layout in force on the note's issue date), in
    the subclass above; a layout this module does not know is printed by `Danfe` itself."""
    layout = _LAYOUTS.get(resolve_layout(text, config.layout))
    return layout(text, config=config) if layout is not None else Danfe(text, config)


@contextmanager
def _collector_held() -> Iterator[None]:
    """No cyclic-collector pass during one print (a dozen otherwise, ≈ 5–8% of its CPU);
    the next pass after it frees the printed document. Left as found: disabled stays so.
    Process-wide, so another thread's garbage waits a print's time too (a tenth of a
    second), which does no harm."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
