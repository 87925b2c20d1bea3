"""The urgency order of the Pendências groups and how a page is cut across them."""

from __future__ import annotations

from datetime import date

from domain.pendencias import Group, Kind, Slice, clamp_page, ordered, page_count, slices

DAY = date(2026, 3, 2)


def test_a_group_holding_something_overdue_comes_before_any_deadline_ahead() -> None:
    soon = Group(Kind.CERTIFICADO, 3, 0, date(2026, 3, 3))
    late = Group(Kind.FATURA, 1, 1, date(2026, 2, 20))

    assert [g.kind for g in ordered([soon, late])] == [Kind.FATURA, Kind.CERTIFICADO]


def test_groups_with_deadlines_go_by_the_nearest_one_and_the_rest_last_in_kind_order() -> None:
    groups = [
        Group(Kind.SEM_NOTAS, 5, 0, None),
        Group(Kind.LINK, 1, 0, date(2026, 3, 4)),
        Group(Kind.TESTE, 2, 0, None),
        Group(Kind.CERTIFICADO, 1, 0, date(2026, 3, 20)),
        Group(Kind.FATURA, 0, 0, None),  # empty: not shown
    ]

    assert [g.kind for g in ordered(groups)] == [
        Kind.LINK,
        Kind.CERTIFICADO,
        Kind.TESTE,
        Kind.SEM_NOTAS,
    ]


def test_two_overdue_groups_go_by_the_oldest_deadline() -> None:
    cert = Group(Kind.CERTIFICADO, 1, 1, date(2026, 2, 1))
    fatura = Group(Kind.FATURA, 1, 1, date(2026, 2, 10))

    assert [g.kind for g in ordered([fatura, cert])] == [Kind.CERTIFICADO, Kind.FATURA]


def test_a_page_takes_the_end_of_one_group_and_the_start_of_the_next() -> None:
    groups = [Group(Kind.CERTIFICADO, 10, 0, DAY), Group(Kind.TESTE, 4, 0, None)]

    assert slices(groups, 1, 7) == [Slice(Kind.CERTIFICADO, 0, 7)]
    assert slices(groups, 2, 7) == [Slice(Kind.CERTIFICADO, 7, 3), Slice(Kind.TESTE, 0, 4)]
    assert slices(groups, 3, 7) == []


def test_page_numbers_stay_within_the_pages_there_are() -> None:
    assert page_count(0, 7) == 1
    assert page_count(14, 7) == 2
    assert page_count(15, 7) == 3
    assert clamp_page(9, 15, 7) == 3
    assert clamp_page(0, 15, 7) == 1
