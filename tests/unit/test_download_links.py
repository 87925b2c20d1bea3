"""Signed download links (a file WhatsApp may not send outside its window): what a token
gives, and every way a token is refused."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from services.download_links import DownloadExpired, DownloadLinks, DownloadRefused
from services.files import FileRef

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
REF = FileRef("ab/ab12cd", 10, "0" * 64)


def links(key: bytes = b"k" * 32) -> DownloadLinks:
    return DownloadLinks(key, "https://bot.example/", timedelta(days=7))


def token_of(url: str) -> str:
    return url.rsplit("/", 1)[1]


def test_a_link_gives_its_file_until_it_expires() -> None:
    url, until = links().link(REF, "notas março.zip", "application/zip", NOW)
    assert url.startswith("https://bot.example/arquivo/")
    assert until == NOW + timedelta(days=7)
    found = links().read(token_of(url), NOW + timedelta(days=6, hours=23))
    assert (found.key, found.name, found.mime) == (REF.key, "notas março.zip", "application/zip")
    with pytest.raises(DownloadExpired):
        links().read(token_of(url), until)


@pytest.mark.parametrize(
    "forge",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # signature altered
        lambda t: "e" + t[1:] if t[0] != "e" else "f" + t[1:],  # claims altered
        lambda t: t.split(".")[0],  # no signature
        lambda t: "." + t.split(".")[1],  # no claims
        lambda t: "",
        lambda t: "não-é-token",
    ],
)
def test_an_altered_or_malformed_token_is_refused(forge: Callable[[str], str]) -> None:
    url, _ = links().link(REF, "a.zip", "application/zip", NOW)
    with pytest.raises(DownloadRefused):
        links().read(forge(token_of(url)), NOW)


def test_a_token_signed_with_another_key_is_refused() -> None:
    url, _ = links(b"x" * 32).link(REF, "a.zip", "application/zip", NOW)
    with pytest.raises(DownloadRefused):
        links().read(token_of(url), NOW)


def test_a_validly_signed_token_with_broken_claims_is_refused() -> None:
    signer = links()
    body = "bm90LWpzb24"  # base64 of "not-json"
    token = f"{body}.{signer._sign(body)}"
    with pytest.raises(DownloadRefused):
        signer.read(token, NOW)
