"""What the exported files are called and what they are."""

from __future__ import annotations

import re
import unicodedata

from domain.fiscal import Modelo

ZIP_MIME = "application/zip"
PDF_MIME = "application/pdf"
CSV_MIME = "text/csv"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MODEL_TAGS = {Modelo.NFE: "NFe", Modelo.NFCE: "NFCe"}


def file_base(client_name: str, *parts: str) -> str:
    """`ACME Comércio Ltda`, `2026-10`, `NFe` → `ACME-Comercio-Ltda_2026-10_NFe`."""
    decomposed = unicodedata.normalize("NFKD", client_name)
    ascii_name = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    words = re.findall(r"[A-Za-z0-9]+", ascii_name)
    name = "-".join(words)[:40].strip("-") or "cliente"
    return "_".join([name, *parts])


def model_tag(modelo: Modelo) -> str:
    return MODEL_TAGS[modelo]
