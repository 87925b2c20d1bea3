"""E-mail, telephone, CEP, address and company names as people type them."""

from __future__ import annotations

import pytest

from domain.contacts import (
    Address,
    clean_text,
    format_cep,
    format_phone,
    parse_address,
    parse_cep,
    parse_company_name,
    parse_email,
    parse_phone,
)
from domain.errors import InvalidValue


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("fulano@empresa.com.br", "fulano@empresa.com.br"),
        ("  Fulano.Silva@Empresa.COM.br ", "fulano.silva@empresa.com.br"),
        ("contato+nfe@loja-x.com", "contato+nfe@loja-x.com"),
    ],
)
def test_a_valid_email_is_accepted_and_lower_cased(typed: str, stored: str) -> None:
    assert parse_email(typed) == stored


@pytest.mark.parametrize(
    "typed", ["fulano", "fulano@", "@empresa.com.br", "a@b", "fulano @empresa.com.br", "x@y..com"]
)
def test_an_invalid_email_is_refused_with_an_example(typed: str) -> None:
    with pytest.raises(InvalidValue, match="não parece válido") as caught:
        parse_email(typed)

    assert "nome@empresa.com.br" in caught.value.message
    assert caught.value.field == "email"


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("(11) 98765-4321", "+5511987654321"),  # mobile
        ("11987654321", "+5511987654321"),
        ("+55 21 99876-5432", "+5521998765432"),
        ("(11) 3333-4444", "+551133334444"),  # landline
        ("48 3222-1100", "+554832221100"),
    ],
)
def test_a_brazilian_phone_is_stored_in_e164(typed: str, e164: str) -> None:
    assert parse_phone(typed) == e164


@pytest.mark.parametrize(
    "typed",
    [
        "(20) 98765-4321",  # DDD 20 does not exist
        "(10) 3333-4444",  # nor does 10
        "9876-54",  # too short
        "98765-4321",  # no DDD
        "(11) 98765-43210",  # too long
    ],
)
def test_a_phone_with_an_invalid_ddd_or_length_is_refused(typed: str) -> None:
    with pytest.raises(InvalidValue, match="telefone não é válido") as caught:
        parse_phone(typed)

    assert "DDD" in caught.value.message


def test_text_that_is_not_a_phone_at_all_is_not_understood() -> None:
    with pytest.raises(InvalidValue, match="Não entendi o telefone"):
        parse_phone("sem telefone")


def test_a_phone_is_shown_in_the_national_format() -> None:
    assert format_phone("+5511987654321") == "(11) 98765-4321"
    assert format_phone("+551133334444") == "(11) 3333-4444"


@pytest.mark.parametrize(
    ("typed", "digits"),
    [
        ("01310-100", "01310100"),
        ("01310100", "01310100"),
        ("01.310-100", "01310100"),
        (" 01310 100 ", "01310100"),
    ],
)
def test_a_cep_is_kept_as_eight_digits(typed: str, digits: str) -> None:
    assert parse_cep(typed) == digits


@pytest.mark.parametrize("typed", ["1310-100", "013101000", "00000-000", "0131O-100", ""])
def test_an_invalid_cep_is_refused(typed: str) -> None:
    with pytest.raises(InvalidValue, match="O CEP tem 8 números"):
        parse_cep(typed)


def test_a_cep_is_shown_with_the_dash() -> None:
    assert format_cep("01310100") == "01310-100"


