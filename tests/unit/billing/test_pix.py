"""PIX "copia e cola": CRC16, known-good BR Codes byte for byte, keys, reading a payload back.

Known-good payloads (facts only; no code taken):

* The Banco Central's example of a static BR Code (Manual de Padrões para Iniciação do Pix): EVP
  key 123e4567-e12b-12d1-a456-426655440000, "Fulano de Tal", BRASILIA, no amount, txid ***,
  CRC 1D3D. Quoted identically by many public libraries' tests.
* thalesog/pix-utils `tests/emvCodes.ts`: static payloads with and without amount (CRC 4367, 4406,
  2C6B) and a dynamic one (0C64), all carrying a sub-field 02 (or 25) this module does not build.
* alexandresanlim/pix-payload-generator.net `README.md`: a payload with amount 10.00 (CRC D475).

Python's own `binascii.crc_hqx(data, 0xFFFF)` is CRC-16/CCITT-FALSE as well: it serves as an
independent oracle for the CRC of the payloads built here.
"""

from __future__ import annotations

import binascii
import random
from decimal import Decimal

import pytest

from domain.errors import InvalidValue
from domain.pix import (
    PixError,
    PixKeyType,
    brcode,
    crc16_ccitt,
    parse_pix_key,
    parse_pix_payload,
    pix_payload,
    pix_text,
)

BCB_EVP = "123e4567-e12b-12d1-a456-426655440000"
BCB_EXAMPLE = (
    "00020126580014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-426655440000"
    "5204000053039865802BR5913Fulano de Tal6008BRASILIA62070503***63041D3D"
)
PIX_UTILS_STATIC = (
    "00020126510014br.gov.bcb.pix0115thalesog@me.com0210Pedido 123"
    "520400005303986540510.005802BR5914Thales Ogliari6015SAO MIGUEL DO O62070503***63044367"
)
PIX_UTILS_STATIC_ZERO = (
    "00020126510014br.gov.bcb.pix0115thalesog@me.com0210Pedido 123"
    "52040000530398654040.005802BR5914Thales Ogliari6015SAO MIGUEL DO O62070503***63044406"
)
PIX_UTILS_STATIC_NO_AMOUNT = (
    "00020126510014br.gov.bcb.pix0115thalesog@me.com0210Pedido 123"
    "5204000053039865802BR5914Thales Ogliari6015SAO MIGUEL DO O62070503***63042C6B"
)
PIX_UTILS_DYNAMIC = (
    "00020126740014br.gov.bcb.pix2552payload.psp.com/3ec9d2f9-5f03-4e0e-820d-63a81e769e87"
    "5204000053039865802BR5914Thales Ogliari6015SAO MIGUEL DO O62070503***63040C64"
)
PIX_PAYLOAD_GENERATOR_NET = (
    "00020126580014br.gov.bcb.pix0136bee05743-4291-4f3c-9259-595df1307ba1"
    "520400005303986540510.005802BR5914Alexandre Lima6019Presidente Prudente"
    "62180514Um-Id-Qualquer6304D475"
)
PUBLISHED = [
    BCB_EXAMPLE,
    PIX_UTILS_STATIC,
    PIX_UTILS_STATIC_ZERO,
    PIX_UTILS_STATIC_NO_AMOUNT,
    PIX_UTILS_DYNAMIC,
    PIX_PAYLOAD_GENERATOR_NET,
]


def oracle_crc(text: str) -> str:
    return f"{binascii.crc_hqx(text.encode(), 0xFFFF):04X}"


# --- CRC --------------------------------------------------------------------------------------


def test_the_crc_of_123456789_is_the_standard_check_value_29b1() -> None:
    assert crc16_ccitt(b"123456789") == 0x29B1


def test_the_crc_of_an_empty_input_is_the_initial_value() -> None:
    assert crc16_ccitt(b"") == 0xFFFF


def test_the_crc_agrees_with_pythons_own_crc_hqx_on_generated_inputs() -> None:
    rng = random.Random(1021)
    for size in range(300):
        data = bytes(rng.randrange(256) for _ in range(size))
        assert crc16_ccitt(data) == binascii.crc_hqx(data, 0xFFFF)


@pytest.mark.parametrize("payload", PUBLISHED)
def test_the_crc_of_each_published_payload_is_recomputed_exactly(payload: str) -> None:
    assert f"{crc16_ccitt(payload[:-4].encode()):04X}" == payload[-4:]


# --- building -------------------------------------------------------------------------------


def test_the_banco_central_example_is_rebuilt_byte_for_byte() -> None:
    assert brcode(BCB_EVP, "Fulano de Tal", "BRASILIA", None, "***") == BCB_EXAMPLE


