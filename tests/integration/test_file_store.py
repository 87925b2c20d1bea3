"""The file stores behind one contract: a local folder, and S3 through obstore against moto's
S3 server on 127.0.0.1 (started here; the S3 cases skip only when it cannot start)."""

from __future__ import annotations

import hashlib
import io
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from bot.app import files_from
from bot.gateways.file_store import LocalFileStore, S3FileStore, file_store
from bot.settings import Settings
from services.files import FileMissing, FileStore, content_key, content_prefix

BUCKET = "revendabot-files"
BIG = os.urandom(3 * 1024 * 1024 + 17)  # more than one chunk, not a multiple of one


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    try:
        import boto3  # type: ignore[import-untyped]
        from moto.server import ThreadedMotoServer

        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
    except Exception as exc:  # moto missing or its server refusing to start
        pytest.skip(f"moto's S3 server could not start: {exc}")
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    ).create_bucket(Bucket=BUCKET)
    yield endpoint
    server.stop()


def s3_store(endpoint: str, prefix: str) -> FileStore:
    return file_store(
        f"s3://{BUCKET}/{prefix}",
        endpoint=endpoint,
        region="us-east-1",
        access_key_id="test",
        secret_access_key="test",
    )


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> FileStore:
    if request.param == "local":
        return file_store(str(tmp_path / "files"))
    endpoint = request.getfixturevalue("s3_endpoint")
    return s3_store(endpoint, f"t{time.monotonic_ns()}")


def read(store: FileStore, key: str) -> bytes:
    with store.open(key) as stream:
        return stream.read()


def test_bytes_put_come_back_with_their_size_and_sha256(store: FileStore) -> None:
    ref = store.put(BIG)
    assert (ref.size, ref.sha256) == (len(BIG), hashlib.sha256(BIG).hexdigest())
    assert read(store, ref.key) == BIG


def test_a_stream_is_stored_as_it_is_read(store: FileStore) -> None:
    ref = store.put(io.BytesIO(BIG))
    assert ref.size == len(BIG)
    assert read(store, ref.key) == BIG


def test_chunks_are_stored_in_order_and_hashed_as_they_pass(store: FileStore) -> None:
    pieces = [b"PK", b"\x03\x04", b"x" * 100_000, b""]
    ref = store.put(iter(pieces))
    whole = b"".join(pieces)
    assert (ref.size, ref.sha256) == (len(whole), hashlib.sha256(whole).hexdigest())
    assert read(store, ref.key) == whole


def test_an_opened_file_reads_in_chunks(store: FileStore) -> None:
    ref = store.put(BIG)
    with store.open(ref.key) as stream:
        first = stream.read(1000)
        rest = stream.read()
    assert first + rest == BIG


def test_an_opened_file_tells_its_length_so_uploads_carry_a_content_length(
    store: FileStore,
) -> None:
    ref = store.put(BIG)
    with store.open(ref.key) as stream:
        stream.read(10)
        assert stream.seek(0, io.SEEK_END) == len(BIG)
        stream.seek(10)
        assert stream.read() == BIG[10:]
        request = httpx.Request("POST", "http://bot.api/x", files={"document": ("a.zip", stream)})
        stream.seek(0)
        assert int(request.headers["Content-Length"]) > len(BIG)


def test_every_put_gets_a_new_unguessable_key(store: FileStore) -> None:
    keys = {store.put(b"same bytes").key for _ in range(5)}
    assert len(keys) == 5
    for key in keys:
        assert len(key.rsplit("/", 1)[-1]) == 48  # 192 random bits, hex


def test_a_deleted_file_is_missing_and_deleting_again_is_fine(store: FileStore) -> None:
    ref = store.put(b"ZIP")
    store.delete(ref.key)
    with pytest.raises(FileMissing) as missing:
        store.open(ref.key)
    assert ref.key in str(missing.value)
    store.delete(ref.key)


