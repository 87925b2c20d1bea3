"""Why a fiscal XML was refused: one root, a shallow tree, a pt-BR `message` to act on."""

from __future__ import annotations

from domain.errors import DomainError
from domain.text import format_number


class FiscalDocumentError(DomainError):
    """Root of the fiscal documents' errors; `message` is pt-BR and safe to show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class DocumentTooLargeError(FiscalDocumentError):
    """The file is above the size cap; checked before any parsing."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(
            f"O arquivo tem {_kib(size)} KB, acima do limite de {_kib(limit)} KB para um XML de "
            "NF-e. Confira se é mesmo o XML de uma nota (e não um ZIP, PDF ou lote de notas)."
        )
        self.size = size
        self.limit = limit


class MalformedXmlError(FiscalDocumentError):
    """Not XML at all (empty, a PDF, a ZIP…) or XML that is not well-formed."""


class XmlEncodingError(MalformedXmlError):
    """Bytes that are not UTF-8 in a file read as UTF-8 (no declaration, or one saying UTF-8).

    Usually a note re-saved by an editor or ERP as ISO-8859-1 (Latin-1): the accents are
    single bytes that UTF-8 does not accept.
    """

    def __init__(self, line: int, *, declared: bool) -> None:
        fix = (
            'corrija a declaração da primeira linha para <?xml version="1.0" '
            'encoding="ISO-8859-1"?>'
            if declared
            else 'declare a codificação na primeira linha: <?xml version="1.0" '
            'encoding="ISO-8859-1"?>'
        )
        super().__init__(
            (
                "O arquivo declara a codificação UTF-8, mas não está em UTF-8"
                if declared
                else "O arquivo não está em UTF-8 e não declara a sua codificação"
            )
            + f": na linha {line} há caracteres (como acentos) gravados em outra codificação, "
            "provavelmente ISO-8859-1 (Latin-1). Baixe de novo o XML original no emissor, "
            f"salve o arquivo como UTF-8 ou {fix}."
        )
        self.line = line
        self.declared = declared


class DangerousXmlError(FiscalDocumentError):
    """A DOCTYPE or entity declaration: no NF-e has one, and they carry XXE / entity bombs."""

    def __init__(self) -> None:
        super().__init__(
            "O XML traz uma declaração DOCTYPE/ENTITY, que nenhuma NF-e usa e que pode ser um "
            "ataque. O arquivo foi recusado: envie o XML original gerado pelo emissor."
        )


class UnsupportedDocumentError(FiscalDocumentError):
    """Well-formed XML, but not a document read here (nota, evento or their summaries)."""

    def __init__(self, root: str, description: str) -> None:
        super().__init__(
            f"O arquivo é {description}, não o XML de uma NF-e/NFC-e nem de um evento. Envie o "
            "XML da nota autorizada (nfeProc) ou do evento registrado (procEventoNFe)."
        )
        self.root = root


class WrongNamespaceError(UnsupportedDocumentError):
    """A known root element outside the NF-e namespace (usually a file edited by hand)."""

    def __init__(self, root: str, namespace: str | None) -> None:
        FiscalDocumentError.__init__(
            self,
            f"O XML <{root}> não usa o namespace da NF-e (http://www.portalfiscal.inf.br/nfe)"
            + (f", e sim {namespace}" if namespace else "")
            + ": ele foi gerado ou editado fora do emissor. Baixe de novo o XML original.",
        )
        self.root = root
        self.namespace = namespace


class InvalidFieldError(FiscalDocumentError):
    """A field the document must have is missing or has a value outside its layout."""

    def __init__(self, campo: str, problema: str) -> None:
        super().__init__(
            f"O XML não é uma NF-e válida: o campo {campo} {problema}. "
            "Baixe de novo o XML original no emissor."
        )
        self.campo = campo


class InvalidKeyError(FiscalDocumentError):
    """The access key itself is wrong: size, layout, state code, month, model or check digit.

    `reason` is one of: tamanho, formato, uf, mes, modelo, tp_emis, dv.
    """

    def __init__(self, chave: str, reason: str, detail: str) -> None:
        super().__init__(
            f"A chave de acesso {chave or '(vazia)'} é inválida: {detail}. Confira se o arquivo "
            "não foi alterado e baixe de novo o XML original."
        )
        self.chave = chave
        self.reason = reason


class KeyMismatchError(FiscalDocumentError):
    """A valid key that does not match the document's own fields (or its protocol/events)."""

    def __init__(self, chave: str, campo: str, no_documento: str, na_chave: str) -> None:
        super().__init__(
            f"A chave de acesso {chave} não confere com o próprio XML: {campo} é "
            f"{no_documento or '(vazio)'} no XML e {na_chave} na chave. O arquivo foi alterado "
            "depois de emitido; baixe de novo o XML original."
        )
        self.chave = chave
        self.campo = campo
        self.no_documento = no_documento
        self.na_chave = na_chave


def _kib(size: int) -> str:
    return format_number(size / 1024)
