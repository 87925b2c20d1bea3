"""A month typed at the month question, the ways people write it (domain/month_text.py)."""

from __future__ import annotations

import pytest

from domain.month_text import read_month

# Today, as the tests see it: November 2026 (São Paulo).
CURRENT = "2026-11"


@pytest.mark.parametrize(
    ("typed", "month"),
    [
        ("10/2026", "2026-10"),
        ("1/2026", "2026-01"),
        ("01/2026", "2026-01"),
        ("10/26", "2026-10"),
        ("10-2026", "2026-10"),
        ("10.2026", "2026-10"),
        (" 10 / 2026 ", "2026-10"),
        ("2026-10", "2026-10"),
        ("2026/3", "2026-03"),
        ("outubro", "2026-10"),
        ("out", "2026-10"),
        ("OUT", "2026-10"),
        ("Out.", "2026-10"),
        ("outu", "2026-10"),
        ("out/26", "2026-10"),
        ("out-2026", "2026-10"),
        ("out.26", "2026-10"),
        ("out26", "2026-10"),
        ("outubro de 2026", "2026-10"),
        ("Outubro 2026", "2026-10"),
        ("OUTUBRO/2026", "2026-10"),
        ("outubro  de  2026", "2026-10"),
        ("março", "2026-03"),
        ("marco", "2026-03"),
        ("Março de 2025", "2025-03"),
        ("MARÇO/25", "2025-03"),
        ("fev", "2026-02"),
        ("set", "2026-09"),
        ("setembro", "2026-09"),
        ("nov", "2026-11"),
        ("janeiro de 2027", "2027-01"),  # a typed year is kept: the caller refuses the future
        ("12/2030", "2030-12"),
    ],
)
def test_a_typed_month_is_read(typed: str, month: str) -> None:
    assert read_month(typed, CURRENT) == month


@pytest.mark.parametrize(
    ("typed", "month"),
    [
        ("dezembro", "2025-12"),  # December 2026 is still to come
        ("dez", "2025-12"),
        ("novembro", "2026-11"),  # the current month is not in the future
        ("jan", "2026-01"),
    ],
)
def test_a_month_name_alone_is_the_most_recent_one_not_in_the_future(
    typed: str, month: str
) -> None:
    assert read_month(typed, CURRENT) == month


def test_in_january_a_later_month_name_is_of_last_year() -> None:
    assert read_month("fevereiro", "2027-01") == "2026-02"
    assert read_month("janeiro", "2027-01") == "2027-01"


def test_a_month_name_alone_takes_the_chosen_year_when_there_is_one() -> None:
    assert read_month("mar", CURRENT, year=2024) == "2024-03"
    assert read_month("dezembro", CURRENT, year=2026) == "2026-12"
    assert read_month("10/2025", CURRENT, year=2024) == "2025-10"  # a typed year wins


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "   ",
        "abc",
        "ontem",
        "mês passado",
        "10",
        "2026",
        "13/2026",
        "0/2026",
        "00/26",
        "2026-13",
        "2026-00",
        "10/1999",
        "1999-10",
        "10/026",
        "10/20266",
        "100/2026",
        "10/2026/1",
        "ou",
        "ma",
        "ju",
        "outubros",
        "outubrode 2026",
        "out de",
        "out/2",
        "jun/jul",
        "10/2026 NF-e",
        "octubre",
        "october 2026",
        "١٠/٢٠٢٦",  # digits of another script
    ],
)
def test_anything_else_is_not_a_month(typed: str) -> None:
    assert read_month(typed, CURRENT) is None
