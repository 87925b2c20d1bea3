"""Money: `Decimal` everywhere; the gestor's 50% price; `R$ 1.234,56` for people."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
GESTOR_SHARE = Decimal("0.5")


def to_money(value: Decimal | str | int) -> Decimal:
    """Round a value to cents, half up, as invoices do."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def gestor_price(plan_price: Decimal) -> Decimal:
    """What a gestor pays for a client whose monthly fee it pays: 50% of the plan's price."""
    return to_money(plan_price * GESTOR_SHARE)


def monthly_price(plan_price: Decimal, *, gestor_pays: bool) -> Decimal:
    """The price that applies to a client's plan given who pays the monthly fee."""
    return gestor_price(plan_price) if gestor_pays else to_money(plan_price)


def format_brl(value: Decimal) -> str:
    """`Decimal("1234.5")` → `R$ 1.234,50`."""
    amount = to_money(value)
    sign = "-" if amount < 0 else ""
    whole, cents = f"{abs(amount):.2f}".split(".")
    groups: list[str] = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    return f"{sign}R$ {'.'.join(groups)},{cents}"
