"""Generated files (ZIPs, PDFs, charts) live in a file store, never in the outbox.

A job writes its file with `put` and enqueues a `FileRef` (key, size, sha256); the channel opens
the key at send time and streams it. Keys are random (never a client's name: the name travels
in the outbox payload), so nothing can guess one and no two files ever share one: a button
pressed after a file expired runs the job again and gets a new key. A cache (a note's printed
DANFE) uses `put_at` with a key derived from its content (`content_key`) instead. Files older
than the retention (`FILE_TTL_DAYS`) go in the daily retention sweep (services/retention.py).

The stores themselves (a local folder, S3 through obstore) are in bot/gateways/file_store.py.
"""

from __future__ import annotations

import hashlib
import io
import secrets
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Protocol

from services.errors import ServiceError

CHUNK = 1024 * 1024  # bytes read or written at a time while streaming

# What `put` takes: the bytes, a readable binary file, or chunks as they are produced.
Source = bytes | IO[bytes] | Iterable[bytes]


@dataclass(frozen=True, slots=True)
class FileRef:
    """A stored file as the outbox carries it."""

    key: str
    size: int
    sha256: str

    def to_json(self) -> dict[str, object]:
        return {"key": self.key, "size": self.size, "sha256": self.sha256}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> FileRef:
        return cls(str(data["key"]), int(str(data["size"])), str(data["sha256"]))


class FileMissing(ServiceError):
    """The key is not in the store (expired, deleted, or another store's)."""

    def __init__(self, key: str) -> None:
        super().__init__(f"arquivo {key} não está no armazenamento (expirou ou foi apagado)")
        self.key = key


class FileStore(Protocol):
    # How many reads are worth having in flight at once: 1 for a local disk, more for a store
    # across the network (each read a request), where one at a time waits out every latency.
    read_ahead: int

    def put(self, source: Source) -> FileRef:
        """Store a new file under a fresh random key, hashing and counting it as it goes."""
        ...

    def put_at(self, key: str, source: Source) -> FileRef:
        """Store a file under a key the caller derives from its content (a cache: the same
        content, the same key); a file already there is replaced whole, never half-read."""
        ...

    def open(self, key: str) -> IO[bytes]:
        """A readable binary stream of the file; FileMissing when it is not there."""
        ...

    def delete(self, key: str) -> None:
        """Remove the file; a key already gone is not an error."""
        ...

    def exists(self, key: str) -> bool:
        """Whether the file is there (without reading it)."""
        ...

    def older_than(
        self, cutoff: datetime, *, prefix: str = "", keep: Sequence[str] = ()
    ) -> Iterator[str]:
        """Keys starting with `prefix` (and with none of `keep`) of files written before
        `cutoff`."""
        ...

    def delete_older_than(
        self,
        cutoff: datetime,
        limit: int | None = None,
        *,
        prefix: str = "",
        keep: Sequence[str] = (),
    ) -> int:
        """Remove up to `limit` of those files; how many went."""
        ...


def new_key() -> str:
    """A 192-bit random key, fanned out by its first two characters (folders stay small)."""
    token = secrets.token_hex(24)
    return f"{token[:2]}/{token}"


def content_prefix(kind: str) -> str:
    """Where the cached files of one kind live (they may have their own lifetime)."""
    return f"{kind}-"


def content_key(kind: str, digest: str) -> str:
    """The key of a cached file derived from what it was made of (a hex digest), fanned out
    like `new_key`'s: `danfe`, `ab12…` → `danfe-ab/ab12…`."""
    return f"{content_prefix(kind)}{digest[:2]}/{digest}"


def chunks(source: Source, size: int = CHUNK) -> Iterator[bytes]:
    """The source as chunks of bytes, whatever its shape."""
    if isinstance(source, bytes | bytearray | memoryview):
        view = memoryview(source)
        for start in range(0, len(view), size):
            yield bytes(view[start : start + size])
        return
    if hasattr(source, "read"):
        reader: IO[bytes] = source  # type: ignore[assignment]
        while block := reader.read(size):
            yield block
        return
    yield from source


class Digest:
    """Counts and hashes the chunks passing through `feed`."""

    def __init__(self) -> None:
        self.size = 0
        self._sha = hashlib.sha256()

    def feed(self, source: Source) -> Iterator[bytes]:
        for block in chunks(source):
            self.size += len(block)
            self._sha.update(block)
            yield block

    def ref(self, key: str) -> FileRef:
        return FileRef(key, self.size, self._sha.hexdigest())


def open_content(store: FileStore | None, ref: FileRef | None, data: bytes) -> IO[bytes]:
    """What a channel sends: the stored file, or the bytes of a row queued before the store."""
    if ref is None:
        return io.BytesIO(data)
    if store is None:
        raise FileMissing(ref.key)
    return store.open(ref.key)
