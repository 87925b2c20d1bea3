"""A ZIP written as a stream from entries that are already deflate-compressed.

The XMLs are kept raw-deflate-compressed in storage with their CRC-32 and size, which is
exactly what a ZIP member holds: the archive is local headers + those bytes + the central
directory, with nothing compressed again and nothing held in memory but the central directory
(≈ 100 bytes a member). ZIP64 records are written only when a size, an offset or the member
count does not fit the classic fields, so ordinary archives open everywhere.

`split_zip` writes numbered, independently valid archives, none above a byte limit (the chat
channels' upload limits).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

DEFLATED = 8
STORED = 0
UTF8_NAMES = 0x0800
VERSION_DEFLATE = 20
VERSION_ZIP64 = 45
MADE_BY = (3 << 8) | VERSION_ZIP64  # Unix, spec 4.5

U16_MAX = 0xFFFF
U32_MAX = 0xFFFFFFFF

_LOCAL = struct.Struct("<IHHHHHIIIHH")
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")
_END = struct.Struct("<IHHHHIIH")
_END64 = struct.Struct("<IQHHIIQQQQ")
_LOCATOR64 = struct.Struct("<IIQI")
_EXTRA_HEADER = struct.Struct("<HH")

LOCAL_SIG = 0x04034B50
CENTRAL_SIG = 0x02014B50
END_SIG = 0x06054B50
END64_SIG = 0x06064B50
LOCATOR64_SIG = 0x07064B50
ZIP64_EXTRA = 0x0001


class ZipTooLargeForLimit(ValueError):
    """One member alone does not fit in a part of the requested size."""

    def __init__(self, name: str, limit: int) -> None:
        super().__init__(f"{name} does not fit in a part of {limit} bytes")
        self.name = name
        self.limit = limit


@dataclass(frozen=True, slots=True)
class ZipEntry:
    """One member: its name, its raw-deflate bytes, CRC-32 and size of the uncompressed data,
    and the modification time written in the archive (local time, as ZIP has no zone)."""

    name: str
    deflated: bytes
    crc32: int
    size: int
    modified: datetime
    method: int = DEFLATED


def deflate_entry(name: str, data: bytes, modified: datetime, level: int = 6) -> ZipEntry:
    """An entry from plain bytes (a PDF made on the spot), raw-deflated here."""
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
    deflated = compressor.compress(data) + compressor.flush()
    return ZipEntry(name, deflated, zlib.crc32(data), len(data), modified)


class Writable(Protocol):
    def write(self, data: bytes, /) -> object: ...


def dos_datetime(moment: datetime) -> tuple[int, int]:
    """(date, time) in MS-DOS format; years before 1980 are clamped (the format starts there)."""
    if moment.year < 1980:
        return (1 << 5) | 1, 0
    date = ((moment.year - 1980) << 9) | (moment.month << 5) | moment.day
    time = (moment.hour << 11) | (moment.minute << 5) | (moment.second // 2)
    return date, time


class ZipWriter:
    """Append members to `out` one at a time, then `close()` to write the central directory."""

    def __init__(self, out: Writable) -> None:
        self._out = out
        self._offset = 0
        self._central = bytearray()
        self._count = 0
        self._closed = False

    @property
    def count(self) -> int:
        return self._count

    @property
    def written(self) -> int:
        return self._offset

    def add(self, entry: ZipEntry) -> None:
        self._add(
            entry.name,
            entry.method,
            entry.crc32,
            entry.size,
            len(entry.deflated),
            entry.modified,
            (entry.deflated,),
        )

    def add_stored(
        self, name: str, crc32: int, size: int, modified: datetime, blocks: Iterable[bytes]
    ) -> None:
        """A member kept as it is (an archive inside an archive), its bytes copied block by
        block, so a member larger than memory passes through; `crc32` and `size` are known
        beforehand because the local header comes first."""
        self._add(name, STORED, crc32, size, size, modified, blocks)

    def _add(
        self,
        name_text: str,
        method: int,
        crc32: int,
        size: int,
        compressed: int,
        modified: datetime,
        blocks: Iterable[bytes],
    ) -> None:
        if self._closed:
            raise ValueError("the archive is already closed")
        name = name_text.encode()
        date, time = dos_datetime(modified)
        big = compressed >= U32_MAX or size >= U32_MAX
        extra = (
            _EXTRA_HEADER.pack(ZIP64_EXTRA, 16) + struct.pack("<QQ", size, compressed)
            if big
            else b""
        )
        version = VERSION_ZIP64 if big else VERSION_DEFLATE
        header = _LOCAL.pack(
            LOCAL_SIG,
            version,
            UTF8_NAMES,
            method,
            time,
            date,
            crc32 & U32_MAX,
            U32_MAX if big else compressed,
            U32_MAX if big else size,
            len(name),
            len(extra),
        )
        self._write(header + name + extra)
        offset = self._offset - len(header) - len(name) - len(extra)
        start = self._offset
        for block in blocks:
            self._write(block)
        if self._offset - start != compressed:
            raise ValueError(
                f"{name_text}: {self._offset - start} bytes, header said {compressed}"
            )
        self._central += _central(method, crc32, size, name, compressed, offset, date, time)
        self._count += 1

    def size_with(self, entry: ZipEntry) -> int:
        """The archive's size if `entry` were added now and the archive then closed."""
        return self.size_with_member(entry.name, len(entry.deflated), entry.size)

    def size_with_member(self, name: str, compressed: int, size: int) -> int:
        """The archive's size if a member of these sizes were added now and then closed."""
        name_len = len(name.encode())
        big = compressed >= U32_MAX or size >= U32_MAX
        local = _LOCAL.size + name_len + (20 if big else 0) + compressed
        central = _CENTRAL.size + name_len + 28  # room for the largest ZIP64 extra
        end = _END64.size + _LOCATOR64.size + _END.size
        return self._offset + local + len(self._central) + central + end

    def close(self) -> int:
        """Write the central directory and the end records; return the archive's size."""
        if self._closed:
            return self._offset
        self._closed = True
        start = self._offset
        self._write(bytes(self._central))
        size = self._offset - start
        count = self._count
        if count >= U16_MAX or size >= U32_MAX or start >= U32_MAX:
            end64_at = self._offset
            self._write(
                _END64.pack(
                    END64_SIG,
                    _END64.size - 12,
                    MADE_BY,
                    VERSION_ZIP64,
                    0,
                    0,
                    count,
                    count,
                    size,
                    start,
                )
            )
            self._write(_LOCATOR64.pack(LOCATOR64_SIG, 0, end64_at, 1))
            self._write(_END.pack(END_SIG, 0, 0, U16_MAX, U16_MAX, U32_MAX, U32_MAX, 0))
        else:
            self._write(_END.pack(END_SIG, 0, 0, count, count, size, start, 0))
        self._central = bytearray()
        return self._offset

    def _write(self, data: bytes) -> None:
        if data:
            self._out.write(data)
            self._offset += len(data)


