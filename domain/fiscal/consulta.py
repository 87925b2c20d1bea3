"""Finding an access key in what a person sends: typed (spaces, dots, the "NFe" prefix) or in
a photo of a DANFE (the Code 128 barcode of the key) or of a DANFCE (the NFC-e QR code, whose
URL carries the key in `p=` or `chNFe=`), read with zxing-cpp."""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import zxingcpp
from PIL import Image, UnidentifiedImageError

from domain.fiscal.chave import ChaveAcesso, parse_chave
from domain.fiscal.errors import FiscalDocumentError, InvalidKeyError

MAX_PHOTO_BYTES = 15 * 1024 * 1024
MAX_PHOTO_PIXELS = 60_000_000  # a 12-megapixel phone photo is far below this
AMPLIACAO = 4
MAX_AMPLIADA_PIXELS = 40_000_000  # a 1280 × 905 chat photo enlarged 4 times is 18.5 M
_PREFIX = re.compile(r"^\s*(?:NFC?e|CFe)\s*:?\s*", re.IGNORECASE)
_SEPARATORS = re.compile(r"[\s.\-/]")
_KEY_IN_TEXT = re.compile(r"(?<!\d)(\d{44})(?!\d)")

FOTO_SEM_CHAVE = (
    "Não encontrei a chave de acesso na foto. Fotografe o código de barras do DANFE (ou o QR "
    "code do DANFCE) de perto, reto e com boa luz, ou digite os 44 números da chave."
)


def chave_digitada(texto: str) -> ChaveAcesso:
    """The key typed or pasted: "NFe3518 0834 …", with spaces, dots or dashes; or the reason."""
    return parse_chave(_SEPARATORS.sub("", _PREFIX.sub("", texto)))


def chave_da_foto(data: bytes) -> ChaveAcesso:
    """The key read from a photo of a DANFE or DANFCE, or `FiscalDocumentError` (what to do)."""
    if len(data) > MAX_PHOTO_BYTES:
        raise FiscalDocumentError("A foto é grande demais. Envie uma foto de até 15 MB.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.width * image.height > MAX_PHOTO_PIXELS:
                raise FiscalDocumentError("A imagem tem pixels demais. Envie uma foto comum.")
            image.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombWarning) as error:
        raise FiscalDocumentError(
            "O arquivo não é uma imagem que eu consiga abrir. Envie uma foto (JPG ou PNG) do "
            "DANFE ou DANFCE."
        ) from error
    gray = image.convert("L")
    for attempt in _tentativas(gray):
        for result in zxingcpp.read_barcodes(attempt[0], binarizer=attempt[1]):
            chave = _chave_no_codigo(result.text)
            if chave is not None:
                return chave
    raise FiscalDocumentError(FOTO_SEM_CHAVE)


def _tentativas(gray: Image.Image) -> Iterator[tuple[Image.Image, zxingcpp.Binarizer]]:
    """The image as sent; then, for a small one, enlarged 4 times (default binarizer, then a
    global histogram). A whole DANFE in a chat photo (Telegram and WhatsApp keep about 1280
    pixels on the long side) gives the key's Code 128 barely a pixel per module, which
    zxing-cpp reads only once enlarged (measured on rendered DANFEs: 3 times reads about half of
    them, 4 times all)."""
    yield gray, zxingcpp.Binarizer.LocalAverage
    if gray.width * gray.height * AMPLIACAO**2 > MAX_AMPLIADA_PIXELS:
        return
    big = gray.resize((gray.width * AMPLIACAO, gray.height * AMPLIACAO), Image.Resampling.LANCZOS)
    yield big, zxingcpp.Binarizer.LocalAverage
    yield big, zxingcpp.Binarizer.GlobalHistogram


def _chave_no_codigo(texto: str) -> ChaveAcesso | None:
    candidates = [texto]
    if "://" in texto or "?" in texto:
        query = parse_qs(urlsplit(texto).query)
        for name in ("p", "chNFe"):
            candidates += [value.split("|", 1)[0] for value in query.get(name, [])]
    candidates += _KEY_IN_TEXT.findall(texto)
    for candidate in candidates:
        try:
            return parse_chave(candidate)
        except InvalidKeyError:
            continue
    return None
