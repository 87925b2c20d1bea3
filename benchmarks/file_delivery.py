"""Benchmark: peak memory while a big generated file goes from the file store to Telegram.

    .venv/bin/python benchmarks/file_delivery.py [--size-mb 1024] [--smoke]

A file of SIZE MB (random bytes, written in 1 MB chunks) is put in a local file store (a
temporary folder), its reference enqueued in the outbox (a temporary SQLite file) as a ZIP
document, and delivered by the real OutboxSender and TelegramChannel (python-telegram-bot over
HTTP) to a Bot API stand-in on 127.0.0.1, as with a local Bot API server. The stand-in runs in
a child process, so this process's peak RSS is the sender's alone: it reads the multipart
upload in 1 MB pieces, checks size and sha256 and answers sendDocument.

Printed: the file size, the peak RSS before delivery (Python, the app, the stand-in started)
and after it, what delivery added, the throughput, and whether the stand-in got the same bytes.
The aim: peak RSS under 150 MB for a 1 GB file (the bytes are never whole in memory). The
baseline is the path before the file store: the file read whole into an outbox row (RSS ≥ its
size), not run here.

`--smoke` sends 8 MB in a few seconds so `./dev test` keeps the script alive (figures mean
nothing then).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.channels import telegram as telegram_channel
from bot.gateways.file_store import LocalFileStore
from bot.sender import OutboxSender
from bot.settings import Settings
from services.conversation import enqueue_to
from services.files import CHUNK
from services.messages import Document
from storage.db import make_engine, make_session_factory
from storage.migrations import upgrade
from storage.models import OutboxMessage
from storage.uow import UnitOfWorkFactory

TOKEN = "123:benchmark"  # noqa: S105 (the stand-in accepts any token)
MB = 1024 * 1024


class StandIn(BaseHTTPRequestHandler):
    """A Bot API that reads an upload in pieces and reports its size and sha256."""

    report: Connection | None = None

    def do_POST(self) -> None:
        method = self.path.rsplit("/", 1)[-1]
        length = int(self.headers.get("Content-Length") or 0)
        digest, size = self._read_upload(length) if method == "sendDocument" else (None, 0)
        if method == "getMe":
            result: Any = {"id": 1, "is_bot": True, "first_name": "Bench", "username": "bench"}
        elif method == "sendDocument":
            result = {
                "message_id": 1,
                "date": int(time.time()),
                "chat": {"id": 1, "type": "private"},
                "document": {"file_id": "D", "file_unique_id": "U"},
            }
            if self.report is not None:
                self.report.send((size, digest))
        else:
            result = True
        if method != "sendDocument":
            self.rfile.read(length)
        payload = json.dumps({"ok": True, "result": result}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _read_upload(self, length: int) -> tuple[str, int]:
        """The file part of the multipart body, hashed as it streams by (never held whole)."""
        boundary = self.headers["Content-Type"].split("boundary=", 1)[1].strip('"').encode()
        delimiter = b"\r\n--" + boundary
        sha, size, left, state, tail = hashlib.sha256(), 0, length, "head", b""
        while left:
            block = self.rfile.read(min(CHUNK, left))
            left -= len(block)
            tail += block
            if state == "head":
                start = tail.find(b'name="document"')
                if start < 0 or (body := tail.find(b"\r\n\r\n", start)) < 0:
                    continue
                tail, state = tail[body + 4 :], "file"
            if state == "file":
                end = tail.find(delimiter)
                if end >= 0:
                    sha.update(tail[:end])
                    size += end
                    tail, state = b"", "done"
                else:  # keep what could be the start of the delimiter
                    keep = len(delimiter)
                    sha.update(tail[:-keep])
                    size += max(len(tail) - keep, 0)
                    tail = tail[-keep:]
            if state == "done":
                tail = b""
        return sha.hexdigest(), size

    def log_message(self, format: str, *args: Any) -> None:
        return None


def serve(port_out: Connection, report: Connection) -> None:
    StandIn.report = report
    server = ThreadingHTTPServer(("127.0.0.1", 0), StandIn)
    port_out.send(server.server_address[1])
    server.serve_forever()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def make_file(store: LocalFileStore, size_mb: int) -> Any:
    block = os.urandom(MB)

    def chunks() -> Any:
        for n in range(size_mb):
            yield n.to_bytes(8, "big") + block[8:]

    return store.put(chunks())


async def deliver(workdir: Path, size_mb: int) -> int:
    store = LocalFileStore(workdir / "files")
    ref = make_file(store, size_mb)
    print(f"file: {ref.size / MB:,.0f} MB in the local store (sha256 {ref.sha256[:12]}…)")

    engine = make_engine(f"sqlite:///{workdir / 'bench.db'}")
    upgrade(engine)
    uows = UnitOfWorkFactory(make_session_factory(engine))
    uow = uows()
    with uow:
        document = Document("mes.zip", "application/zip", caption="ZIP do mês", file=ref)
        enqueue_to(uow, "telegram", "tg:1", "1", [document], datetime.now(UTC))
        uow.commit()

    port_in, port_out = multiprocessing.Pipe(duplex=False)
    report_in, report_out = multiprocessing.Pipe(duplex=False)
    stand_in = multiprocessing.Process(target=serve, args=(port_out, report_out), daemon=True)
    stand_in.start()
    port = port_in.recv()
    settings = Settings(
        _env_file=None,
        telegram_bot_token=TOKEN,
        telegram_base_url=f"http://127.0.0.1:{port}/bot",
    )
    channel = telegram_channel.from_settings(settings, lambda event: None, uows, files=store)
    await channel.bot.initialize()
    before = peak_rss_mb()
    began = time.perf_counter()
    await OutboxSender(uows, [channel]).send_due()
    seconds = time.perf_counter() - began
    after = peak_rss_mb()
    await channel.bot.shutdown()
    stand_in.terminate()

    status = row_status(uows)
    received = report_in.recv() if report_in.poll(5) else (0, None)
    same = received == (ref.size, ref.sha256)
    print(f"peak RSS before delivery: {before:,.0f} MB")
    print(
        f"peak RSS streaming {ref.size / MB:,.0f} MB to the Bot API stand-in: {after:,.0f} MB "
        f"(+{after - before:,.0f} MB; aim < 150 MB)"
    )
    print(f"delivered in {seconds:.1f}s: {ref.size / MB / seconds:,.0f} MB/s, row {status}")
    print(f"stand-in received the same bytes (size and sha256): {'yes' if same else 'NO'}")
    engine.dispose()
    return 0 if same and status == "sent" else 1


def row_status(uows: UnitOfWorkFactory) -> str:
    uow = uows()
    with uow:
        return uow.session.query(OutboxMessage).one().status


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--smoke", action="store_true", help="8 MB, a few seconds")
    args = parser.parse_args()
    size_mb = 8 if args.smoke else args.size_mb
    with tempfile.TemporaryDirectory(prefix="revendabot-files-") as workdir:
        return asyncio.run(deliver(Path(workdir), size_mb))


if __name__ == "__main__":
    sys.exit(main())
