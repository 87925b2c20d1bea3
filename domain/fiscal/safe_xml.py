"""Loading untrusted XML bytes: size cap first, no DTD, no entities, no network.

Every failure is a `FiscalDocumentError` with a pt-BR message, chained to the lxml error.
A UTF-8 byte order mark and blank lines before `<?xml` (Windows editors and some ERPs write
them) are dropped before parsing; anything else in front of the declaration is still an error.
"""

from __future__ import annotations

import re

from lxml import etree

from domain.fiscal.errors import (
    DangerousXmlError,
    DocumentTooLargeError,
    MalformedXmlError,
    XmlEncodingError,
)

MAX_XML_BYTES = 5 * 1024 * 1024
UTF8_BOM = b"\xef\xbb\xbf"
_LEADING = b" \t\r\n"
_DECLARED_ENCODING = re.compile(rb"""<\?xml[^>]*?\bencoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")
_UTF8_NAMES = frozenset({"utf-8", "utf8"})


def load_xml(data: bytes, max_bytes: int = MAX_XML_BYTES) -> etree._Element:
    """The root element of `data`, or the reason it cannot be read safely."""
    if len(data) > max_bytes:
        raise DocumentTooLargeError(len(data), max_bytes)
    data = _strip_leading(data)
    if not data or data.isspace():
        raise MalformedXmlError("O arquivo está vazio: envie o XML da nota.")
    if data.startswith(b"%PDF"):
        raise MalformedXmlError(
            "O arquivo é um PDF (talvez o DANFE), não um XML. Envie o arquivo .xml da nota, "
            "que o emissor gera junto com o DANFE."
        )
    if data.startswith(b"PK\x03\x04"):
        raise MalformedXmlError(
            "O arquivo é um ZIP, não um XML: extraia os XMLs ou envie o ZIP como lote."
        )
    if _declares_dtd(data):
        raise DangerousXmlError()
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        remove_comments=True,
        load_dtd=False,
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        if "amplification" in str(exc):  # libxml2's own entity-bomb guard
            raise DangerousXmlError() from exc
        encoding_error = _encoding_error(data)
        if encoding_error is not None:
            raise encoding_error from exc
        raise MalformedXmlError(
            f"O arquivo não é um XML de NF-e válido (erro na linha {exc.lineno}: o conteúdo está "
            "cortado ou não é XML). Baixe de novo o XML original no emissor."
        ) from exc
    except (etree.LxmlError, ValueError) as exc:
        raise MalformedXmlError(
            "O arquivo não é um XML de NF-e legível. Baixe de novo o XML original no emissor."
        ) from exc
    # Should an encoding slip past the byte scan, the parsed tree is the authority.
    if root.getroottree().docinfo.internalDTD is not None:
        raise DangerousXmlError()
    return root


def _is_wide(data: bytes) -> bool:
    """UTF-16/32: a byte order mark of theirs, or NUL bytes where `<` or `<?xml` starts."""
    return data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data[:4]


def _strip_leading(data: bytes) -> bytes:
    """Without a UTF-8 byte order mark and the whitespace around it (UTF-16/32 untouched)."""
    if _is_wide(data):
        return data
    while True:
        stripped = data.lstrip(_LEADING).removeprefix(UTF8_BOM)
        if stripped == data:
            return data
        data = stripped


def _encoding_error(data: bytes) -> XmlEncodingError | None:
    """Why the parser failed, when it is bytes that are not UTF-8 in a file read as UTF-8.

    Only for a file that declares UTF-8 or nothing (UTF-8 is then the rule); a file declaring
    ISO-8859-1 is read as such by the parser and never gets here for its accents.
    """
    if _is_wide(data):
        return None
    declared = _DECLARED_ENCODING.match(data)
    name = declared.group(1).decode("ascii").lower() if declared else None
    if name is not None and name not in _UTF8_NAMES:
        return None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return XmlEncodingError(line, declared=name is not None)
    return None


def _declares_dtd(data: bytes) -> bool:
    """A DOCTYPE or ENTITY declaration, in UTF-8/ASCII or (NUL bytes present) UTF-16/32."""
    codecs: tuple[str, ...] = ("ascii", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")
    if b"\x00" not in data[:4]:
        codecs = codecs[:1]
    return any(
        marker.encode(codec) in data for codec in codecs for marker in ("<!DOCTYPE", "<!ENTITY")
    )
