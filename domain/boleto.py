"""Boleto de cobrança (FEBRABAN): due-date factor, barcode, linha digitável, Itaú free field.

Numbers only: the ITF image and the PDF are drawn elsewhere from the strings computed here.

Barcode (44 digits), positions 1-based::

    1-3 bank · 4 currency (9 = real) · 5 check digit (mod 11) · 6-9 due-date factor ·
    10-19 amount in cents · 20-44 free field (the bank's own layout)

Linha digitável (47 digits), the same numbers reordered for people::

    AAABC.CCCCX DDDDD.DDDDDY EEEEE.EEEEEZ K UUUUVVVVVVVVVV

field 1 = bank + currency + free field[0:5] + mod-10 digit; field 2 = free field[5:15] + mod 10;
field 3 = free field[15:25] + mod 10; field 4 (K) = the barcode's check digit; field 5 = factor
(UUUU) + amount (V…).

Decisions:

* Due-date factor: days since 1997-10-07. FEBRABAN's rule restarts it at 1000 after 9999
  (2025-02-21 = 9999, 2025-02-22 = 1000), hence ``((due − 1997-10-07).days − 1000) % 9000 + 1000``.
  That formula only holds from 2000-07-03 (the original factor 1000) on: applied to earlier dates
  it would give 9001–9999 and collide with 2022–2025. Dates 1997-10-08 … 2000-07-02 therefore keep
  their historical factors 0001–0999 (what was printed on boletos of that time); 1997-10-07 and
  earlier are refused. ``None`` (no due date, "contra-apresentação") is factor 0000.
* Amount: 0 to 99 999 999,99 (10 digits of cents), exact cents only (no silent rounding). Zero is
  accepted because FEBRABAN reserves it for "valor em aberto" (amount typed at payment, e.g. card
  bills); the billing service must not issue a boleto for a zero fatura.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from domain.errors import InvalidValue

FACTOR_BASE_DATE = date(1997, 10, 7)
FACTOR_ROLLOVER_DATE = date(2025, 2, 22)  # factor back to 1000
MAX_AMOUNT = Decimal("99999999.99")
CURRENCY_REAL = "9"

_BARCODE_LENGTH = 44
_LINHA_LENGTH = 47
_FREE_FIELD_LENGTH = 25
_SEPARATORS = re.compile(r"[\s.\-]")


class BoletoError(InvalidValue):
    """A boleto number or value breaks a FEBRABAN rule; `message` is pt-BR and safe to show."""


class DueDateOutOfRange(BoletoError):
    """The due date is on or before the factor's base date (1997-10-07)."""

    def __init__(self, due: date) -> None:
        super().__init__(
            "vencimento",
            f"O vencimento {due:%d/%m/%Y} é anterior a 08/10/1997, a primeira data que o "
            "boleto consegue representar.",
        )
        self.due = due


class AmountOutOfRange(BoletoError):
    """Negative, above 99 999 999,99 or with fractions of a cent."""


class WrongCheckDigit(BoletoError):
    """A check digit does not match: field 1–3 of the linha digitável, or the barcode's own."""

    def __init__(self, field: str, message: str, *, expected: str, found: str) -> None:
        super().__init__(field, message)
        self.expected = expected
        self.found = found


# --- check digits ---------------------------------------------------------------------------


def mod10(digits: str) -> str:
    """FEBRABAN módulo 10: weights 2, 1, 2… from the right, products' digits summed."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        product = int(char) * (2 if index % 2 == 0 else 1)
        total += product // 10 + product % 10
    return str((10 - total % 10) % 10)


def mod11_barcode(digits: str) -> str:
    """The barcode's check digit: weights 2–9 from the right; 0, 10 and 11 become 1."""
    total = sum(int(char) * (2 + index % 8) for index, char in enumerate(reversed(digits)))
    result = 11 - total % 11
    return "1" if result in (0, 10, 11) else str(result)


# --- due-date factor and amount -------------------------------------------------------------