def test_the_banco_central_example_through_pix_payload_differs_only_by_the_upper_cased_name() -> (
    None
):
    payload = pix_payload(BCB_EVP, "Fulano de Tal", "Brasília", None, "***")

    expected_body = BCB_EXAMPLE[:-4].replace("Fulano de Tal", "FULANO DE TAL")
    assert payload == expected_body + oracle_crc(expected_body)
    assert payload == (
        "00020126580014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-426655440000"
        "5204000053039865802BR5913FULANO DE TAL6008BRASILIA62070503***6304"
    ) + oracle_crc(expected_body)


def test_a_payload_with_amount_and_txid_has_every_field_in_order() -> None:
    payload = pix_payload(
        "11.222.333/0001-81",
        "Revenda São João Ltda",
        "São Paulo",
        Decimal("1234.5"),
        "FAT2026120042",
    )

    body = (
        "000201"
        "26360014br.gov.bcb.pix011411222333000181"
        "52040000"
        "5303986"
        "54071234.50"
        "5802BR"
        "5921REVENDA SAO JOAO LTDA"
        "6009SAO PAULO"
        "62170513FAT2026120042"
        "6304"
    )
    assert payload == body + oracle_crc(body)


def test_a_payload_without_amount_omits_field_54() -> None:
    payload = pix_payload("fulano@example.com", "Fulano", "Recife", None, "***")

    assert "54" not in parse_pix_payload(payload).fields
    assert parse_pix_payload(payload).amount is None


def test_generated_payloads_read_back_to_what_was_given() -> None:
    rng = random.Random(986)
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    for _ in range(300):
        cents = rng.randrange(1, 10**12)
        amount = Decimal(cents) / 100 if rng.random() < 0.8 else None
        txid = "".join(rng.choice(letters) for _ in range(rng.randrange(1, 26)))
        key = f"{rng.getrandbits(128):032x}"
        evp = f"{key[:8]}-{key[8:12]}-{key[12:16]}-{key[16:20]}-{key[20:]}"

        payload = pix_payload(evp, "Loja Número Um", "Ribeirão Preto", amount, txid)
        read = parse_pix_payload(payload)

        assert payload[-4:] == oracle_crc(payload[:-4])
        assert (read.key, read.txid, read.amount) == (evp, txid, amount)
        assert (read.name, read.city) == ("LOJA NUMERO UM", "RIBEIRAO PRETO")


# --- name, city, amount, txid ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("São João d'Aliança", 25, "SAO JOAO DALIANCA"),
        ("  Açaí   &  Cia.  ", 25, "ACAI & CIA."),
        ("Comércio de Softwares Fiscais do Brasil", 25, "COMERCIO DE SOFTWARES FIS"),
        ("Santa Bárbara d'Oeste", 15, "SANTA BARBARA D"),
        ("Itapecerica da Serra", 15, "ITAPECERICA DA"),  # cut then trailing space dropped
    ],
)
def test_names_and_cities_become_ascii_upper_case_within_their_limits(
    text: str, limit: int, expected: str
) -> None:
    assert pix_text(text, limit) == expected


@pytest.mark.parametrize(
    ("name", "city", "field"), [("", "Recife", "nome"), ("Loja", "  ", "cidade")]
)
def test_an_empty_name_or_city_is_refused(name: str, city: str, field: str) -> None:
    with pytest.raises(PixError) as error:
        pix_payload("fulano@example.com", name, city, None, "***")

    assert error.value.field == field


@pytest.mark.parametrize(
    "amount", [Decimal("0"), Decimal("-1.00"), Decimal("10.001"), Decimal("10000000000.00")]
)
def test_a_zero_negative_sub_cent_or_too_large_amount_is_refused(amount: Decimal) -> None:
    with pytest.raises(PixError) as error:
        pix_payload("fulano@example.com", "Loja", "Recife", amount, "***")

    assert error.value.field == "valor"


@pytest.mark.parametrize("txid", ["", "com espaco", "Um-Id-Qualquer", "A" * 26, "ação"])
def test_a_txid_outside_1_to_25_letters_or_digits_is_refused(txid: str) -> None:
    with pytest.raises(PixError) as error:
        pix_payload("fulano@example.com", "Loja", "Recife", None, txid)

    assert error.value.field == "txid"


# --- keys -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "value", "kind"),
    [
        ("529.982.247-25", "52998224725", PixKeyType.CPF),
        ("11.222.333/0001-81", "11222333000181", PixKeyType.CNPJ),
        ("12.abc.345/01de-35", "12ABC34501DE35", PixKeyType.CNPJ),
        (" Fulano@Example.COM ", "fulano@example.com", PixKeyType.EMAIL),
        ("+55 (11) 98765-4321", "+5511987654321", PixKeyType.TELEFONE),
        ("+556133334444", "+556133334444", PixKeyType.TELEFONE),
        (BCB_EVP.upper(), BCB_EVP, PixKeyType.EVP),
    ],
)
def test_each_kind_of_key_is_recognized_and_normalized(
    typed: str, value: str, kind: PixKeyType
) -> None:
    key = parse_pix_key(typed)

    assert (key.value, key.kind) == (value, kind)


