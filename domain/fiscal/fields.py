"""Typed readers of NF-e fields by their official tag paths, in the one NF-e namespace."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

from lxml import etree

from domain.fiscal.errors import InvalidFieldError
from domain.fiscal.model import Ambiente

NFE_NS = "http://www.portalfiscal.inf.br/nfe"
DSIG_NS = "http://www.w3.org/2000/09/xmldsig#"
SIGNATURE = f"{{{DSIG_NS}}}Signature"
# Dates without an offset (dEmi of layouts 2.00/3.10, some old dhRecbto) are Brasília time.
BRASILIA = ZoneInfo("America/Sao_Paulo")
DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")
DIGITS = re.compile(r"[0-9]+")


def text(el: etree._Element, tags: str) -> str | None:
    """The stripped text at `tags` (e.g. `"total/ICMSTot/vNF"`), None when absent or empty."""
    value = el.findtext(ns_path(tags))
    return (value.strip() or None) if value else None


def required(el: etree._Element, tags: str) -> str:
    value = text(el, tags)
    if value is None:
        raise InvalidFieldError(tags, "está ausente ou vazio")
    return value


def required_element(el: etree._Element, tags: str) -> etree._Element:
    found = el.find(ns_path(tags))
    if found is None:
        raise InvalidFieldError(tags, "está ausente")
    return found


def decimal(el: etree._Element, tags: str) -> Decimal:
    """Money and quantities: a plain decimal (no exponent, NaN or comma), kept exact."""
    value = required(el, tags)
    if not DECIMAL.fullmatch(value):
        raise InvalidFieldError(tags, f"deveria ser um valor como 1234.56, e é {value!r}")
    return Decimal(value)


def integer(el: etree._Element, tags: str) -> int | None:
    value = text(el, tags)
    if value is None:
        return None
    if not DIGITS.fullmatch(value):
        raise InvalidFieldError(tags, f"deveria ser um número, e é {value!r}")
    return int(value)


def required_integer(el: etree._Element, tags: str) -> int:
    value = integer(el, tags)
    if value is None:
        raise InvalidFieldError(tags, "está ausente ou vazio")
    return value


def optional_datetime(el: etree._Element, tags: str) -> datetime | None:
    value = text(el, tags)
    return parse_datetime(value, tags) if value is not None else None


def parse_datetime(value: str, tags: str) -> datetime:
    """An aware datetime; a value without offset is taken as Brasília time."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidFieldError(tags, f"tem uma data/hora inválida: {value!r}") from exc
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=BRASILIA)


def ambiente(el: etree._Element) -> Ambiente | None:
    value = text(el, "tpAmb")
    if value is None:
        return None
    if value not in ("1", "2"):
        raise InvalidFieldError("tpAmb", f"deveria ser 1 ou 2, e é {value!r}")
    return Ambiente(int(value))


def zfill_digits(value: str, width: int) -> str:
    """`"1"` → `"001"`, as the key writes it; a non-numeric value is left to fail the match."""
    return value.zfill(width) if DIGITS.fullmatch(value) else value


@lru_cache(maxsize=256)
def ns_path(tags: str) -> str:
    """`"total/ICMSTot/vNF"` → the same path with every step in the NF-e namespace."""
    return "/".join(f"{{{NFE_NS}}}{tag}" for tag in tags.split("/"))
