"""Benchmark: a month's DANFEs read back from the cache in an S3 file store, one at a time and
several ahead.

    .venv/bin/python benchmarks/danfe_cache_reads.py [--notes 1000] [--pdf-kb 5] [--latency-ms 0]
        [--smoke]

When every DANFE of the month was printed ahead, `DANFEs do mês` is a ZIP of PDFs read from the
file store's cache (services/fiscal_exports/danfe.py `printed_in_order`). With several
instances that store is S3, where each read is a request. This starts moto's S3 server in a
process of its own (127.0.0.1), stores N cached DANFEs of `--pdf-kb` KB under their cache keys,
and prints the time `printed_in_order` takes to give them all in the notes' order: reading one
at a time (the baseline: what the job did) and `read_ahead` at once (what it does now,
`S3FileStore.read_ahead`), each twice.
`--latency-ms` adds that much wait to every read, as a store farther away than loopback
would (moto answers in about a millisecond here). `--smoke` is 20 notes.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BUCKET = "danfe-bench"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--notes", type=int, default=1000)
    parser.add_argument("--pdf-kb", type=int, default=5)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    if args.smoke:
        args.notes = 20
    with _moto() as endpoint:
        run(endpoint, args.notes, args.pdf_kb, args.latency_ms / 1000)


class _Far:
    """The S3 store with a fixed wait before each read (a farther endpoint)."""

    def __init__(self, store: Any, latency: float, read_ahead: int) -> None:
        self.store, self.latency, self.read_ahead = store, latency, read_ahead

    def open(self, key: str) -> IO[bytes]:
        if self.latency:
            time.sleep(self.latency)
        opened: IO[bytes] = self.store.open(key)
        return opened

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def run(endpoint: str, n: int, pdf_kb: int, latency: float) -> None:
    import boto3  # type: ignore[import-untyped]

    from bot.gateways.file_store import S3FileStore, file_store
    from domain.fiscal import Situacao
    from services.fiscal_documents import CompressedXml
    from services.fiscal_exports.danfe import cache_key, printed_in_order
    from services.fiscal_exports.spec import ExportOptions

    boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",  # noqa: S106 (moto takes any)
    ).create_bucket(Bucket=BUCKET)
    store = file_store(
        f"s3://{BUCKET}/bench",
        endpoint=endpoint,
        region="us-east-1",
        access_key_id="test",
        secret_access_key="test",  # noqa: S106 (moto takes any)
    )
    assert isinstance(store, S3FileStore)
    when = datetime(2026, 10, 15, tzinfo=UTC)
    members = []
    for i in range(n):
        xml = f"<nfeProc><chave>{i:044d}</chave></nfeProc>".encode()
        packer = zlib.compressobj(6, zlib.DEFLATED, -15)
        deflated = packer.compress(xml) + packer.flush()
        member = CompressedXml(
            f"{i:044d}.xml", deflated, zlib.crc32(xml), len(xml), when, f"{i:044d}",
            Situacao.AUTORIZADA, False,
        )  # fmt: skip
        store.put_at(cache_key(member), b"%PDF-1.4 " + os.urandom(pdf_kb * 1024))
        members.append(member)
    print(
        f"{n:,} cached DANFEs of {pdf_kb} KB in moto's S3 server (its own process, 127.0.0.1), "
        f"read back in order; added latency per read {1000 * latency:.0f} ms; "
        f"{os.cpu_count()} CPUs, load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}",
        flush=True,
    )
    for label, depth in (
        ("one at a time (baseline)", 1),
        (f"{S3FileStore.read_ahead} ahead (S3FileStore.read_ahead)", S3FileStore.read_ahead),
    ) * 2:
        far = _Far(store, latency, depth)
        started = time.perf_counter()
        options = ExportOptions(files=far)
        found = list(printed_in_order(members, when, options))
        seconds = time.perf_counter() - started
        assert all(p.entry is not None for p in found)  # every one from the cache
        print(f"  {label:<40} {seconds:7.2f} s  {n / seconds:8.0f} DANFEs/s", flush=True)


class _moto:
    """moto's S3 server in a subprocess on a free port of 127.0.0.1."""

    def __enter__(self) -> str:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), 0.5).close()
                return f"http://127.0.0.1:{port}"
            except OSError:
                time.sleep(0.1)
        self.process.kill()
        raise SystemExit("moto's S3 server did not start")

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.wait(10)


if __name__ == "__main__":
    main()
