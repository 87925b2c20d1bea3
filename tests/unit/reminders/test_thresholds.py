"""Which reminder a certificate or a fatura is due for, by days left."""

from __future__ import annotations

import pytest

from domain.reminders import certificate_threshold, fatura_threshold


@pytest.mark.parametrize(
    ("days_left", "expected"),
    [
        (45, None),
        (31, None),
        (30, "30"),
        (16, "30"),
        (15, "15"),
        (8, "15"),
        (7, "7"),
        (2, "7"),
        (1, "1"),
        (0, "0"),
        (-1, "vencido"),
        (-400, "vencido"),
    ],
)
def test_a_certificate_is_in_the_threshold_covering_its_days_left(
    days_left: int, expected: str | None
) -> None:
    assert certificate_threshold(days_left) == expected


@pytest.mark.parametrize(
    ("days_to_due", "expected"),
    [(10, None), (4, None), (3, "vence"), (0, "vence"), (-1, "vencida")],
)
def test_a_fatura_is_due_soon_within_three_days_and_overdue_after(
    days_to_due: int, expected: str | None
) -> None:
    assert fatura_threshold(days_to_due) == expected