def due_date_factor(due: date | None) -> str:
    """The 4-digit factor of a due date; `None` (no due date) is `0000`."""
    if due is None:
        return "0000"
    days = (due - FACTOR_BASE_DATE).days
    if days < 1:
        raise DueDateOutOfRange(due)
    if days < 1000:
        return f"{days:04d}"
    return f"{(days - 1000) % 9000 + 1000:04d}"


def amount_field(amount: Decimal) -> str:
    """The 10-digit amount in cents; refuses negatives, overflows and fractions of a cent."""
    value = Decimal(amount)
    if not value.is_finite() or value < 0:
        raise AmountOutOfRange("valor", "O valor do boleto não pode ser negativo.")
    if value > MAX_AMOUNT:
        raise AmountOutOfRange(
            "valor", "O valor do boleto passa do máximo de R$ 99.999.999,99 que ele comporta."
        )
    cents = value * 100
    if cents != cents.to_integral_value():
        raise AmountOutOfRange(
            "valor", "O valor do boleto precisa estar em centavos (no máximo duas casas decimais)."
        )
    return f"{int(cents):010d}"


# --- barcode and linha digitável ------------------------------------------------------------


def barcode(
    bank: str,
    amount: Decimal,
    due: date | None,
    free_field: str,
    currency: str = CURRENCY_REAL,
) -> str:
    """The 44-digit barcode from its parts; the check digit is computed here."""
    _require_digits("banco", bank, 3, "O código do banco tem 3 dígitos (por exemplo 341).")
    _require_digits("moeda", currency, 1, "O código da moeda tem 1 dígito (9 para real).")
    _require_digits(
        "campo_livre", free_field, _FREE_FIELD_LENGTH, "O campo livre do boleto tem 25 dígitos."
    )
    body = bank + currency + due_date_factor(due) + amount_field(amount) + free_field
    return body[:4] + mod11_barcode(body) + body[4:]


def check_barcode(text: str) -> str:
    """Validate a 44-digit barcode (spaces allowed) and return its digits."""
    digits = _SEPARATORS.sub("", text)
    _require_digits(
        "codigo_de_barras",
        digits,
        _BARCODE_LENGTH,
        "O código de barras de um boleto tem 44 números.",
    )
    expected = mod11_barcode(digits[:4] + digits[5:])
    if digits[4] != expected:
        raise WrongCheckDigit(
            "codigo_de_barras",
            "O dígito verificador do código de barras não confere: confira os números.",
            expected=expected,
            found=digits[4],
        )
    return digits


def linha_digitavel(barcode_digits: str) -> str:
    """The 47-digit linha digitável (digits only) of a valid barcode."""
    code = check_barcode(barcode_digits)
    free = code[19:]
    field1 = code[:4] + free[:5]
    field2 = free[5:15]
    field3 = free[15:25]
    return (
        field1
        + mod10(field1)
        + field2
        + mod10(field2)
        + field3
        + mod10(field3)
        + code[4]
        + code[5:19]
    )


def format_linha_digitavel(linha: str) -> str:
    """`AAABC.CCCCX DDDDD.DDDDDY EEEEE.EEEEEZ K UUUUVVVVVVVVVV` from the 47 digits."""
    digits = _SEPARATORS.sub("", linha)
    _require_digits(
        "linha_digitavel", digits, _LINHA_LENGTH, "A linha digitável de um boleto tem 47 números."
    )
    return (
        f"{digits[0:5]}.{digits[5:10]} {digits[10:15]}.{digits[15:21]} "
        f"{digits[21:26]}.{digits[26:32]} {digits[32]} {digits[33:47]}"
    )


