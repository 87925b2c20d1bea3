"""Text folding for search: case- and accent-insensitive, the way people type names."""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """`São João LTDA` → `sao joao ltda`."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.casefold().split())
