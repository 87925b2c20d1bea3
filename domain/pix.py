"""PIX "copia e cola" (BR Code, EMV QRCPS-MPM): build, read back and check the static payload.

Each field is a TLV: 2-digit id, 2-digit length, value. The static payload built here::

    00 "01" · 26 (00 "br.gov.bcb.pix", 01 chave) · 52 "0000" · 53 "986" · 54 valor (optional)
    · 58 "BR" · 59 nome (≤ 25) · 60 cidade (≤ 15) · 62 (05 txid) · 63 CRC16

The CRC is CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final XOR) over the
whole payload including the `6304` that introduces it, written as 4 upper-case hex digits.

Decisions: name and city are stripped of accents, upper-cased and cut to 25/15 characters (the
payer's app shows the name registered for the key anyway, so a cut name is harmless, while an
error would block a gestor whose razão social is long). The key, the amount and the txid are
never altered: a wrong one is refused with a pt-BR message.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from domain.documents import DocumentType, normalize, parse_tax_id
from domain.errors import InvalidValue

PIX_GUI = "br.gov.bcb.pix"
MAX_NAME = 25
MAX_CITY = 15
MAX_AMOUNT = Decimal("9999999999.99")  # field 54 holds at most 13 characters
TXID_NONE = "***"

_TXID = re.compile(r"[A-Za-z0-9]{1,25}")
_EVP = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_PHONE = re.compile(r"\+55[1-9]{2}\d{8,9}")
_PHONE_PUNCTUATION = re.compile(r"[\s()\-.]")
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)+")
_MAX_EMAIL = 77
_TEXT_ALLOWED = re.compile(r"[^A-Z0-9 .,\-/&]")


class PixError(InvalidValue):
    """A PIX key, value or payload breaks a rule; `message` is pt-BR and safe to show."""


class PixKeyType(StrEnum):
    CPF = "CPF"
    CNPJ = "CNPJ"
    EMAIL = "EMAIL"
    TELEFONE = "TELEFONE"
    EVP = "EVP"  # chave aleatória


@dataclass(frozen=True, slots=True)
class PixKey:
    """A validated key in the form the DICT and the BR Code use."""

    value: str
    kind: PixKeyType


@dataclass(frozen=True, slots=True)
class PixPayload:
    """A BR Code read back: its fields by id (templates kept raw) and the PIX ones decoded."""

    fields: dict[str, str]
    gui: str
    key: str | None
    name: str
    city: str
    amount: Decimal | None
    txid: str | None
    crc: str


# --- CRC --------------------------------------------------------------------------------------


def crc16_ccitt(data: bytes) -> int:
    """CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF; `b"123456789"` → 0x29B1."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def crc_field(payload_without_crc: str) -> str:
    """The 4 upper-case hex digits closing a payload that already ends in `6304`."""
    return f"{crc16_ccitt(payload_without_crc.encode('utf-8')):04X}"


# --- key, text, amount, txid ----------------------------------------------------------------


def parse_pix_key(text: str) -> PixKey:
    """Validate a key: CPF/CNPJ (punctuation allowed), e-mail, `+55` phone or EVP (UUID)."""
    candidate = text.strip()
    if not candidate:
        raise PixError("chave_pix", "Digite a chave PIX.")
    if "@" in candidate:
        return _email_key(candidate)
    if candidate.startswith("+"):
        phone = _PHONE_PUNCTUATION.sub("", candidate)
        if not _PHONE.fullmatch(phone):
            raise PixError(
                "chave_pix",
                "Chave de telefone inválida: use +55, o DDD e o número, por exemplo "
                "+5511987654321.",
            )
        return PixKey(phone, PixKeyType.TELEFONE)
    if _EVP.fullmatch(candidate.lower()):
        return PixKey(candidate.lower(), PixKeyType.EVP)
    document = normalize(candidate)
    if len(document) in (11, 14):
        try:
            tax_id = parse_tax_id(document)
        except InvalidValue as exc:
            # Eleven digits may also be a mobile typed without +55: say how to type one.
            hint = " Se for um celular, digite com +55 e o DDD." if len(document) == 11 else ""
            raise PixError("chave_pix", exc.message + hint) from exc
        kind = PixKeyType.CPF if tax_id.kind is DocumentType.CPF else PixKeyType.CNPJ
        return PixKey(tax_id.value, kind)
    raise PixError(
        "chave_pix",
        "Não reconheci a chave PIX. Use um CPF ou CNPJ, um e-mail, um celular com +55 (por "
        "exemplo +5511987654321) ou uma chave aleatória (36 caracteres com hífens).",
    )


def _email_key(candidate: str) -> PixKey:
    email = candidate.lower()
    if not email.isascii() or not _EMAIL.fullmatch(email) or len(email) > _MAX_EMAIL:
        raise PixError(
            "chave_pix",
            "Este e-mail não serve como chave PIX: confira o endereço (até 77 caracteres, sem "
            "acentos).",
        )
    return PixKey(email, PixKeyType.EMAIL)