def parse_linha_digitavel(text: str) -> str:
    """Check a typed linha digitável (dots, spaces allowed) digit by digit; return the barcode."""
    digits = _SEPARATORS.sub("", text)
    if len(digits) == 48 and digits.startswith("8"):
        raise BoletoError(
            "linha_digitavel",
            "Esta é uma conta de consumo ou tributo (48 números, começando com 8), não um boleto "
            "de cobrança.",
        )
    _require_digits(
        "linha_digitavel",
        digits,
        _LINHA_LENGTH,
        "A linha digitável de um boleto tem 47 números: confira se faltou ou sobrou algum.",
    )
    fields = (
        (1, digits[0:9], digits[9]),
        (2, digits[10:20], digits[20]),
        (3, digits[21:31], digits[31]),
    )
    for number, body, found in fields:
        expected = mod10(body)
        if found != expected:
            raise WrongCheckDigit(
                "linha_digitavel",
                f"O {number}º campo da linha digitável não confere (o último número dele está "
                "errado): confira os números e digite de novo.",
                expected=expected,
                found=found,
            )
    code = digits[0:4] + digits[32] + digits[33:47] + digits[4:9] + digits[10:20] + digits[21:31]
    expected = mod11_barcode(code[:4] + code[5:])
    if code[4] != expected:
        raise WrongCheckDigit(
            "linha_digitavel",
            "O dígito verificador geral da linha digitável (o número sozinho antes do valor) não "
            "confere: confira os números e digite de novo.",
            expected=expected,
            found=code[4],
        )
    return code


# --- Itaú: free field of carteira 109 -------------------------------------------------------

ITAU = "341"
# Carteiras checked against published boletos with the layout below (DAC over agência, conta,
# carteira and nosso número). Others are refused rather than guessed: some (e.g. 196, 198) carry
# "seu número" and a client code instead, some compute the DAC without agência and conta.
ITAU_CARTEIRAS = frozenset({"109", "175"})


@dataclass(frozen=True, slots=True)
class ItauNossoNumero:
    """Itaú nosso número with its DAC, printed as `109/00223350-2`."""

    carteira: str
    numero: str  # 8 digits
    dac: str

    @property
    def formatted(self) -> str:
        return f"{self.carteira}/{self.numero}-{self.dac}"


def itau_nosso_numero(carteira: str, numero: str, agencia: str, conta: str) -> ItauNossoNumero:
    """Itaú's nosso número (8 digits) and its DAC: mod 10 of agência+conta+carteira+número."""
    _check_itau_carteira(carteira)
    _check_itau_account(agencia, conta)
    if not (numero.isdigit() and numero.isascii()) or len(numero) > 8:
        raise BoletoError("nosso_numero", "O nosso número do Itaú tem até 8 dígitos.")
    numero = numero.zfill(8)
    return ItauNossoNumero(carteira, numero, mod10(agencia + conta + carteira + numero))


def itau_free_field(carteira: str, nosso_numero: str, agencia: str, conta: str) -> str:
    """The 25-digit free field: carteira, nosso número, its DAC, agência, conta, DAC, 000."""
    nosso = itau_nosso_numero(carteira, nosso_numero, agencia, conta)
    account = agencia + conta + itau_conta_dac(agencia, conta)
    return nosso.carteira + nosso.numero + nosso.dac + account + "000"


def itau_conta_dac(agencia: str, conta: str) -> str:
    """The digit of an Itaú account (`0607 / 15255-0`): mod 10 of agência + conta."""
    _check_itau_account(agencia, conta)
    return mod10(agencia + conta)


def _check_itau_carteira(carteira: str) -> None:
    if carteira not in ITAU_CARTEIRAS:
        raise BoletoError(
            "carteira",
            f"A carteira {carteira} do Itaú não é suportada; use uma destas: "
            f"{', '.join(sorted(ITAU_CARTEIRAS))}.",
        )


def _check_itau_account(agencia: str, conta: str) -> None:
    _require_digits("agencia", agencia, 4, "A agência do Itaú tem 4 dígitos (sem o dígito).")
    _require_digits("conta", conta, 5, "A conta do Itaú tem 5 dígitos (sem o dígito).")


def _require_digits(field: str, value: str, length: int, message: str) -> None:
    if len(value) != length or not (value.isascii() and value.isdigit()):
        raise BoletoError(field, message)