def _central_record(
    entry: ZipEntry, name: bytes, compressed: int, offset: int, date: int, time: int
) -> bytes:
    return _central(entry.method, entry.crc32, entry.size, name, compressed, offset, date, time)


def _central(
    method: int,
    crc32: int,
    size: int,
    name: bytes,
    compressed: int,
    offset: int,
    date: int,
    time: int,
) -> bytes:
    zip64: list[int] = []
    if size >= U32_MAX:
        zip64.append(size)
    if compressed >= U32_MAX:
        zip64.append(compressed)
    if offset >= U32_MAX:
        zip64.append(offset)
    extra = (
        _EXTRA_HEADER.pack(ZIP64_EXTRA, 8 * len(zip64)) + struct.pack(f"<{len(zip64)}Q", *zip64)
        if zip64
        else b""
    )
    version = VERSION_ZIP64 if zip64 else VERSION_DEFLATE
    record = _CENTRAL.pack(
        CENTRAL_SIG,
        MADE_BY,
        version,
        UTF8_NAMES,
        method,
        time,
        date,
        crc32 & U32_MAX,
        min(compressed, U32_MAX),
        min(size, U32_MAX),
        len(name),
        len(extra),
        0,  # comment
        0,  # disk
        0,  # internal attributes
        0o100644 << 16,  # regular file, rw-r--r--
        min(offset, U32_MAX),
    )
    return record + name + extra


def write_zip(entries: Iterable[ZipEntry], out: Writable) -> int:
    """Write one archive of `entries` to `out`; return its size in bytes."""
    writer = ZipWriter(out)
    for entry in entries:
        writer.add(entry)
    return writer.close()


class _Chunks:
    def __init__(self) -> None:
        self.pending: list[bytes] = []

    def write(self, data: bytes, /) -> int:
        self.pending.append(data)
        return len(data)


def iter_zip(entries: Iterable[ZipEntry]) -> Iterator[bytes]:
    """The archive as an iterator of byte chunks (for a streaming HTTP response)."""
    chunks = _Chunks()
    writer = ZipWriter(chunks)
    for entry in entries:
        writer.add(entry)
        yield from chunks.pending
        chunks.pending.clear()
    writer.close()
    yield from chunks.pending


@dataclass(frozen=True, slots=True)
class ZipPart:
    number: int
    members: int
    size: int


def split_zip(
    entries: Iterable[ZipEntry], limit: int, open_part: Callable[[int], Writable]
) -> list[ZipPart]:
    """Write `entries` into archives of at most `limit` bytes each, numbered from 1.

    `open_part(n)` gives the writable for part n; it is closed by the caller. Each part is a
    complete archive (not a spanned one), so any tool opens it alone.
    """
    parts: list[ZipPart] = []
    number = 1
    writer = ZipWriter(open_part(number))
    for entry in entries:
        if writer.size_with(entry) > limit:
            if writer.count == 0:
                raise ZipTooLargeForLimit(entry.name, limit)
            parts.append(ZipPart(number, writer.count, writer.close()))
            number += 1
            writer = ZipWriter(open_part(number))
            if writer.size_with(entry) > limit:
                raise ZipTooLargeForLimit(entry.name, limit)
        writer.add(entry)
    parts.append(ZipPart(number, writer.count, writer.close()))
    return parts
