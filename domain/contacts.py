"""E-mail, telephone, CEP, address and company names as people type them in a chat."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from domain.errors import InvalidValue

UFS = frozenset(
    [
        "AC",
        "AL",
        "AP",
        "AM",
        "BA",
        "CE",
        "DF",
        "ES",
        "GO",
        "MA",
        "MT",
        "MS",
        "MG",
        "PA",
        "PB",
        "PR",
        "PE",
        "PI",
        "RJ",
        "RN",
        "RS",
        "RO",
        "RR",
        "SC",
        "SP",
        "SE",
        "TO",
    ]
)
_CEP = re.compile(r"(\d{5})[-\s]?(\d{3})")
# The city may have a hyphen between letters (Ji-Paraná, Embu-Guaçu); a spaced " - " separates
# parts. The UF follows "/", "-" or ",".
_ADDRESS_UF = re.compile(
    r"^(?P<rest>.+?)[\s,]*[-/,]\s*(?P<cidade>(?:[^,/\-]|(?<=\S)-(?=\S))+?)"
    r"\s*[/\-,]\s*(?P<uf>[A-Za-z]{2})\s*$"
)
# A client's telephone: landlines and mobiles, not 0800/premium/shared-cost numbers.
_PERSONAL_LINES = frozenset(
    {
        phonenumbers.PhoneNumberType.FIXED_LINE,
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
        phonenumbers.PhoneNumberType.VOIP,
    }
)
_SPACES = re.compile(r"\s+")


def clean_text(text: str) -> str:
    """Collapse whitespace and drop control characters from free text."""
    # Tabs and line breaks separate words like spaces; other control/format characters go.
    text = "".join(
        " " if ch.isspace() else ch
        for ch in text
        if ch.isspace() or unicodedata.category(ch)[0] != "C"
    )
    return _SPACES.sub(" ", text).strip()


def parse_email(text: str) -> str:
    """Validate an e-mail address (syntax only; no network) and return it lower-cased."""
    candidate = text.strip()
    try:
        result = validate_email(candidate, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidValue(
            "email", "Este e-mail não parece válido. Digite no formato nome@empresa.com.br."
        ) from exc
    return result.normalized.lower()


def parse_phone(text: str) -> str:
    """Validate a Brazilian (or +country) telephone and return it in E.164 (`+5511987654321`)."""
    candidate = text.strip()
    try:
        number = phonenumbers.parse(candidate, "BR")
    except phonenumbers.NumberParseException as exc:
        raise InvalidValue(
            "telefone", "Não entendi o telefone. Digite com DDD, por exemplo (11) 98765-4321."
        ) from exc
    if not phonenumbers.is_valid_number(number) or (
        phonenumbers.number_type(number) not in _PERSONAL_LINES
    ):
        raise InvalidValue(
            "telefone",
            "Este telefone não é válido. Confira o DDD e os números, por exemplo (11) 98765-4321.",
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def format_phone(e164: str) -> str:
    """`+5511987654321` → `(11) 98765-4321` (national format for Brazilian numbers)."""
    try:
        number = phonenumbers.parse(e164, "BR")
    except phonenumbers.NumberParseException:
        return e164
    if number.country_code == 55:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def parse_cep(text: str) -> str:
    """Validate a CEP (8 digits, with or without the dash) and return the 8 digits."""
    match = _CEP.fullmatch(text.strip().replace(".", ""))
    if not match or match.group(1) + match.group(2) == "00000000":
        raise InvalidValue("cep", "O CEP tem 8 números, por exemplo 01310-100. Digite de novo.")
    return match.group(1) + match.group(2)


def format_cep(cep: str) -> str:
    return f"{cep[:5]}-{cep[5:]}" if len(cep) == 8 else cep


@dataclass(frozen=True, slots=True)
class Address:
    """A street address typed in one line, ending with the city and the state (UF)."""

    logradouro: str
    cidade: str
    uf: str

    @property
    def one_line(self) -> str:
        return f"{self.logradouro} - {self.cidade}/{self.uf}"


def parse_address(text: str) -> Address:
    """Read `Rua X, 123 - Bairro - Cidade/UF`: a street with a number, then city and UF."""
    cleaned = clean_text(text)
    if len(cleaned) > 200:  # before the regex, which backtracks on long input
        raise InvalidValue("endereco", "O endereço passou de 200 caracteres. Resuma, por favor.")
    match = _ADDRESS_UF.match(cleaned)
    hint = "Digite assim: Rua das Flores, 123 - Centro - São Paulo/SP."
    if not match or not any(ch.isalpha() for ch in match.group("cidade")):
        raise InvalidValue("endereco", f"Faltou a cidade e o estado no fim do endereço. {hint}")
    uf = match.group("uf").upper()
    if uf not in UFS:
        raise InvalidValue("endereco", f"“{uf}” não é a sigla de um estado brasileiro. {hint}")
    logradouro = match.group("rest").strip(" ,-")
    has_number = any(ch.isdigit() for ch in logradouro) or "S/N" in logradouro.upper()
    if len(logradouro) < 5 or not has_number:
        raise InvalidValue(
            "endereco", f"Faltou a rua e o número (use S/N se não houver número). {hint}"
        )
    return Address(logradouro=logradouro, cidade=match.group("cidade").strip(), uf=uf)


def parse_company_name(
    text: str, *, field: str = "razao_social", label: str = "a razão social"
) -> str:
    """Validate a company name: 2–120 characters with at least one letter.

    `label` names the field with its article ("a razão social", "o nome fantasia").
    """
    name = clean_text(text)
    subject = label[:1].upper() + label[1:]
    if len(name) < 2 or not any(ch.isalpha() for ch in name):
        raise InvalidValue(field, f"{subject} precisa ter pelo menos 2 letras. Digite de novo.")
    if len(name) > 120:
        raise InvalidValue(field, f"{subject} pode ter no máximo 120 caracteres. Digite de novo.")
    return name
