"""The month ZIP written as a stream from already-deflated members."""

from __future__ import annotations

import io
import os
import struct
import zipfile
import zlib
from datetime import datetime
from pathlib import Path

import pytest

from domain.fiscal.zipstream import (
    ZipEntry,
    ZipTooLargeForLimit,
    _central_record,
    deflate_entry,
    iter_zip,
    split_zip,
    write_zip,
)

GOLDEN = Path(__file__).parent / "golden" / "two_members.zip"
PINNED = datetime(2026, 10, 31, 23, 59, 58)  # noqa: DTZ001 - ZIP times are zone-less local times


def stored_block_entry(name: str, data: bytes) -> ZipEntry:
    """Level 0 (stored deflate blocks): the same bytes with any zlib build, so a golden holds."""
    return deflate_entry(name, data, PINNED, level=0)


def golden_entries() -> list[ZipEntry]:
    return [
        stored_block_entry("35261011222333000181550010000012341123456780-procNFe.xml", b"<a/>"),
        stored_block_entry("ação/nota.xml", "<b>São Paulo</b>".encode()),
    ]


def test_the_archive_matches_the_golden_file_byte_for_byte() -> None:
    out = io.BytesIO()
    write_zip(golden_entries(), out)
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_bytes(out.getvalue())
    assert out.getvalue() == GOLDEN.read_bytes()


def test_python_zipfile_reads_every_member_back_and_its_crc_checks() -> None:
    xml = b"<nfeProc>" + b"<det>produto</det>" * 500 + b"</nfeProc>"
    entries = [deflate_entry(f"{n}.xml", xml + str(n).encode(), PINNED) for n in range(20)]
    out = io.BytesIO()
    size = write_zip(entries, out)

    assert size == len(out.getvalue())
    with zipfile.ZipFile(out) as archive:
        assert archive.testzip() is None
        assert archive.namelist() == [f"{n}.xml" for n in range(20)]
        assert archive.read("7.xml") == xml + b"7"
        info = archive.getinfo("7.xml")
        assert info.compress_type == zipfile.ZIP_DEFLATED
        assert info.date_time == (2026, 10, 31, 23, 59, 58)
        assert info.compress_size < info.file_size


def test_the_members_are_written_as_given_without_compressing_them_again() -> None:
    entry = deflate_entry("a.xml", b"x" * 10_000, PINNED, level=9)
    out = io.BytesIO()
    write_zip([entry], out)
    assert entry.deflated in out.getvalue()


def test_names_with_accents_are_marked_utf8() -> None:
    out = io.BytesIO()
    write_zip(golden_entries(), out)
    with zipfile.ZipFile(out) as archive:
        assert archive.namelist()[1] == "ação/nota.xml"
        assert archive.getinfo("ação/nota.xml").flag_bits & 0x800


def test_the_iterator_yields_the_same_bytes_as_the_writer() -> None:
    out = io.BytesIO()
    write_zip(golden_entries(), out)
    assert b"".join(iter_zip(golden_entries())) == out.getvalue()


def test_an_empty_archive_is_still_a_valid_zip() -> None:
    out = io.BytesIO()
    write_zip([], out)
    with zipfile.ZipFile(out) as archive:
        assert archive.namelist() == []


def test_more_than_65535_members_switch_to_zip64_end_records() -> None:
    entry = deflate_entry("x", b"", PINNED)
    entries = (ZipEntry(f"{n}", entry.deflated, entry.crc32, 0, PINNED) for n in range(70_000))
    out = io.BytesIO()
    write_zip(entries, out)
    data = out.getvalue()
    assert struct.pack("<I", 0x06064B50) in data[-200:]
    with zipfile.ZipFile(out) as archive:
        assert len(archive.infolist()) == 70_000
        assert archive.read("69999") == b""


def test_an_offset_beyond_4_gib_goes_into_the_zip64_extra_field() -> None:
    entry = deflate_entry("big.xml", b"abc", PINNED)
    record = _central_record(entry, b"big.xml", len(entry.deflated), 5 * 2**30, 0, 0)
    offset_field = struct.unpack("<I", record[42:46])[0]
    extra = record[46 + len(b"big.xml") :]
    assert offset_field == 0xFFFFFFFF
    assert struct.unpack("<HHQ", extra) == (0x0001, 8, 5 * 2**30)


def test_split_parts_are_each_a_complete_archive_below_the_limit() -> None:
    xml = os.urandom(3000)  # incompressible: each member takes ~3 KB
    entries = [deflate_entry(f"{n:02d}.xml", xml, PINNED) for n in range(10)]
    buffers: dict[int, io.BytesIO] = {}

    def open_part(number: int) -> io.BytesIO:
        buffers[number] = io.BytesIO()
        return buffers[number]

    parts = split_zip(entries, 10_000, open_part)

    assert [p.number for p in parts] == [1, 2, 3, 4]
    assert sum(p.members for p in parts) == 10
    names: list[str] = []
    for part in parts:
        data = buffers[part.number].getvalue()
        assert len(data) == part.size <= 10_000
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            assert archive.testzip() is None
            names += archive.namelist()
    assert names == [f"{n:02d}.xml" for n in range(10)]


def test_a_member_larger_than_the_limit_is_refused() -> None:
    entry = deflate_entry("huge.xml", os.urandom(5000), PINNED)
    with pytest.raises(ZipTooLargeForLimit):
        split_zip([entry], 1000, lambda _n: io.BytesIO())


def test_a_crc_that_does_not_match_is_caught_by_zipfile() -> None:
    good = deflate_entry("a.xml", b"<a/>", PINNED)
    bad = ZipEntry("a.xml", good.deflated, zlib.crc32(b"other"), good.size, PINNED)
    out = io.BytesIO()
    write_zip([bad], out)
    with zipfile.ZipFile(out) as archive:
        assert archive.testzip() == "a.xml"
