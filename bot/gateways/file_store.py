"""The file stores behind services.files.FileStore: a local folder (one machine) and an
S3-compatible bucket through obstore (several instances). `FILE_STORE_URL` picks one."""

from __future__ import annotations

import glob
import io
import os
import tempfile
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

import obstore
from obstore.store import S3Store

from services.files import CHUNK, Digest, FileMissing, FileRef, Source, new_key


class LocalFileStore:
    """Files in a folder; written to a temporary name first, so a reader never sees half."""

    read_ahead = 1  # a local read costs less than handing it to another thread

    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, source: Source) -> FileRef:
        return self.put_at(new_key(), source)

    def put_at(self, key: str, source: Source) -> FileRef:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        digest = Digest()
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".part-", delete=False) as out:
            try:
                for block in digest.feed(source):
                    out.write(block)
            except BaseException:
                out.close()
                os.unlink(out.name)
                raise
        os.replace(out.name, path)
        return digest.ref(key)

    def open(self, key: str) -> IO[bytes]:
        try:
            return self._path(key).open("rb")
        except FileNotFoundError as exc:
            raise FileMissing(key) from exc

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def older_than(
        self, cutoff: datetime, *, prefix: str = "", keep: Sequence[str] = ()
    ) -> Iterator[str]:
        limit = cutoff.timestamp()
        # a ".part-" file that old is the leftover of a process killed while writing: it goes too
        for path in sorted(self.root.glob(f"{glob.escape(prefix)}*/*")):
            key = path.relative_to(self.root).as_posix()
            if key.startswith(tuple(keep)):
                continue
            if path.is_file() and path.stat().st_mtime < limit:
                yield key

    def delete_older_than(
        self,
        cutoff: datetime,
        limit: int | None = None,
        *,
        prefix: str = "",
        keep: Sequence[str] = (),
    ) -> int:
        gone = 0
        for key in self.older_than(cutoff, prefix=prefix, keep=keep):
            if limit is not None and gone >= limit:
                break
            self.delete(key)
            gone += 1
        return gone

    def _path(self, key: str) -> Path:
        # keys come from new_key(); refuse anything that would leave the folder
        if ".." in key.split("/") or key.startswith("/"):
            raise FileMissing(key)
        return self.root / key


class _ObjectReader(io.RawIOBase):
    """obstore's ReadableFile as a standard binary stream (httpx and PTB read it in chunks).
    Seekable, so an upload learns the length and sends a Content-Length, not chunks."""

    def __init__(self, reader: Any) -> None:
        self._reader = reader

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return int(self._reader.seek(offset, whence))

    def tell(self) -> int:
        return int(self._reader.tell())

    def readinto(self, buffer: Any) -> int:
        data = memoryview(self._reader.read(len(buffer)))
        size = len(data)
        buffer[:size] = data
        return size

    def close(self) -> None:
        if not self.closed:
            self._reader.close()
        super().close()


class S3FileStore:
    """Files in an S3 bucket (any S3-compatible endpoint), streamed in both directions."""

    read_ahead = 16  # a request per read: a month's cached DANFEs are read this many at once

    def __init__(self, store: S3Store) -> None:
        self.store = store

    def put(self, source: Source) -> FileRef:
        return self.put_at(new_key(), source)

    def put_at(self, key: str, source: Source) -> FileRef:
        digest = Digest()
        obstore.put(self.store, key, digest.feed(source), chunk_size=8 * CHUNK)
        return digest.ref(key)

    def open(self, key: str) -> IO[bytes]:
        try:
            reader = obstore.open_reader(self.store, key, buffer_size=CHUNK)
        except FileNotFoundError as exc:
            raise FileMissing(key) from exc
        return io.BufferedReader(_ObjectReader(reader), buffer_size=CHUNK)

    def delete(self, key: str) -> None:
        obstore.delete(self.store, key)

    def exists(self, key: str) -> bool:
        try:
            obstore.head(self.store, key)
        except FileNotFoundError:
            return False
        return True

    def older_than(
        self, cutoff: datetime, *, prefix: str = "", keep: Sequence[str] = ()
    ) -> Iterator[str]:
        # object_store's own prefix matches whole path segments ("danfe-" is a part of one)
        for batch in obstore.list(self.store):
            for meta in batch:
                path = meta["path"]
                if (
                    meta["last_modified"] < cutoff
                    and path.startswith(prefix)
                    and not path.startswith(tuple(keep))
                ):
                    yield path

    def delete_older_than(
        self,
        cutoff: datetime,
        limit: int | None = None,
        *,
        prefix: str = "",
        keep: Sequence[str] = (),
    ) -> int:
        keys: list[str] = []
        for key in self.older_than(cutoff, prefix=prefix, keep=keep):
            if limit is not None and len(keys) >= limit:
                break
            keys.append(key)
        for start in range(0, len(keys), 1000):  # S3 deletes at most 1000 per request
            obstore.delete(self.store, keys[start : start + 1000])
        return len(keys)


def file_store(url: str, **s3: Any) -> LocalFileStore | S3FileStore:
    """`s3://bucket/prefix` → S3FileStore (credentials from AWS_* or `s3`); else a folder."""
    parts = urlsplit(url)
    if parts.scheme == "s3":
        options = {name: value for name, value in s3.items() if value}
        if str(options.get("endpoint", "")).startswith("http://"):
            options["client_options"] = {"allow_http": True}
        prefix = parts.path.strip("/") or None
        return S3FileStore(S3Store(parts.netloc, prefix=prefix, **options))
    return LocalFileStore(Path(parts.path if parts.scheme == "file" else url))