def pix_text(text: str, limit: int) -> str:
    """`São João d'Aliança` → `SAO JOAO DALIANCA`, cut to `limit` characters."""
    decomposed = unicodedata.normalize("NFKD", text)
    ascii_only = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    cleaned = _TEXT_ALLOWED.sub("", " ".join(ascii_only.upper().split()))
    return " ".join(cleaned.split())[:limit].rstrip()


def amount_text(amount: Decimal) -> str:
    """`Decimal("1234.5")` → `1234.50`; positive, exact cents, at most 13 characters."""
    value = Decimal(amount)
    if not value.is_finite() or value <= 0:
        raise PixError("valor", "O valor do PIX precisa ser maior que zero.")
    if value > MAX_AMOUNT:
        raise PixError("valor", "O valor do PIX passa do máximo que o QR code comporta.")
    if value != value.quantize(Decimal("0.01")):
        raise PixError("valor", "O valor do PIX precisa estar em centavos (duas casas decimais).")
    return f"{value:.2f}"


def _check_txid(txid: str) -> str:
    if txid != TXID_NONE and not _TXID.fullmatch(txid):
        raise PixError(
            "txid",
            "O identificador da cobrança (txid) tem de 1 a 25 letras ou números, sem espaços "
            "nem símbolos, ou é *** quando não há.",
        )
    return txid


# --- build ----------------------------------------------------------------------------------


def tlv(field_id: str, value: str) -> str:
    """One EMV field: id, 2-digit length, value (at most 99 characters)."""
    if len(value) > 99:
        raise PixError("payload", f"O campo {field_id} do PIX passa de 99 caracteres.")
    return f"{field_id}{len(value):02d}{value}"


def brcode(key: str, name: str, city: str, amount_value: str | None, txid: str) -> str:
    """Assemble a static BR Code from values already in their final form, CRC included."""
    body = (
        tlv("00", "01")
        + tlv("26", tlv("00", PIX_GUI) + tlv("01", key))
        + tlv("52", "0000")
        + tlv("53", "986")
        + (tlv("54", amount_value) if amount_value is not None else "")
        + tlv("58", "BR")
        + tlv("59", name)
        + tlv("60", city)
        + tlv("62", tlv("05", txid))
        + "6304"
    )
    return body + crc_field(body)


def pix_payload(key: str, name: str, city: str, amount: Decimal | None, txid: str) -> str:
    """The "copia e cola" string for a static PIX charge (amount `None` lets the payer type it)."""
    pix_key = parse_pix_key(key)
    merchant = pix_text(name, MAX_NAME)
    if not merchant:
        raise PixError("nome", "Informe o nome do recebedor do PIX.")
    merchant_city = pix_text(city, MAX_CITY)
    if not merchant_city:
        raise PixError("cidade", "Informe a cidade do recebedor do PIX.")
    value = amount_text(amount) if amount is not None else None
    return brcode(pix_key.value, merchant, merchant_city, value, _check_txid(txid))


# --- read back ------------------------------------------------------------------------------


def parse_tlv(text: str) -> dict[str, str]:
    """Split EMV TLVs into `{id: value}`; refuses truncated or repeated fields."""
    fields: dict[str, str] = {}
    position = 0
    while position < len(text):
        header = text[position : position + 4]
        if len(header) < 4 or not (header.isascii() and header.isdigit()):
            raise PixError("payload", "O código PIX está incompleto ou corrompido.")
        field_id, length = header[:2], int(header[2:])
        value = text[position + 4 : position + 4 + length]
        if len(value) != length:
            raise PixError("payload", "O código PIX está incompleto ou corrompido.")
        if field_id in fields:
            raise PixError("payload", f"O código PIX repete o campo {field_id}.")
        fields[field_id] = value
        position += 4 + length
    return fields


def parse_pix_payload(text: str) -> PixPayload:
    """Read a "copia e cola" back, checking its structure and its CRC."""
    payload = text.strip()
    if not payload.startswith("000201"):
        raise PixError(
            "payload", "Isto não é um código PIX copia e cola (deve começar com 000201)."
        )
    if len(payload) < 8 or payload[-8:-4] != "6304":
        raise PixError("payload", "O código PIX não termina com o CRC (campo 63).")
    found = payload[-4:].upper()
    expected = crc_field(payload[:-4])
    if found != expected:
        raise PixError(
            "payload",
            "O código PIX foi alterado ou copiado pela metade (o CRC não confere).",
        )
    fields = parse_tlv(payload)
    account = parse_tlv(fields.get("26", ""))
    if account.get("00", "").lower() != PIX_GUI:
        raise PixError("payload", "O código não traz a conta PIX (br.gov.bcb.pix no campo 26).")
    additional = parse_tlv(fields.get("62", ""))
    amount = _read_amount(fields["54"]) if "54" in fields else None
    return PixPayload(
        fields=fields,
        gui=account["00"],
        key=account.get("01"),
        name=fields.get("59", ""),
        city=fields.get("60", ""),
        amount=amount,
        txid=additional.get("05"),
        crc=found,
    )


def _read_amount(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise PixError("payload", "O valor do código PIX (campo 54) não é um número.") from exc
    if not value.is_finite() or value < 0:
        raise PixError("payload", "O valor do código PIX (campo 54) não é válido.")
    return value
