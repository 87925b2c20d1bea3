"""CPF and CNPJ (numeric and alphanumeric): validation, normalization, formatting, check digits."""

from __future__ import annotations

import pytest

from domain.documents import (
    DocumentType,
    complete_cnpj,
    format_tax_id,
    normalize,
    parse_cnpj,
    parse_tax_id,
)
from domain.errors import InvalidValue


@pytest.mark.parametrize(
    ("typed", "value"),
    [
        ("11.222.333/0001-81", "11222333000181"),
        ("11222333000181", "11222333000181"),
        (" 11 222 333 0001 81 ", "11222333000181"),
        ("12ABC34501DE35", "12ABC34501DE35"),
        ("12.abc.345/01de-35", "12ABC34501DE35"),
    ],
)
def test_a_valid_cnpj_is_accepted_with_or_without_punctuation(typed: str, value: str) -> None:
    tax_id = parse_tax_id(typed)

    assert tax_id.value == value
    assert tax_id.kind is DocumentType.CNPJ


@pytest.mark.parametrize(
    ("typed", "value"), [("529.982.247-25", "52998224725"), ("12345678909", "12345678909")]
)
def test_a_valid_cpf_is_accepted(typed: str, value: str) -> None:
    tax_id = parse_tax_id(typed)

    assert tax_id.value == value
    assert tax_id.kind is DocumentType.CPF


@pytest.mark.parametrize(
    "typed",
    [
        "11.222.333/0001-82",  # second check digit wrong
        "11.222.333/0001-91",  # first check digit wrong
        "12ABC34501DE36",  # alphanumeric, wrong check digit
        "12.abc.345/01de-53",  # alphanumeric, digits swapped
    ],
)
def test_a_cnpj_whose_check_digits_do_not_match_is_refused(typed: str) -> None:
    with pytest.raises(InvalidValue, match="CNPJ não é válido") as caught:
        parse_tax_id(typed)

    assert caught.value.field == "documento"


def test_a_cpf_with_wrong_check_digits_is_refused() -> None:
    with pytest.raises(InvalidValue, match="CPF não é válido"):
        parse_tax_id("529.982.247-24")


@pytest.mark.parametrize(
    ("typed", "kind"),
    [
        ("11111111111111", "CNPJ"),
        ("00.000.000/0000-00", "CNPJ"),  # its check digits even add up
        ("99999999999999", "CNPJ"),
        ("111.111.111-11", "CPF"),
        ("000.000.000-00", "CPF"),  # its check digits even add up
    ],
)
def test_a_document_of_one_repeated_digit_gets_its_own_reason(typed: str, kind: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        parse_tax_id(typed)

    assert caught.value.message == (
        f"{kind} com todos os dígitos iguais não existe. Confira o número e digite de novo."
    )
    assert caught.value.field == "documento"


def test_a_gestor_cnpj_of_one_repeated_digit_gets_the_same_reason() -> None:
    with pytest.raises(InvalidValue, match="CNPJ com todos os dígitos iguais não existe"):
        parse_cnpj("22.222.222/2222-22")


@pytest.mark.parametrize(
    "typed",
    [
        "1234567890",  # 10 digits
        "123456789012",  # 12 digits
        "112223330001811",  # 15 digits
        "12ABC34501DEA5",  # a letter in the check digits
        "1234567890A",  # 11 characters, not all digits
        "CNPJ da empresa",
    ],
)
def test_a_document_of_the_wrong_length_or_shape_is_not_recognized(typed: str) -> None:
    with pytest.raises(InvalidValue, match="Não reconheci um CPF"):
        parse_tax_id(typed)


@pytest.mark.parametrize("typed", ["", "  ", "./-"])
def test_an_empty_document_asks_for_one(typed: str) -> None:
    with pytest.raises(InvalidValue, match="Digite o CPF ou o CNPJ"):
        parse_tax_id(typed)


def test_normalize_drops_punctuation_and_upper_cases_letters() -> None:
    assert normalize(" 12.abc.345/01de-35 ") == "12ABC34501DE35"


def test_parse_cnpj_refuses_a_cpf() -> None:
    with pytest.raises(InvalidValue, match="não um CPF") as caught:
        parse_cnpj("529.982.247-25")

    assert caught.value.field == "cnpj"


def test_a_cnpj_is_formatted_with_dots_slash_and_dash() -> None:
    assert format_tax_id("11222333000181") == "11.222.333/0001-81"
    assert format_tax_id("12ABC34501DE35") == "12.ABC.345/01DE-35"
    assert parse_tax_id("11222333000181").formatted == "11.222.333/0001-81"


def test_a_cpf_is_formatted_with_dots_and_dash() -> None:
    assert format_tax_id("52998224725") == "529.982.247-25"


def test_a_value_of_another_length_is_formatted_unchanged() -> None:
    assert format_tax_id("12345") == "12345"


def test_the_cnpj_root_is_its_first_eight_characters_and_a_cpf_is_its_own_root() -> None:
    assert parse_tax_id("11.222.333/0001-81").root == "11222333"
    assert parse_tax_id("529.982.247-25").root == "52998224725"


@pytest.mark.parametrize(
    ("base", "complete"),
    [
        ("11.222.333/0001", "11222333000181"),
        ("112223330001", "11222333000181"),
        ("12.ABC.345/01DE", "12ABC34501DE35"),
        ("12abc34501de", "12ABC34501DE35"),
    ],
)
def test_complete_cnpj_appends_the_known_check_digits(base: str, complete: str) -> None:
    assert complete_cnpj(base) == complete


def test_every_cnpj_completed_from_a_base_is_valid() -> None:
    for n in range(50):
        value = complete_cnpj(f"{n * 7919:08d}0001")
        assert parse_tax_id(value).value == value


@pytest.mark.parametrize("base", ["11222333000", "1122233300011", "11222333000*"])
def test_complete_cnpj_refuses_a_base_that_is_not_12_characters(base: str) -> None:
    with pytest.raises(InvalidValue, match="12 caracteres"):
        complete_cnpj(base)
