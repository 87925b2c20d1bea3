"""Reading an uploaded ZIP of XMLs without trusting it: caps checked before and while reading.

Before any member is decompressed, the central directory is checked: member count, each
member's declared size, the total declared size and each member's compression ratio. The
declared sizes can lie, so while reading each member is decompressed in bounded chunks and the
same caps are enforced on the bytes actually produced. Nothing is written to disk.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from domain.fiscal.errors import FiscalDocumentError
from domain.fiscal.safe_xml import MAX_XML_BYTES
from domain.text import format_number, quantity

ZIP_MAGIC = b"PK\x03\x04"
EMPTY_ZIP_MAGIC = b"PK\x05\x06"
_CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class ZipLimits:
    """Caps for one uploaded ZIP. An NF-e XML compresses 5–30×; a bomb, thousands of times."""

    max_members: int = 5_000
    max_member_bytes: int = MAX_XML_BYTES
    max_total_bytes: int = 500 * 1024 * 1024
    max_ratio: int = 100


class ZipRefusedError(FiscalDocumentError):
    """The ZIP as a whole is refused (nothing in it was read)."""


class ZipTooLargeError(ZipRefusedError):
    """Over a cap: too many members, too big, or a compression ratio only a bomb has."""


@dataclass(frozen=True, slots=True)
class ZipMember:
    """One file inside the ZIP: its name and, when it could be read, its bytes."""

    name: str
    data: bytes | None
    problem: str | None = None


def looks_like_zip(data: bytes) -> bool:
    return data.startswith((ZIP_MAGIC, EMPTY_ZIP_MAGIC))


def open_zip(source: IO[bytes], limits: ZipLimits = ZipLimits()) -> zipfile.ZipFile:
    """Open the ZIP and check its central directory against `limits`."""
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise ZipRefusedError(
            "O arquivo ZIP está corrompido ou incompleto e não pôde ser aberto. Gere o ZIP de "
            "novo e reenvie."
        ) from exc
    try:
        check_directory(archive, limits)
    except ZipRefusedError:
        archive.close()
        raise
    return archive


def check_directory(archive: zipfile.ZipFile, limits: ZipLimits) -> None:
    """The caps, from the sizes the central directory declares (before extracting anything)."""
    files = [info for info in archive.infolist() if not info.is_dir()]
    if not files:
        raise ZipRefusedError("O ZIP está vazio: não há nenhum arquivo dentro dele.")
    if len(files) > limits.max_members:
        raise ZipTooLargeError(
            f"O ZIP tem {quantity(len(files), 'arquivo')}, acima do limite de "
            f"{format_number(limits.max_members)} por envio. Divida o lote em ZIPs menores."
        )
    total = sum(info.file_size for info in files)
    if total > limits.max_total_bytes:
        raise ZipTooLargeError(
            f"O conteúdo do ZIP soma {_mib(total)} MB descompactado, acima do limite de "
            f"{_mib(limits.max_total_bytes)} MB. Divida o lote em ZIPs menores."
        )
    for info in files:
        if info.file_size > limits.max_member_bytes:
            raise ZipTooLargeError(
                f"O arquivo {info.filename} dentro do ZIP tem {_mib(info.file_size)} MB, acima "
                f"do limite de {_mib(limits.max_member_bytes)} MB para um XML de NF-e."
            )
        if _ratio_exceeded(info.file_size, info.compress_size, limits.max_ratio):
            raise ZipTooLargeError(_bomb_message(info.filename))


def iter_members(archive: zipfile.ZipFile, limits: ZipLimits = ZipLimits()) -> Iterator[ZipMember]:
    """Each file of a checked archive, read with bounded decompression.

    A member that cannot be read (encrypted, corrupted) is yielded with its `problem`; a member
    that decompresses beyond its caps stops the whole ZIP (`ZipTooLargeError`).
    """
    total = 0
    for info in archive.infolist():
        if info.is_dir():
            continue
        if info.flag_bits & 0x1:
            yield ZipMember(info.filename, None, "O arquivo está protegido por senha no ZIP.")
            continue
        try:
            data = _read_bounded(archive, info, limits)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
            yield ZipMember(
                info.filename, None, "O arquivo está corrompido dentro do ZIP e não foi lido."
            )
            continue
        total += len(data)
        if total > limits.max_total_bytes:
            raise ZipTooLargeError(
                f"O conteúdo do ZIP passa de {_mib(limits.max_total_bytes)} MB descompactado. "
                "Divida o lote em ZIPs menores."
            )
        yield ZipMember(info.filename, data)


def _read_bounded(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: ZipLimits) -> bytes:
    cap = min(limits.max_member_bytes, max(info.compress_size, 1) * limits.max_ratio)
    chunks: list[bytes] = []
    size = 0
    with archive.open(info) as member:
        while chunk := member.read(_CHUNK):
            size += len(chunk)
            if size > cap:
                if size > limits.max_member_bytes:
                    raise ZipTooLargeError(
                        f"O arquivo {info.filename} dentro do ZIP passa de "
                        f"{_mib(limits.max_member_bytes)} MB descompactado."
                    )
                raise ZipTooLargeError(_bomb_message(info.filename))
            chunks.append(chunk)
    return b"".join(chunks)


def _ratio_exceeded(size: int, compressed: int, max_ratio: int) -> bool:
    return size > max(compressed, 1) * max_ratio


def _bomb_message(name: str) -> str:
    return (
        f"O arquivo {name} dentro do ZIP tem uma taxa de compactação impossível para um XML "
        "(típica de um 'ZIP bomb'). O ZIP foi recusado."
    )


def _mib(size: int) -> str:
    return format_number(size / (1024 * 1024), 1)