@pytest.mark.parametrize(
    ("typed", "address"),
    [
        (
            "Av. Paulista, 1000 - Bela Vista - São Paulo/SP",
            Address("Av. Paulista, 1000 - Bela Vista", "São Paulo", "SP"),
        ),
        ("Rua A, 10, Campinas - sp", Address("Rua A, 10", "Campinas", "SP")),
        (
            "Rua das Flores, S/N - Centro - Campinas/SP",
            Address("Rua das Flores, S/N - Centro", "Campinas", "SP"),
        ),
        (
            "Rua Bahia, 12, Centro, Blumenau, SC",
            Address("Rua Bahia, 12, Centro", "Blumenau", "SC"),
        ),
        (
            "Rua  Sete,   70 -  Centro -  Rio de Janeiro / RJ",
            Address("Rua Sete, 70 - Centro", "Rio de Janeiro", "RJ"),
        ),
    ],
)
def test_an_address_with_street_number_city_and_uf_is_read(typed: str, address: Address) -> None:
    assert parse_address(typed) == address


@pytest.mark.parametrize(
    ("typed", "address"),
    [
        ("Rua A, 100 - Centro - Ji-Paraná/RO", Address("Rua A, 100 - Centro", "Ji-Paraná", "RO")),
        ("Rua B, 5 - Embu-Guaçu - SP", Address("Rua B, 5", "Embu-Guaçu", "SP")),
    ],
)
def test_a_city_with_a_hyphen_in_its_name_is_kept_whole(typed: str, address: Address) -> None:
    assert parse_address(typed) == address


def test_an_address_is_shown_in_one_line() -> None:
    address = parse_address("Rua das Flores, 123 - Centro - São Paulo/SP")

    assert address.one_line == "Rua das Flores, 123 - Centro - São Paulo/SP"


@pytest.mark.parametrize(
    "typed",
    ["Rua das Flores, 123", "Rua A 100 São Paulo SP", "Rua A, 100 - SP", "Rua A, 1, Centro"],
)
def test_an_address_without_city_and_uf_is_refused(typed: str) -> None:
    with pytest.raises(InvalidValue, match="Faltou a cidade e o estado") as caught:
        parse_address(typed)

    assert "Rua das Flores, 123 - Centro - São Paulo/SP" in caught.value.message


def test_an_address_with_an_unknown_uf_is_refused_naming_it() -> None:
    with pytest.raises(InvalidValue, match="“XX” não é a sigla de um estado"):
        parse_address("Rua X, 12 - Centro - Cidade/XX")


@pytest.mark.parametrize("typed", ["Rua sem numero - Centro - Campinas/SP", "R 1 - Campinas/SP"])
def test_an_address_without_a_street_number_or_sn_is_refused(typed: str) -> None:
    with pytest.raises(InvalidValue, match="Faltou a rua e o número"):
        parse_address(typed)


def test_an_address_over_200_characters_is_refused_quickly() -> None:
    with pytest.raises(InvalidValue, match="200 caracteres"):
        parse_address("Rua A-" * 2000 + ", 10 - Centro - Campinas/SP")


@pytest.mark.parametrize(
    ("typed", "name"),
    [
        ("Padaria Pão Quente Ltda", "Padaria Pão Quente Ltda"),
        ("  Mercado   São\tJoão  ", "Mercado São João"),
        ("3M", "3M"),
    ],
)
def test_a_company_name_is_kept_with_its_spaces_collapsed(typed: str, name: str) -> None:
    assert parse_company_name(typed) == name


@pytest.mark.parametrize("typed", ["A", "  ", "12345", "--"])
def test_a_company_name_without_two_characters_and_a_letter_is_refused(typed: str) -> None:
    with pytest.raises(InvalidValue, match="A razão social precisa ter pelo menos 2 letras"):
        parse_company_name(typed)


def test_a_company_name_over_120_characters_is_refused() -> None:
    with pytest.raises(InvalidValue, match="no máximo 120 caracteres"):
        parse_company_name("A" * 121)


def test_the_nome_fantasia_is_named_in_its_own_message() -> None:
    with pytest.raises(InvalidValue, match="O nome fantasia") as caught:
        parse_company_name("x", field="nome_fantasia", label="o nome fantasia")

    assert caught.value.field == "nome_fantasia"


def test_clean_text_drops_control_characters() -> None:
    assert clean_text("Loja\u0000 do\u200b Zé\n") == "Loja do Zé"
