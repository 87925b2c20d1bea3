"""Optional XSD check against the official schemas shipped inside the `nfelib` wheel.

Received files often fail the XSD (layout 3.10, over-long fields, re-indented signatures) and are
still legal notes, so this only returns warnings: it never refuses a file. Without `nfelib`
installed it returns no warnings at all. Call it after `parse_document` has accepted the bytes.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

from lxml import etree

from domain.fiscal.errors import FiscalDocumentError
from domain.fiscal.fields import NFE_NS
from domain.fiscal.safe_xml import load_xml

# root element → schema file, relative to the nfelib package folder
_SCHEMAS = {
    "nfeProc": "nfe/schemas/v4_0/procNFe_v4.00.xsd",
    "NFe": "nfe/schemas/v4_0/nfe_v4.00.xsd",
    "resNFe": "nfe_dist_dfe/schemas/v1_0/resNFe_v1.01.xsd",
    "resEvento": "nfe_dist_dfe/schemas/v1_0/resEvento_v1.01.xsd",
}
# procEventoNFe: each event type has its own package in nfelib (its detEvento layout); any other
# type (110112 cancelamento por substituição, …) is checked by the generic event schema, which
# validates the envelope and leaves detEvento open.
_EVENT_SCHEMAS = {
    "110111": "nfe_evento_cancel/schemas/v1_0/procEventoCancNFe_v1.00.xsd",
    "110110": "nfe_evento_cce/schemas/v1_0/procCCeNFe_v1.00.xsd",
    **dict.fromkeys(
        ("210200", "210210", "210220", "210240"),
        "nfe_evento_mde/schemas/v1_0/procConfRecebtoNFe_v1.00.xsd",
    ),
}
_GENERIC_EVENT_SCHEMA = "nfe_evento_generico/schemas/v1_0/procEventoNFe_v1.00.xsd"
_TP_EVENTO = f"{{{NFE_NS}}}evento/{{{NFE_NS}}}infEvento/{{{NFE_NS}}}tpEvento"
_MAX_WARNINGS = 5


def xsd_warnings(data: bytes) -> tuple[str, ...]:
    """pt-BR warnings from validating `data` with nfelib's XSD; `()` when nfelib is absent."""
    folder = _nfelib_folder()
    if folder is None:
        return ()
    try:
        root = load_xml(data)
    except FiscalDocumentError as exc:
        return (f"XSD não verificado: {exc.message}",)
    return _validate(folder, root)


def xsd_warnings_of(root: etree._Element) -> tuple[str, ...]:
    """`xsd_warnings` of a tree already loaded by `safe_xml.load_xml`, before anything else
    touched it (the signature check registers its Ids): one parse for both."""
    folder = _nfelib_folder()
    return () if folder is None else _validate(folder, root)


def _validate(folder: Path, root: etree._Element) -> tuple[str, ...]:
    relative = _schema_for(root)
    if relative is None:
        qname = etree.QName(root)
        return (f"XSD não verificado: não há esquema para <{qname.localname}>.",)
    schema = _schema(str(folder / relative))
    if schema is None:
        return (f"XSD não verificado: o esquema {relative} não está no nfelib instalado.",)
    if schema.validate(root):
        return ()
    errors = list(cast("Iterable[Any]", schema.error_log))[:_MAX_WARNINGS]
    return tuple(f"XSD (linha {error.line}): {error.message}" for error in errors)


def _schema_for(root: etree._Element) -> str | None:
    """The schema file of this document (by root element, and by event type for events)."""
    qname = etree.QName(root)
    if qname.namespace != NFE_NS:
        return None
    if qname.localname == "procEventoNFe":
        tp_evento = root.findtext(_TP_EVENTO)
        return _EVENT_SCHEMAS.get((tp_evento or "").strip(), _GENERIC_EVENT_SCHEMA)
    return _SCHEMAS.get(qname.localname)


def _nfelib_folder() -> Path | None:
    spec = importlib.util.find_spec("nfelib")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


@lru_cache(maxsize=16)
def _schema(path: str) -> etree.XMLSchema | None:
    if not Path(path).is_file():
        return None
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    try:
        return etree.XMLSchema(etree.parse(path, parser))
    except (etree.XMLSchemaParseError, etree.XMLSyntaxError):
        return None