@pytest.mark.parametrize(
    ("typed", "hint"),
    [
        ("", "Digite a chave"),
        ("123.456.789-00", "CPF não é válido"),
        ("11.222.333/0001-80", "CNPJ não é válido"),
        ("fulano@", "e-mail"),
        ("joão@exemplo.com", "e-mail"),
        ("+1 555 123 4567", "+55"),
        ("+55 11 1234", "+55"),
        ("123e4567-e12b-12d1-a456-42665544000", "Não reconheci"),
        ("chave qualquer", "Não reconheci"),
    ],
)
def test_an_invalid_key_is_refused_with_a_message_saying_why(typed: str, hint: str) -> None:
    with pytest.raises(PixError) as error:
        parse_pix_key(typed)

    assert hint in error.value.message
    assert error.value.field == "chave_pix"
    assert isinstance(error.value, InvalidValue)


def test_eleven_digits_that_are_no_cpf_suggest_typing_a_mobile_with_plus_55() -> None:
    with pytest.raises(PixError) as error:
        parse_pix_key("11987654321")

    assert "+55" in error.value.message


def test_pix_payload_refuses_an_invalid_key_before_building_anything() -> None:
    with pytest.raises(PixError):
        pix_payload("123.456.789-00", "Loja", "Recife", Decimal("10.00"), "***")


# --- reading back ---------------------------------------------------------------------------


def test_the_banco_central_example_is_read_back_field_by_field() -> None:
    read = parse_pix_payload(BCB_EXAMPLE)

    assert read.gui == "br.gov.bcb.pix"
    assert read.key == BCB_EVP
    assert (read.name, read.city, read.amount, read.txid, read.crc) == (
        "Fulano de Tal",
        "BRASILIA",
        None,
        "***",
        "1D3D",
    )
    assert read.fields["52"] == "0000"
    assert read.fields["53"] == "986"
    assert read.fields["58"] == "BR"


@pytest.mark.parametrize(
    ("payload", "key", "amount"),
    [
        (PIX_UTILS_STATIC, "thalesog@me.com", Decimal("10.00")),
        (PIX_UTILS_STATIC_ZERO, "thalesog@me.com", Decimal("0.00")),
        (PIX_UTILS_STATIC_NO_AMOUNT, "thalesog@me.com", None),
        (PIX_UTILS_DYNAMIC, None, None),
        (PIX_PAYLOAD_GENERATOR_NET, "bee05743-4291-4f3c-9259-595df1307ba1", Decimal("10.00")),
    ],
)
def test_published_payloads_of_other_libraries_are_read_back(
    payload: str, key: str | None, amount: Decimal | None
) -> None:
    read = parse_pix_payload(payload)

    assert (read.key, read.amount) == (key, amount)


@pytest.mark.parametrize("payload", PUBLISHED)
def test_any_single_changed_character_of_a_published_payload_is_refused(payload: str) -> None:
    for position in range(len(payload)):
        original = payload[position]
        replacement = "7" if original != "7" else "8"
        tampered = payload[:position] + replacement + payload[position + 1 :]
        with pytest.raises(PixError):
            parse_pix_payload(tampered)


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("", "000201"),
        ("https://example.com/pix", "000201"),
        (BCB_EXAMPLE[:-8], "CRC"),
        (BCB_EXAMPLE[:40] + BCB_EXAMPLE[-8:], "CRC não confere"),
    ],
)
def test_text_that_is_not_a_whole_payload_is_refused(text: str, hint: str) -> None:
    with pytest.raises(PixError) as error:
        parse_pix_payload(text)

    assert hint in error.value.message


def test_a_payload_with_a_correct_crc_but_broken_fields_is_refused() -> None:
    # Field 59 claims 30 characters: the CRC is recomputed so only the structure is wrong.
    body = BCB_EXAMPLE[:-4].replace("5913Fulano de Tal", "5930Fulano de Tal")
    with pytest.raises(PixError) as error:
        parse_pix_payload(body + oracle_crc(body))

    assert "incompleto" in error.value.message


def test_a_payload_without_the_pix_account_is_refused() -> None:
    body = BCB_EXAMPLE[:-4].replace("br.gov.bcb.pix", "br.gov.bcb.xyz")
    with pytest.raises(PixError) as error:
        parse_pix_payload(body + oracle_crc(body))

    assert "br.gov.bcb.pix" in error.value.message
