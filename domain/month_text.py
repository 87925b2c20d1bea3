"""A month typed the way people write it in a chat → the competência 'AAAA-MM'.

Accepted (case- and accent-insensitive): `10/2026`, `10/26`, `10-2026`, `2026-10`, `2026/10`,
`outubro`, `out`, `out/26`, `out.26`, `outubro de 2026`, `Outubro 2026`, `março`/`marco`. A month
name may be shortened to its first three letters or more (`set`, `setem`).
"""

from __future__ import annotations

import re

from domain.text import fold

MONTH_NAMES = (
    "janeiro", "fevereiro", "marco", "abril", "maio", "junho",
    "julho", "agosto", "setembro", "outubro", "novembro", "dezembro",
)  # fmt: skip
# Below this the name is ambiguous ("ma", "ju") or not a month at all.
_SHORTEST_NAME = 3
# NF-e exists since 2006; an earlier year is a typo, not a month to look up.
_FIRST_YEAR = 2000

_MONTH_YEAR = re.compile(r"(?P<month>\d{1,2})\s*[/.-]\s*(?P<year>\d{4}|\d{2})", re.ASCII)
_YEAR_MONTH = re.compile(r"(?P<year>\d{4})\s*[/.-]\s*(?P<month>\d{1,2})", re.ASCII)
_NAMED = re.compile(
    r"(?P<name>[a-z]+)\.?(?:\s*(?:[/.-]|\bde\s)?\s*(?P<year>\d{4}|\d{2}))?", re.ASCII
)


def read_month(text: str, current: str, *, year: int | None = None) -> str | None:
    """The month `text` names, as 'AAAA-MM'; None when it is not a month.

    `current` is today's competência ('AAAA-MM'). A month without a year is the one of `year`
    when given, else the most recent such month that is not in the future. A typed year is
    kept as typed (it may be in the future: the caller decides what to say about it).
    """
    folded = fold(text)
    for pattern in (_MONTH_YEAR, _YEAR_MONTH):
        match = pattern.fullmatch(folded)
        if match is not None:
            return _competencia(match["year"], int(match["month"]))
    match = _NAMED.fullmatch(folded)
    if match is None:
        return None
    month = _month_named(match["name"])
    if month is None:
        return None
    if match["year"] is not None:
        return _competencia(match["year"], month)
    if year is not None:
        return _competencia(str(year), month)
    current_year, current_month = (int(part) for part in current.split("-"))
    latest = current_year if month <= current_month else current_year - 1
    return _competencia(str(latest), month)


def _month_named(name: str) -> int | None:
    """`out`, `outu`, `outubro` → 10; a prefix shorter than 3 letters or of no month → None."""
    if len(name) < _SHORTEST_NAME:
        return None
    found = [n for n, full in enumerate(MONTH_NAMES, start=1) if full.startswith(name)]
    return found[0] if len(found) == 1 else None


def _competencia(year_text: str, month: int) -> str | None:
    """'26' or '2026' and 10 → '2026-10'; None for a month or a year that cannot be."""
    year = int(year_text) + (2000 if len(year_text) == 2 else 0)
    if year < _FIRST_YEAR or not 1 <= month <= 12:
        return None
    return f"{year:04d}-{month:02d}"
