"""The real test certificates in ../shared/fixtures open with their MANIFEST password.

Expectations come from the file names and notes, not from a table copied by hand: the notes
carry `password=…`; `expired` in the name means expired at a fixed date; `cnpj_<14 digits>` /
`cpf_<11 digits>` name the holder's document; `novo_X` is X exported again (same certificate).
Two of them (the SEFAZ-RS test chain, exported by Windows with RC2-40 and again with AES)
carry DER faults that `cryptography` refuses, so they go through the hand-read path.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import PurePosixPath

import pytest

from domain.certificates import (
    CertificateExpired,
    NotACertificate,
    WrongCertificatePassword,
    open_certificate,
    read_certificate,
)
from tests.fixtures_manifest import ManifestEntry, fixtures_dir, load_manifest

FOLDER = fixtures_dir()
if not (FOLDER / "MANIFEST.tsv").is_file():
    pytest.skip(
        f"real test certificates not found at {FOLDER} (set FIXTURES_DIR)",
        allow_module_level=True,
    )

FIXED_NOW = datetime(2026, 7, 1, 12, tzinfo=UTC)
CERTIFICATES = sorted(
    (entry for entry in load_manifest(FOLDER).values() if entry.kind == "pkcs12 test certificate"),
    key=lambda entry: entry.file,
)


def pfx_of(entry: ManifestEntry) -> bytes:
    return (FOLDER / entry.file).read_bytes()


def password_of(entry: ManifestEntry) -> str:
    password = entry.note("password")
    assert password, f"MANIFEST has no password= note for {entry.file}"
    return password


def name_of(entry: ManifestEntry) -> str:
    return PurePosixPath(entry.file).name


def by_name(pattern: str) -> list[ManifestEntry]:
    return [entry for entry in CERTIFICATES if re.search(pattern, name_of(entry))]


def ids(entries: list[ManifestEntry]) -> list[str]:
    return [entry.file for entry in entries]


def test_the_manifest_lists_test_certificates() -> None:
    assert CERTIFICATES
    assert by_name("expired")
    assert by_name(r"cnpj_\d{14}")


@pytest.mark.parametrize("entry", CERTIFICATES, ids=ids(CERTIFICATES))
def test_each_opens_with_its_password(entry: ManifestEntry) -> None:
    info = open_certificate(pfx_of(entry), password_of(entry))

    assert info.not_before < info.not_after
    assert info.not_after.tzinfo is not None
    assert re.fullmatch(r"[0-9a-f]{64}", info.fingerprint)
    assert info.subject_cn
    assert info.holder_name


@pytest.mark.parametrize("entry", CERTIFICATES, ids=ids(CERTIFICATES))
def test_each_is_accepted_inside_its_validity_window(entry: ManifestEntry) -> None:
    info = open_certificate(pfx_of(entry), password_of(entry))
    middle = info.not_before + (info.not_after - info.not_before) / 2

    assert read_certificate(pfx_of(entry), password_of(entry), now=middle) == info


@pytest.mark.parametrize("entry", by_name("expired"), ids=ids(by_name("expired")))
def test_an_expired_one_is_refused_with_its_expiry_date(entry: ManifestEntry) -> None:
    with pytest.raises(CertificateExpired) as raised:
        read_certificate(pfx_of(entry), password_of(entry), now=FIXED_NOW)

    assert f"{raised.value.info.valid_until:%d/%m/%Y}" in raised.value.message


CNPJ_NAMED = by_name(r"cnpj_\d{14}")
CPF_NAMED = by_name(r"cpf_\d{11}")


@pytest.mark.parametrize("entry", CNPJ_NAMED, ids=ids(CNPJ_NAMED))
def test_the_cnpj_in_the_name_is_the_one_read(entry: ManifestEntry) -> None:
    expected = re.search(r"cnpj_(\d{14})", name_of(entry))
    assert expected

    info = open_certificate(pfx_of(entry), password_of(entry))

    assert info.cnpj == expected.group(1)


@pytest.mark.parametrize("entry", CPF_NAMED, ids=ids(CPF_NAMED))
def test_the_cpf_in_the_name_is_the_one_read(entry: ManifestEntry) -> None:
    expected = re.search(r"cpf_(\d{11})", name_of(entry))
    assert expected

    info = open_certificate(pfx_of(entry), password_of(entry))

    assert info.cpf == expected.group(1)
    assert info.cnpj is None


REEXPORTED = [
    (entry, original)
    for entry in by_name(r"^novo_")
    for original in CERTIFICATES
    if original.file == entry.file.replace("/novo_", "/")
]


@pytest.mark.parametrize(
    ("entry", "original"), REEXPORTED, ids=[entry.file for entry, _ in REEXPORTED]
)
def test_a_novo_file_is_the_same_certificate_exported_again(
    entry: ManifestEntry, original: ManifestEntry
) -> None:
    assert pfx_of(entry) != pfx_of(original)
    again = open_certificate(pfx_of(entry), password_of(entry))
    first = open_certificate(pfx_of(original), password_of(original))

    assert again == first


@pytest.mark.parametrize("entry", CERTIFICATES, ids=ids(CERTIFICATES))
def test_a_wrong_password_is_told_apart_from_a_damaged_file(entry: ManifestEntry) -> None:
    pfx = pfx_of(entry)

    with pytest.raises(WrongCertificatePassword):
        open_certificate(pfx, password_of(entry) + "x")
    with pytest.raises(NotACertificate):
        open_certificate(pfx[:-25], password_of(entry))
