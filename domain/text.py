"""Text for people: search folding, and counts and numbers written the pt-BR way."""

from __future__ import annotations

import string
import unicodedata
from typing import Any


def fold(text: str) -> str:
    """`São João LTDA` → `sao joao ltda`."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.casefold().split())


def format_number(value: float, places: int = 0) -> str:
    """`100000` → `100.000`; `1536.5, 1` → `1.536,5` (dot for thousands, comma for decimals)."""
    text = f"{value:,.{places}f}"
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".")


def quantity(count: int, singular: str, plural: str | None = None) -> str:
    """`1, "nota"` → `1 nota`; `0, "nota"` → `0 notas`; `5000, "arquivo"` → `5.000 arquivos`.

    `plural` defaults to `singular + "s"`; pass it for any other form ("pôde"/"puderam").
    """
    word = singular if count == 1 else (plural if plural is not None else singular + "s")
    return f"{format_number(count)} {word}"


class _CountFormatter(string.Formatter):
    def format_field(self, value: Any, format_spec: str) -> str:
        if isinstance(value, int) and not isinstance(value, bool):
            if "|" in format_spec:
                singular, plural = format_spec.split("|", 1)
                return quantity(value, singular, plural)
            if format_spec == "n":
                return format_number(value)
        return super().format_field(value, format_spec)


_FORMATTER = _CountFormatter()


def fill(template: str, /, **values: Any) -> str:
    """`str.format` that writes counts the pt-BR way, for templates that hold counts.

    `{n:nota|notas}` → `1 nota`, `2 notas`, `5.000 notas` (the words can carry the verb:
    `{n:nota ficou|notas ficaram}`); `{n:n}` → `5.000`. Any other field is formatted as usual.
    """
    return _FORMATTER.format(template, **values)
