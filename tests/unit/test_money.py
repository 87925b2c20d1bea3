"""Money: the gestor's 50% price (half up) and `R$ 1.234,56` for people."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.money import format_brl, gestor_price, monthly_price, to_money


@pytest.mark.parametrize(
    ("list_price", "gestor"),
    [
        ("79.90", "39.95"),
        ("119.90", "59.95"),
        ("299.90", "149.95"),
        ("100", "50.00"),
        ("0.05", "0.03"),  # 0.025 rounds half up, not to even
        ("10.01", "5.01"),  # 5.005 rounds half up
        ("0.01", "0.01"),
    ],
)
def test_the_gestor_pays_half_the_list_price_rounded_half_up(list_price: str, gestor: str) -> None:
    assert gestor_price(Decimal(list_price)) == Decimal(gestor)


def test_the_gestor_price_has_exactly_two_decimal_places() -> None:
    assert gestor_price(Decimal("100")).as_tuple().exponent == -2


def test_the_monthly_price_depends_on_who_pays() -> None:
    assert monthly_price(Decimal("179.90"), gestor_pays=True) == Decimal("89.95")
    assert monthly_price(Decimal("179.90"), gestor_pays=False) == Decimal("179.90")


def test_to_money_rounds_to_cents_half_up() -> None:
    assert to_money("2.345") == Decimal("2.35")
    assert to_money("2.344") == Decimal("2.34")
    assert to_money(3) == Decimal("3.00")


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("0", "R$ 0,00"),
        ("1234.5", "R$ 1.234,50"),
        ("1000000", "R$ 1.000.000,00"),
        ("999.995", "R$ 1.000,00"),
        ("0.5", "R$ 0,50"),
        ("-1234.5", "-R$ 1.234,50"),
        ("-0.001", "R$ 0,00"),
    ],
)
def test_format_brl_uses_dots_for_thousands_and_a_comma_for_cents(value: str, shown: str) -> None:
    assert format_brl(Decimal(value)) == shown
