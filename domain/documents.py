"""CPF and CNPJ (numeric and the alphanumeric CNPJ in production from July 2026).

Stored as text, upper-case, without punctuation; formatted for people only at the edge.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from validate_docbr import CNPJ as _CNPJ
from validate_docbr import CPF as _CPF

from domain.errors import InvalidValue

_cnpj = _CNPJ()
_cpf = _CPF()
_PUNCTUATION = re.compile(r"[\s./\-]")
_CNPJ_SHAPE = re.compile(r"[A-Z0-9]{12}[0-9]{2}")


class DocumentType(StrEnum):
    CPF = "CPF"
    CNPJ = "CNPJ"


@dataclass(frozen=True, slots=True)
class TaxId:
    """A validated CPF or CNPJ, normalized (digits and upper-case letters only)."""

    value: str
    kind: DocumentType

    @property
    def formatted(self) -> str:
        return format_tax_id(self.value)

    @property
    def root(self) -> str:
        """The CNPJ root (first 8 characters) shared by a company's branches; a CPF is its own."""
        return self.value[:8] if self.kind is DocumentType.CNPJ else self.value


def normalize(text: str) -> str:
    """Strip the punctuation people type and upper-case the letters of an alphanumeric CNPJ."""
    return _PUNCTUATION.sub("", text).upper()


def parse_tax_id(text: str) -> TaxId:
    """Validate a CPF (11 digits) or CNPJ (14 characters) typed with or without punctuation."""
    value = normalize(text)
    if not value:
        raise InvalidValue("documento", "Digite o CPF ou o CNPJ do cliente.")
    if len(value) == 11 and value.isdigit():
        _refuse_repeated(value, DocumentType.CPF)
        if not _cpf.validate(value):
            raise InvalidValue(
                "documento", "Este CPF não é válido: confira os números e digite de novo."
            )
        return TaxId(value, DocumentType.CPF)
    if len(value) == 14 and _CNPJ_SHAPE.fullmatch(value):
        _refuse_repeated(value, DocumentType.CNPJ)
        if not _cnpj.validate(value):
            raise InvalidValue(
                "documento",
                "Este CNPJ não é válido (os dígitos verificadores não conferem): "
                "confira e digite de novo.",
            )
        return TaxId(value, DocumentType.CNPJ)
    raise InvalidValue(
        "documento",
        "Não reconheci um CPF (11 números) nem um CNPJ (14 caracteres). "
        "Exemplos: 123.456.789-09 ou 12.345.678/0001-95.",
    )


def _refuse_repeated(value: str, kind: DocumentType) -> None:
    """`000.000.000-00` even passes the check-digit arithmetic, yet is nobody's document: it
    gets its own reason, not one about check digits."""
    if len(set(value)) == 1:
        raise InvalidValue(
            "documento",
            f"{kind} com todos os dígitos iguais não existe. Confira o número e digite de novo.",
        )


def parse_cnpj(text: str) -> TaxId:
    """Validate a CNPJ only (companies such as gestores must have one)."""
    tax_id = parse_tax_id(text)
    if tax_id.kind is not DocumentType.CNPJ:
        raise InvalidValue("cnpj", "Aqui é preciso um CNPJ (14 caracteres), não um CPF.")
    return tax_id


def format_tax_id(value: str) -> str:
    """`12.345.678/0001-95` or `123.456.789-09`; anything else is returned unchanged."""
    if len(value) == 14:
        return f"{value[:2]}.{value[2:5]}.{value[5:8]}/{value[8:12]}-{value[12:]}"
    if len(value) == 11:
        return f"{value[:3]}.{value[3:6]}.{value[6:9]}-{value[9:]}"
    return value


def _check_digit(body: str) -> str:
    weights = [2, 3, 4, 5, 6, 7, 8, 9]
    total = sum((ord(ch) - 48) * weights[i % 8] for i, ch in enumerate(reversed(body)))
    remainder = total % 11
    return "0" if remainder < 2 else str(11 - remainder)


def complete_cnpj(base: str) -> str:
    """Append the two check digits to a 12-character CNPJ base (numeric or alphanumeric)."""
    base = normalize(base)
    if not re.fullmatch(r"[A-Z0-9]{12}", base):
        raise InvalidValue("cnpj", "A base do CNPJ tem 12 caracteres.")
    first = _check_digit(base)
    return base + first + _check_digit(base + first)
