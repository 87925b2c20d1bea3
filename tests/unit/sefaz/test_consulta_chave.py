"""The access key from what a person sends: typed with separators, or read from a photo of a
DANFE (Code 128) or DANFCE (QR code) that brazilfiscalreport printed and pypdfium2 rasterized."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pypdfium2
import pytest
from PIL import Image

from domain.fiscal import FiscalDocumentError, InvalidKeyError, Modelo
from domain.fiscal.consulta import FOTO_SEM_CHAVE, chave_da_foto, chave_digitada
from domain.fiscal.danfe import render_danfe
from tests.unit.fiscal_chat.factory import NotaSpec, nfe_proc_xml

SPEC = NotaSpec(numero=42, dh_emi=datetime(2026, 10, 15, 10, 30, tzinfo=UTC))
NFCE = NotaSpec(
    numero=43, dh_emi=datetime(2026, 10, 15, 10, 30, tzinfo=UTC), modelo="65", dest_cnpj=None
)


def photo(spec: NotaSpec, modelo: Modelo, fmt: str = "JPEG") -> bytes:
    """The first page of the note's DANFE at about 216 dpi, saved as a phone would."""
    pdf = render_danfe(
        nfe_proc_xml(spec), modelo, cancelada=False, gerado_em=datetime(2026, 12, 6, tzinfo=UTC)
    )
    image = pypdfium2.PdfDocument(pdf)[0].render(scale=3).to_pil().convert("RGB")
    out = io.BytesIO()
    image.save(out, fmt, quality=85)
    return out.getvalue()


def _grouped(chave: str, separator: str) -> str:
    return separator.join(chave[i : i + 4] for i in range(0, 44, 4))


@pytest.mark.parametrize(
    "typed",
    [
        SPEC.chave(),
        f"NFe{SPEC.chave()}",
        f"nfe {SPEC.chave()}",
        _grouped(SPEC.chave(), " "),
        _grouped(SPEC.chave(), "."),
    ],
)
def test_a_typed_key_may_carry_spaces_dots_and_the_nfe_prefix(typed: str) -> None:
    assert chave_digitada(typed).valor == SPEC.chave()


def test_a_wrong_check_digit_says_so() -> None:
    chave = SPEC.chave()
    wrong = chave[:-1] + str((int(chave[-1]) + 1) % 10)
    with pytest.raises(InvalidKeyError):
        chave_digitada(wrong)


def test_the_key_is_read_from_a_photo_of_a_danfe() -> None:
    assert chave_da_foto(photo(SPEC, Modelo.NFE)).valor == SPEC.chave()


@pytest.mark.parametrize("numero", [1, 7, 32, 555])
def test_the_key_is_read_from_a_whole_danfe_compressed_as_a_chat_photo(numero: int) -> None:
    spec = NotaSpec(numero=numero, dh_emi=datetime(2026, 10, 15, 10, 30, tzinfo=UTC))
    image = Image.open(io.BytesIO(photo(spec, Modelo.NFE)))
    image.thumbnail((1280, 1280))  # what Telegram and WhatsApp keep of a compressed photo
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    assert chave_da_foto(out.getvalue()).valor == spec.chave()


def test_the_key_is_read_from_the_qr_code_of_a_danfce() -> None:
    assert chave_da_foto(photo(NFCE, Modelo.NFCE, "PNG")).valor == NFCE.chave()


@pytest.mark.parametrize("itens", [2, 30])
def test_the_key_is_read_from_a_whole_danfce_compressed_as_a_chat_photo(itens: int) -> None:
    """A receipt is long and thin: 1280 pixels on its long side leave its QR code small (30
    items: 238 pixels wide in all)."""
    spec = replace(NFCE, itens=tuple(("5102", Decimal("10.00")) for _ in range(itens)))
    image = Image.open(io.BytesIO(photo(spec, Modelo.NFCE)))
    image.thumbnail((1280, 1280))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    assert chave_da_foto(out.getvalue()).valor == spec.chave()


def test_a_photo_without_a_barcode_says_what_to_do() -> None:
    blank = io.BytesIO()
    Image.new("RGB", (800, 600), "white").save(blank, "PNG")
    with pytest.raises(FiscalDocumentError) as refused:
        chave_da_foto(blank.getvalue())
    assert refused.value.message == FOTO_SEM_CHAVE


def test_a_file_that_is_not_an_image_is_refused_with_a_clear_message() -> None:
    with pytest.raises(FiscalDocumentError, match="não é uma imagem"):
        chave_da_foto(b"%PDF-1.4 not a photo")
