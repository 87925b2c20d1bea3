"""The access key: layout, IBGE state codes, month, model and the mod-11 check digit."""

from __future__ import annotations

import pytest

from domain.documents import complete_cnpj
from domain.fiscal import InvalidKeyError, parse_chave

VALID_NFCE = "13181017921427000125650010000000309887251170"  # DOMAIN.md
VALID_NFE = "33150308370779000149550010001100931002410775"  # DOMAIN.md


def check_digit_by_hand(corpo: str) -> str:
    """The rule as DOMAIN.md states it, written out independently of the code under test."""
    weights = [2, 3, 4, 5, 6, 7, 8, 9] * 6
    total = sum((ord(c) - 48) * w for c, w in zip(reversed(corpo), weights, strict=False))
    r = total % 11
    return "0" if r < 2 else str(11 - r)


def test_the_two_sample_keys_of_the_domain_notes_are_valid_and_decoded() -> None:
    nfce = parse_chave(VALID_NFCE)
    nfe = parse_chave(VALID_NFE)

    assert (nfce.cuf, nfce.uf, nfce.aamm, nfce.ano, nfce.mes) == ("13", "AM", "1810", 2018, 10)
    assert (nfce.emitente, nfce.modelo, nfce.serie, nfce.numero) == (
        "17921427000125",
        "65",
        "001",
        "000000030",
    )
    assert (nfce.tp_emis, nfce.cnf, nfce.cdv) == ("9", "88725117", "0")
    assert (nfe.uf, nfe.modelo, nfe.numero, nfe.cdv) == ("RJ", "55", "000110093", "5")


def test_a_key_printed_in_groups_of_four_is_accepted() -> None:
    grouped = " ".join(VALID_NFE[i : i + 4] for i in range(0, 44, 4))

    assert parse_chave(grouped).valor == VALID_NFE


def test_a_key_with_a_wrong_check_digit_is_refused_saying_the_expected_digit() -> None:
    wrong = VALID_NFE[:43] + "6"

    with pytest.raises(InvalidKeyError) as caught:
        parse_chave(wrong)

    assert caught.value.reason == "dv"
    assert caught.value.chave == wrong
    assert "deveria ser 5" in caught.value.message


def test_a_key_with_an_alphanumeric_cnpj_is_valid_with_the_ord_minus_48_check_digit() -> None:
    cnpj = complete_cnpj("12ABC34501DE")
    corpo = f"352610{cnpj}55001000001234112345678"
    chave = corpo + check_digit_by_hand(corpo)

    parsed = parse_chave(chave)

    assert parsed.emitente == cnpj == "12ABC34501DE35"
    assert parsed.cdv == check_digit_by_hand(corpo)


def test_an_alphanumeric_key_whose_letter_changed_fails_the_check_digit() -> None:
    cnpj = complete_cnpj("12ABC34501DE")
    corpo = f"352610{cnpj}55001000001234112345678"
    chave = corpo + check_digit_by_hand(corpo)
    tampered = chave.replace("ABC", "ABD")

    with pytest.raises(InvalidKeyError) as caught:
        parse_chave(tampered)

    assert caught.value.reason == "dv"


@pytest.mark.parametrize(
    ("chave", "reason"),
    [
        (VALID_NFE[:43], "tamanho"),
        (VALID_NFE + "1", "tamanho"),
        ("", "tamanho"),
        ("AB" + VALID_NFE[2:], "formato"),  # letters only in the CNPJ's 12 first positions
        (VALID_NFE[:18] + "AB" + VALID_NFE[20:], "formato"),  # CNPJ check digits are numbers
        (VALID_NFE[:6] + "12abc34501de35" + VALID_NFE[20:], "formato"),  # lower case
        ("19" + VALID_NFE[2:], "uf"),
        ("00" + VALID_NFE[2:], "uf"),
        (VALID_NFE[:4] + "13" + VALID_NFE[6:], "mes"),
        (VALID_NFE[:4] + "00" + VALID_NFE[6:], "mes"),
        (VALID_NFE[:20] + "57" + VALID_NFE[22:], "modelo"),
        (VALID_NFE[:34] + "0" + VALID_NFE[35:], "tp_emis"),
    ],
)
def test_a_key_outside_the_layout_is_refused_with_the_reason(chave: str, reason: str) -> None:
    with pytest.raises(InvalidKeyError) as caught:
        parse_chave(chave)

    assert caught.value.reason == reason
    assert caught.value.message.startswith("A chave de acesso")
