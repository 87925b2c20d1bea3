"""Loading untrusted XML bytes: size cap first, no DTD, no entities, no network.

Every failure is a `FiscalDocumentError` with a pt-BR message, chained to the lxml error.
"""

from __future__ import annotations

from lxml import etree

from domain.fiscal.errors import DangerousXmlError, DocumentTooLargeError, MalformedXmlError

MAX_XML_BYTES = 5 * 1024 * 1024


def load_xml(data: bytes, max_bytes: int = MAX_XML_BYTES) -> etree._Element:
    """The root element of `data`, or the reason it cannot be read safely."""
    if len(data) > max_bytes:
        raise DocumentTooLargeError(len(data), max_bytes)
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


def _declares_dtd(data: bytes) -> bool:
    """A DOCTYPE or ENTITY declaration, in UTF-8/ASCII or (NUL bytes present) UTF-16/32."""
    codecs: tuple[str, ...] = ("ascii", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")
    if b"\x00" not in data[:4]:
        codecs = codecs[:1]
    return any(
        marker.encode(codec) in data for codec in codecs for marker in ("<!DOCTYPE", "<!ENTITY")
    )
