"""Boleto numbers against published examples: factor (2025 rollover), barcode, linha digitável.

Sources of the real examples (facts only; no code taken):

* BoletoNet/BoletoNetCore `BoletoNetCore.Testes/Bancos/Itau/Carteiras/BancoItauCarteira109Tests.cs`
  (same cases in BoletoNet/boleto2net `Boleto2.Net.Testes/BancoItauCarteira109Tests.cs`): Itaú 109,
  agência 1234, conta 56789, nine boletos covering every barcode check digit 1–9.
* kivanio/brcobranca `spec/brcobranca/boleto/itau_spec.rb`: Itaú 109 due 2029-05-20 (after the
  rollover, factor 2548) and Itaú 175 boletos of 2008–2009 (one with amount zero).
* kivanio/brcobranca `spec/brcobranca/calculo_data_spec.rb` and BoletoNet/boleto2net
  `Boleto2.Net.Testes/FatorVencimento.cs`: dates and their factors.
* eduardocereto/pyboleto `tests/test_banco_itau.py`: Itaú 109 due 2009-10-19.
* BoletoNet/BoletoNetCore
  `BoletoNetCore.Testes/Bancos/BancoInter/Carteiras/BancoInterCarteira110Tests.cs`: Banco Inter
  due 2023-08-31 (factor 9459, late in the first cycle).
* fernandosavio/boleto-utils `boleto-utils/src/cobranca.rs`: real barcodes of Sicoob, BB, 755 and
  Bradesco with their due dates, and factors 1002/1667 read as 2025-02-24/2026-12-21.
* mrmgomes/boleto-utils `test/test.js`: a Caixa boleto (2022) and a Bradesco card bill with no due
  date and amount zero.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

import pytest

from domain.boleto import (
    AmountOutOfRange,
    BoletoError,
    DueDateOutOfRange,
    WrongCheckDigit,
    barcode,
    check_barcode,
    due_date_factor,
    format_linha_digitavel,
    itau_conta_dac,
    itau_free_field,
    itau_nosso_numero,
    linha_digitavel,
    parse_linha_digitavel,
)
from domain.errors import InvalidValue


def digits_of(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


# --- due-date factor ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("due", "factor"),
    [
        # kivanio/brcobranca spec/brcobranca/calculo_data_spec.rb
        (date(2008, 2, 1), "3769"),
        (date(2008, 2, 2), "3770"),
        (date(2008, 2, 6), "3774"),
        (date(2000, 7, 3), "1000"),
        (date(2000, 7, 4), "1001"),
        (date(2000, 7, 5), "1002"),
        (date(2002, 5, 1), "1667"),
        (date(2010, 11, 17), "4789"),
        (date(2025, 2, 21), "9999"),
        (date(2025, 2, 22), "1000"),
        (date(2025, 2, 23), "1001"),
        # BoletoNet/boleto2net Boleto2.Net.Testes/FatorVencimento.cs
        (date(2014, 1, 18), "5947"),
        (date(2014, 3, 12), "6000"),
        (date(2017, 1, 21), "7046"),
        # fernandosavio/boleto-utils: factors of the new cycle read back as dates
        (date(2025, 2, 24), "1002"),
        (date(2026, 12, 21), "1667"),
    ],
)
def test_the_factor_of_a_date_matches_the_published_tables(due: date, factor: str) -> None:
    assert due_date_factor(due) == factor


def test_the_factor_restarts_at_1000_the_day_after_9999_in_2025_and_again_in_2049() -> None:
    assert due_date_factor(date(2025, 2, 21)) == "9999"
    assert due_date_factor(date(2025, 2, 22)) == "1000"
    assert due_date_factor(date(2049, 10, 13)) == "9999"
    assert due_date_factor(date(2049, 10, 14)) == "1000"


def test_each_day_from_2000_to_2060_has_a_four_digit_factor_one_above_the_day_before() -> None:
    day = date(2000, 7, 3)
    previous = due_date_factor(day)
    while day < date(2060, 1, 1):
        day += timedelta(days=1)
        factor = due_date_factor(day)
        assert len(factor) == 4
        assert 1000 <= int(factor) <= 9999
        assert int(factor) == (int(previous) + 1 if previous != "9999" else 1000)
        previous = factor


def test_dates_of_the_first_thousand_days_keep_their_historical_factors_0001_to_0999() -> None:
    # Factor 1000 was originally 2000-07-03: earlier dates counted 0001… from 1997-10-08. The
    # cyclic formula would wrongly give them 9001–9999, the factors of 2022–2025.
    assert due_date_factor(date(1997, 10, 8)) == "0001"
    assert due_date_factor(date(1998, 1, 1)) == "0086"
    assert due_date_factor(date(2000, 7, 2)) == "0999"


@pytest.mark.parametrize("due", [date(1997, 10, 7), date(1997, 10, 6), date(1990, 1, 1)])
def test_a_due_date_on_or_before_the_base_date_is_refused(due: date) -> None:
    with pytest.raises(DueDateOutOfRange) as error:
        due_date_factor(due)

    assert "08/10/1997" in error.value.message
    assert isinstance(error.value, InvalidValue)


def test_no_due_date_is_factor_0000() -> None:
    assert due_date_factor(None) == "0000"


# --- Itaú carteira 109: published boletos -------------------------------------------------

# BoletoNetCore BancoItauCarteira109Tests.cs: amount, nosso número, DV, nosso número formatted,
# barcode, linha digitável, due date. Agência 1234, conta 56789.
ITAU_109_BOLETONET = [
    (
        "600.00",
        "223350",
        "1",
        "109/00223350-2",
        "34191719500000600001090022335021234567890000",
        "34191.09008 22335.021238 45678.900007 1 71950000060000",
        date(2017, 6, 19),
    ),
    (
        "800.08",
        "223352",
        "2",
        "109/00223352-8",
        "34192719500000800081090022335281234567890000",
        "34191.09008 22335.281238 45678.900007 2 71950000080008",
        date(2017, 6, 19),
    ),
    (
        "100.00",
        "223345",
        "3",
        "109/00223345-2",
        "34193719500000100001090022334521234567890000",
        "34191.09008 22334.521238 45678.900007 3 71950000010000",
        date(2017, 6, 19),
    ),
    (
        "200.00",
        "223346",
        "4",
        "109/00223346-0",
        "34194722500000200001090022334601234567890000",
        "34191.09008 22334.601238 45678.900007 4 72250000020000",
        date(2017, 7, 19),
    ),
    (
        "900.03",
        "223353",
        "5",
        "109/00223353-6",
        "34195719500000900031090022335361234567890000",
        "34191.09008 22335.361238 45678.900007 5 71950000090003",
        date(2017, 6, 19),
    ),
    (
        "700.01",
        "223351",
        "6",
        "109/00223351-0",
        "34196719500000700011090022335101234567890000",
        "34191.09008 22335.101238 45678.900007 6 71950000070001",
        date(2017, 6, 19),
    ),
    (
        "400.00",
        "223348",
        "7",
        "109/00223348-6",
        "34197728700000400001090022334861234567890000",
        "34191.09008 22334.861238 45678.900007 7 72870000040000",
        date(2017, 9, 19),
    ),
    (
        "500.00",
        "223349",
        "8",
        "109/00223349-4",
        "34198731700000500001090022334941234567890000",
        "34191.09008 22334.941238 45678.900007 8 73170000050000",
        date(2017, 10, 19),
    ),
    (
        "300.00",
        "223347",
        "9",
        "109/00223347-8",
        "34199725600000300001090022334781234567890000",
        "34191.09008 22334.781238 45678.900007 9 72560000030000",
        date(2017, 8, 19),
    ),
]


@pytest.mark.parametrize(
    ("amount", "numero", "dv", "nosso_formatado", "expected_barcode", "expected_linha", "due"),
    ITAU_109_BOLETONET,
)
def test_itau_109_boletos_of_boletonet_are_reproduced_digit_for_digit(
    amount: str,
    numero: str,
    dv: str,
    nosso_formatado: str,
    expected_barcode: str,
    expected_linha: str,
    due: date,
) -> None:
    nosso = itau_nosso_numero("109", numero, "1234", "56789")
    # BoletoNet's fixture account is 1234/56789-0, a made-up digit (Itaú's rule gives 7), and its
    # free field carries that digit; so the free field is assembled here with it.
    free = nosso.carteira + nosso.numero + nosso.dac + "1234" + "56789" + "0" + "000"
    code = barcode("341", Decimal(amount), due, free)

    assert nosso.formatted == nosso_formatado
    assert itau_free_field("109", numero, "1234", "56789")[:20] == free[:20]
    assert code == expected_barcode
    assert code[4] == dv
    assert format_linha_digitavel(linha_digitavel(code)) == expected_linha
    assert parse_linha_digitavel(expected_linha) == expected_barcode


def test_the_nine_boletonet_cases_cover_every_barcode_check_digit() -> None:
    assert sorted(case[2] for case in ITAU_109_BOLETONET) == list("123456789")


@pytest.mark.parametrize(
    ("carteira", "numero", "agencia", "conta", "amount", "due", "expected_code", "expected_linha"),
    [
        # kivanio/brcobranca itau_spec.rb: due after the 2025 rollover (factor 2548, not 11548)
        (
            "109",
            "00010152",
            "1248",
            "02124",
            "6757.87",
            date(2029, 5, 20),
            "34194254800006757871090001015271248021246000",
            "34191.09008 01015.271248 80212.460002 4 25480000675787",
        ),
        # kivanio/brcobranca itau_spec.rb: carteira 175, 2008 and 2009, the second with amount 0
        (
            "175",
            "258281",
            "0810",
            "53678",
            "135.00",
            date(2008, 2, 2),
            "34191377000000135001750025828170810536789000",
            "34191.75009 25828.170818 05367.890000 1 37700000013500",
        ),
        (
            "175",
            "12345678",
            "0810",
            "53678",
            "0",
            date(2009, 8, 14),
            "34191432900000000001751234567840810536789000",
            "34191.75124 34567.840813 05367.890000 1 43290000000000",
        ),
        # eduardocereto/pyboleto tests/test_banco_itau.py
        (
            "109",
            "157",
            "0293",
            "01328",
            "29.80",
            date(2009, 10, 19),
            "34199439500000029801090000015710293013280000",
            "34191.09008 00015.710296 30132.800001 9 43950000002980",
        ),
    ],
)
def test_itau_boletos_of_brcobranca_and_pyboleto_are_reproduced_before_and_after_the_rollover(
    carteira: str,
    numero: str,
    agencia: str,
    conta: str,
    amount: str,
    due: date,
    expected_code: str,
    expected_linha: str,
) -> None:
    free = itau_free_field(carteira, numero, agencia, conta)
    code = barcode("341", Decimal(amount), due, free)

    assert code == expected_code
    assert format_linha_digitavel(linha_digitavel(code)) == expected_linha
    assert parse_linha_digitavel(expected_linha) == expected_code


def test_the_2029_boleto_carries_factor_2548_which_9000_days_earlier_meant_another_date() -> None:
    free = itau_free_field("109", "00010152", "1248", "02124")
    after = barcode("341", Decimal("6757.87"), date(2029, 5, 20), free)
    # The factor repeats every 9000 days: the barcode alone cannot tell 2004 from 2029.
    before = barcode("341", Decimal("6757.87"), date(2029, 5, 20) - timedelta(days=9000), free)

    assert after[5:9] == "2548"
    assert before == after


def test_the_same_boleto_due_on_2025_02_21_and_2025_02_22_gets_factors_9999_and_1000() -> None:
    free = itau_free_field("109", "223350", "1234", "56789")

    last_of_old_cycle = barcode("341", Decimal("600.00"), date(2025, 2, 21), free)
    first_of_new_cycle = barcode("341", Decimal("600.00"), date(2025, 2, 22), free)

    assert last_of_old_cycle[5:9] == "9999"
    assert first_of_new_cycle[5:9] == "1000"
    assert parse_linha_digitavel(linha_digitavel(last_of_old_cycle)) == last_of_old_cycle
    assert parse_linha_digitavel(linha_digitavel(first_of_new_cycle)) == first_of_new_cycle


@pytest.mark.parametrize(
    ("numero", "agencia", "conta", "dac"),
    [
        ("157", "0293", "01328", "1"),  # pyboleto test_dv_nosso_numero
        ("12345678", "0810", "53678", "4"),  # brcobranca (carteira 175)
        ("00010152", "1248", "02124", "7"),  # brcobranca
    ],
)
def test_the_itau_nosso_numero_dac_matches_the_published_ones(
    numero: str, agencia: str, conta: str, dac: str
) -> None:
    carteira = "175" if numero == "12345678" else "109"
    assert itau_nosso_numero(carteira, numero, agencia, conta).dac == dac


@pytest.mark.parametrize(
    ("carteira", "numero", "agencia", "conta", "field"),
    [
        ("196", "1", "1234", "56789", "carteira"),  # 15-digit layout: not guessed
        ("109", "123456789", "1234", "56789", "nosso_numero"),
        ("109", "12A", "1234", "56789", "nosso_numero"),
        ("109", "1", "123", "56789", "agencia"),
        ("109", "1", "1234", "5678", "conta"),
    ],
)
def test_itau_values_outside_the_layout_are_refused(
    carteira: str, numero: str, agencia: str, conta: str, field: str
) -> None:
    with pytest.raises(BoletoError) as error:
        itau_free_field(carteira, numero, agencia, conta)

    assert error.value.field == field


@pytest.mark.parametrize(
    ("agencia", "conta", "dac"),
    [
        # kivanio/brcobranca itau_spec.rb "Montar agencia_conta_corrente_dv"
        ("0607", "15255", "0"),
        ("1547", "85547", "6"),
        ("1547", "10207", "7"),
        ("0811", "53678", "8"),
        # eduardocereto/pyboleto test_dv_agencia_conta_cedente
        ("0293", "01328", "0"),
    ],
)
def test_the_itau_account_digit_matches_the_published_ones(
    agencia: str, conta: str, dac: str
) -> None:
    assert itau_conta_dac(agencia, conta) == dac


# --- other banks through the generic free-field path ---------------------------------------


@pytest.mark.parametrize(
    ("code", "due"),
    [
        # BoletoNetCore BancoInterCarteira110Tests.cs: late in the first cycle (factor 9459)
        ("07791945900000005000001110123456700000000014", date(2023, 8, 31)),
        # fernandosavio/boleto-utils boleto-utils/src/cobranca.rs
        ("75696903800002500001434301033723400014933001", date(2022, 7, 6)),
        ("00191667900002434790000002656973019362470618", date(2016, 1, 20)),
        ("00195586200000773520000002464206011816073018", date(2013, 10, 25)),
        ("75592896700003787000003389850761252543475984", date(2022, 4, 26)),
        ("23791672000003249052028269705944177105205220", date(2016, 3, 1)),
        ("23791672000003097902028060007024617500249000", date(2016, 3, 1)),
        # mrmgomes/boleto-utils test/test.js
        ("10499898100000214032006561000100040099726390", date(2022, 5, 10)),
        ("23797000000000000004150090019801673500021140", None),  # card bill: 0000, amount 0
    ],
)
def test_real_barcodes_of_other_banks_are_rebuilt_from_their_parts(
    code: str, due: date | None
) -> None:
    amount = Decimal(int(code[9:19])) / 100

    assert check_barcode(code) == code
    assert barcode(code[:3], amount, due, code[19:], currency=code[3]) == code


@pytest.mark.parametrize(
    ("code", "linha"),
    [
        (
            "07791945900000005000001110123456700000000014",
            "07790.00116 10123.456708 00000.000141 1 94590000000500",
        ),
        (
            "75696903800002500001434301033723400014933001",
            "75691.43436 01033.723402 00149.330011 6 90380000250000",
        ),
        (
            "10499898100000214032006561000100040099726390",
            "10492006506100010004200997263900989810000021403",
        ),
        (
            "23797000000000000004150090019801673500021140",
            "23794150099001980167035000211405700000000000000",
        ),
    ],
)
def test_real_linhas_digitaveis_of_other_banks_convert_both_ways(code: str, linha: str) -> None:
    assert linha_digitavel(code) == digits_of(linha)
    assert parse_linha_digitavel(linha) == code


# --- every wrong check digit refused --------------------------------------------------------

LINHA = "34191.09008 22335.021238 45678.900007 1 71950000060000"  # BoletoNetCore, Itaú 109


@pytest.mark.parametrize(
    ("position", "what"),
    [(9, "1º campo"), (20, "2º campo"), (31, "3º campo"), (32, "dígito verificador geral")],
)
def test_each_wrong_check_digit_of_a_real_linha_is_refused_with_its_own_message(
    position: int, what: str
) -> None:
    digits = digits_of(LINHA)
    for wrong in "0123456789":
        if wrong == digits[position]:
            continue
        typed = digits[:position] + wrong + digits[position + 1 :]

        with pytest.raises(WrongCheckDigit) as error:
            parse_linha_digitavel(typed)

        assert what in error.value.message
        assert error.value.found == wrong
        assert error.value.expected == digits[position]


def test_any_single_mistyped_digit_in_the_first_three_fields_is_caught() -> None:
    digits = digits_of(LINHA)
    for position in range(32):
        for wrong in "0123456789":
            if wrong == digits[position]:
                continue
            typed = digits[:position] + wrong + digits[position + 1 :]
            with pytest.raises(WrongCheckDigit):
                parse_linha_digitavel(typed)


def test_a_wrong_barcode_check_digit_is_refused() -> None:
    code = "34191719500000600001090022335021234567890000"

    with pytest.raises(WrongCheckDigit) as error:
        check_barcode(code[:4] + "2" + code[5:])

    assert error.value.field == "codigo_de_barras"
    with pytest.raises(WrongCheckDigit):
        linha_digitavel(code[:4] + "2" + code[5:])


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "3419109008223350212384567890000717195000006000",  # 46 digits
        "341910900822335021238456789000071719500000600000",  # 48 digits, not starting with 8
        "3419X.09008 22335.021238 45678.900007 1 71950000060000",
    ],
)
def test_a_linha_of_the_wrong_size_or_with_letters_is_refused(typed: str) -> None:
    with pytest.raises(BoletoError) as error:
        parse_linha_digitavel(typed)

    assert "47 números" in error.value.message


def test_a_utility_bill_line_is_told_apart_from_a_boleto() -> None:
    with pytest.raises(BoletoError) as error:
        parse_linha_digitavel("858200000007572503282030560708202107539591904460")

    assert "conta de consumo" in error.value.message


def test_format_accepts_a_linha_typed_with_or_without_punctuation() -> None:
    assert format_linha_digitavel(digits_of(LINHA)) == LINHA
    assert format_linha_digitavel(LINHA) == LINHA


# --- generated round trips ------------------------------------------------------------------


def test_generated_boletos_round_trip_between_barcode_and_linha_digitavel() -> None:
    rng = random.Random(20250222)
    for _ in range(2000):
        bank = f"{rng.randrange(1000):03d}"
        cents = rng.choice([0, 1, 99, rng.randrange(10**10), 10**10 - 1])
        due = date(2000, 7, 3) + timedelta(days=rng.randrange(20000))
        free = "".join(rng.choice("0123456789") for _ in range(25))

        code = barcode(bank, Decimal(cents) / 100, due, free)
        linha = linha_digitavel(code)

        assert len(code) == 44
        assert len(linha) == 47
        assert code[5:9] == due_date_factor(due)
        assert code[9:19] == f"{cents:010d}"
        assert code[4] != "0"
        assert parse_linha_digitavel(linha) == code
        assert parse_linha_digitavel(format_linha_digitavel(linha)) == code


# --- amount and parts -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "field"),
    [
        (Decimal("0"), "0000000000"),
        (Decimal("0.01"), "0000000001"),
        (Decimal("1234.5"), "0000123450"),
        (Decimal("99999999.99"), "9999999999"),
    ],
)
def test_amounts_from_zero_to_the_ten_digit_limit_are_written_in_cents(
    amount: Decimal, field: str
) -> None:
    assert barcode("341", amount, date(2026, 12, 10), "0" * 25)[9:19] == field


@pytest.mark.parametrize(
    "amount", [Decimal("-0.01"), Decimal("100000000.00"), Decimal("10.005"), Decimal("NaN")]
)
def test_negative_too_large_or_sub_cent_amounts_are_refused(amount: Decimal) -> None:
    with pytest.raises(AmountOutOfRange) as error:
        barcode("341", amount, date(2026, 12, 10), "0" * 25)

    assert error.value.field == "valor"


@pytest.mark.parametrize(
    ("bank", "free_field", "currency", "field"),
    [
        ("34", "0" * 25, "9", "banco"),
        ("3411", "0" * 25, "9", "banco"),
        ("341", "0" * 24, "9", "campo_livre"),
        ("341", "0" * 24 + "A", "9", "campo_livre"),
        ("341", "0" * 25, "", "moeda"),
    ],
)
def test_malformed_parts_of_a_barcode_are_refused(
    bank: str, free_field: str, currency: str, field: str
) -> None:
    with pytest.raises(BoletoError) as error:
        barcode(bank, Decimal("10.00"), date(2026, 12, 10), free_field, currency)

    assert error.value.field == field
