"""Fiscal documents (NF-e model 55, NFC-e model 65): reading their XML, the key, the situação."""

from domain.fiscal.chave import ChaveAcesso, digito_verificador, parse_chave
from domain.fiscal.errors import (
    DangerousXmlError,
    DocumentTooLargeError,
    FiscalDocumentError,
    InvalidFieldError,
    InvalidKeyError,
    KeyMismatchError,
    MalformedXmlError,
    UnsupportedDocumentError,
    WrongNamespaceError,
    XmlEncodingError,
)
from domain.fiscal.fields import NFE_NS
from domain.fiscal.model import (
    Ambiente,
    DocumentoFiscal,
    Evento,
    EventoFiscal,
    Item,
    Modelo,
    NotaFiscal,
    Participante,
    Protocolo,
    Situacao,
    TipoDocumento,
    derive_situacao,
)
from domain.fiscal.parser import parse_document
from domain.fiscal.safe_xml import MAX_XML_BYTES
from domain.fiscal.xsd import xsd_warnings

__all__ = [
    "MAX_XML_BYTES",
    "NFE_NS",
    "Ambiente",
    "ChaveAcesso",
    "DangerousXmlError",
    "DocumentTooLargeError",
    "DocumentoFiscal",
    "Evento",
    "EventoFiscal",
    "FiscalDocumentError",
    "InvalidFieldError",
    "InvalidKeyError",
    "Item",
    "KeyMismatchError",
    "MalformedXmlError",
    "Modelo",
    "NotaFiscal",
    "Participante",
    "Protocolo",
    "Situacao",
    "TipoDocumento",
    "UnsupportedDocumentError",
    "WrongNamespaceError",
    "XmlEncodingError",
    "derive_situacao",
    "digito_verificador",
    "parse_chave",
    "parse_document",
    "xsd_warnings",
]