def test_an_unknown_key_is_missing(store: FileStore) -> None:
    with pytest.raises(FileMissing):
        store.open("ab/" + "0" * 48)


def test_files_older_than_the_cutoff_are_listed_and_deleted(store: FileStore) -> None:
    old = [store.put(f"old {n}".encode()) for n in range(3)]
    cutoff = datetime.now(UTC) + timedelta(seconds=2)  # everything so far is "old"
    assert sorted(store.older_than(cutoff)) == sorted(ref.key for ref in old)
    assert list(store.older_than(datetime.now(UTC) - timedelta(days=1))) == []
    assert store.delete_older_than(cutoff, limit=2) == 2
    assert store.delete_older_than(cutoff, limit=2) == 1
    assert list(store.older_than(cutoff)) == []
    for ref in old:
        with pytest.raises(FileMissing):
            store.open(ref.key)


def test_the_local_store_never_leaves_its_folder(tmp_path: Path) -> None:
    store = LocalFileStore(tmp_path / "files")
    (tmp_path / "secret.txt").write_text("x")
    with pytest.raises(FileMissing):
        store.open("../secret.txt")


def test_a_half_written_file_leaves_nothing_behind(tmp_path: Path) -> None:
    store = LocalFileStore(tmp_path / "files")

    def broken() -> Iterator[bytes]:
        yield b"part"
        raise RuntimeError("the job died")

    with pytest.raises(RuntimeError):
        store.put(broken())
    assert [p for p in (tmp_path / "files").rglob("*") if p.is_file()] == []


def test_the_leftover_of_a_write_cut_short_expires_like_a_file(tmp_path: Path) -> None:
    store = LocalFileStore(tmp_path / "files")
    kept = store.put(b"ZIP")
    leftover = tmp_path / "files" / "ab" / ".part-killed"
    leftover.parent.mkdir(parents=True, exist_ok=True)
    leftover.write_bytes(b"half a ZIP")
    long_ago = time.time() - 30 * 86400
    os.utime(leftover, (long_ago, long_ago))

    assert store.delete_older_than(datetime.now(UTC) - timedelta(days=7)) == 1
    assert not leftover.exists()
    assert read(store, kept.key) == b"ZIP"


def test_the_setting_picks_the_store(tmp_path: Path, s3_endpoint: str) -> None:
    local = files_from(Settings(_env_file=None, file_store_url=str(tmp_path / "f")))
    assert isinstance(local, LocalFileStore)
    remote = files_from(
        Settings(
            _env_file=None,
            file_store_url=f"s3://{BUCKET}/setting",
            file_store_s3_endpoint=s3_endpoint,
            file_store_s3_region="us-east-1",
            file_store_s3_access_key_id="test",
            file_store_s3_secret_access_key="test",
        )
    )
    assert isinstance(remote, S3FileStore)
    assert read(remote, remote.put(b"via settings").key) == b"via settings"


def test_exists_tells_without_reading(store: FileStore) -> None:
    ref = store.put(b"here")
    assert store.exists(ref.key)
    store.delete(ref.key)
    assert not store.exists(ref.key)
    assert not store.exists(content_key("danfe", "ab" * 32))


def test_older_than_can_take_one_kind_of_cached_file_or_keep_it(store: FileStore) -> None:
    plain = store.put(b"a ZIP")
    cached = store.put_at(content_key("danfe", "cd" * 32), b"%PDF")
    cutoff = datetime.now(UTC) + timedelta(seconds=2)

    assert list(store.older_than(cutoff, prefix=content_prefix("danfe"))) == [cached.key]
    assert list(store.older_than(cutoff, keep=[content_prefix("danfe")])) == [plain.key]
    assert store.delete_older_than(cutoff, keep=[content_prefix("danfe")]) == 1
    assert store.exists(cached.key)
    assert not store.exists(plain.key)
    assert store.delete_older_than(cutoff, prefix=content_prefix("danfe")) == 1
    assert not store.exists(cached.key)
