"""DANFE (NF-e, model 55) and DANFCE (NFC-e, model 65) PDFs from the authorized XML, printed
by BrazilFiscalReport; a cancelled note carries its "CANCELADA" watermark."""

from __future__ import annotations

from datetime import datetime

from brazilfiscalreport.danfce import Danfce, DanfceConfig  # type: ignore[import-untyped]
from brazilfiscalreport.danfe import Danfe, DanfeConfig  # type: ignore[import-untyped]
from fpdf import FPDF

from domain.fiscal.errors import FiscalDocumentError
from domain.fiscal.model import Modelo


class DanfeError(FiscalDocumentError):
    """The library could not print this XML (a field it needs is missing or malformed)."""


def render_danfe(xml: bytes, modelo: Modelo, *, cancelada: bool, gerado_em: datetime) -> bytes:
    """The PDF of one note; `gerado_em` is written as the PDF's creation date (the clock)."""
    text = xml.decode("utf-8")
    try:
        pdf: FPDF
        if modelo is Modelo.NFCE:
            pdf = Danfce(text, DanfceConfig(watermark_cancelled=cancelada))
        else:
            pdf = Danfe(text, DanfeConfig(watermark_cancelled=cancelada))
        pdf.set_creation_date(gerado_em)
        return bytes(pdf.output())
    except Exception as exc:  # a third-party printer: any failure means "this XML, not printed"
        raise DanfeError(
            f"Não foi possível gerar o {'DANFCE' if modelo is Modelo.NFCE else 'DANFE'} "
            "desta nota: o XML não tem todos os campos que a impressão exige."
        ) from exc


def danfe_name(modelo: Modelo) -> str:
    return "DANFCE" if modelo is Modelo.NFCE else "DANFE"
