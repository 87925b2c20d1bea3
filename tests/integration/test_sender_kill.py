"""A sender killed with SIGKILL mid-batch: nothing is lost, at most its call in flight repeats.

Real processes: a sender delivers 100 queued replies to a local Bot API stand-in, is killed
with SIGKILL while sending, and a second sender (after the claim lease, by its clock) delivers
the rest. The stand-in counts what reached each chat.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qsl

import pytest

from services.conversation import enqueue_to
from services.messages import Text
from storage.db import make_engine, make_session_factory
from storage.migrations import upgrade
from storage.uow import UnitOfWorkFactory

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "123456:KILL-TEST"
MESSAGES = 100
CHATS = 10

SENDER = """
import asyncio, sys
from datetime import UTC, datetime, timedelta

from bot.channels import telegram as telegram_channel
from bot.sender import OutboxSender
from bot.settings import Settings
from services import outbox
from storage.db import make_engine, make_session_factory
from storage.uow import UnitOfWorkFactory

url, base, later = sys.argv[1], sys.argv[2], sys.argv[3] == "later"


async def main() -> None:
    settings = Settings(_env_file=None, telegram_bot_token="TOKEN", telegram_base_url=base)
    uows = UnitOfWorkFactory(make_session_factory(make_engine(url)))
    channel = telegram_channel.from_settings(settings, lambda event: None, uows)
    await channel.bot.initialize()
    sender = OutboxSender(uows, [channel], batch=100, concurrency=1, pacer=None)
    if not later:
        await sender.run()
        return
    while outbox.pending_count(uows):
        await sender.send_due()
        await asyncio.sleep(0.05)


if later:  # this instance starts after the dead one's claim lease has run out
    import time_machine

    with time_machine.travel(datetime.now(UTC) + 2 * outbox.CLAIM_LEASE, tick=True):
        asyncio.run(main())
else:
    asyncio.run(main())
""".replace("TOKEN", TOKEN)


class BotApiStandIn(BaseHTTPRequestHandler):
    """getMe and sendMessage, each send taking a moment as over a real network."""

    texts: ClassVar[list[str]] = []
    lock = threading.Lock()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        method = self.path.rsplit("/", 1)[-1]
        result: Any = True
        if method == "getMe":
            result = {"id": 1, "is_bot": True, "first_name": "Kill", "username": "kill_bot"}
        elif method == "sendMessage":
            time.sleep(0.02)
            content = self.headers.get("Content-Type", "")
            fields = json.loads(body) if "json" in content else dict(parse_qsl(body.decode()))
            with self.lock:
                self.texts.append(str(fields.get("text")))
                message_id = len(self.texts)
            result = {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": {"id": int(fields.get("chat_id", 1)), "type": "private"},
                "text": fields.get("text", ""),
            }
        payload = json.dumps({"ok": True, "result": result}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def bot_api() -> Iterator[str]:
    BotApiStandIn.texts = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), BotApiStandIn)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/bot"
    server.shutdown()


def _start(url: str, base: str, mode: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", SENDER, url, base, mode],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _received() -> int:
    with BotApiStandIn.lock:
        return len(BotApiStandIn.texts)


def test_a_sender_killed_mid_batch_loses_nothing_and_repeats_at_most_its_call_in_flight(
    tmp_path: Path, bot_api: str
) -> None:
    url = f"sqlite:///{tmp_path / 'outbox.db'}"
    engine = make_engine(url)
    upgrade(engine)
    uow = UnitOfWorkFactory(make_session_factory(engine))()
    with uow:
        now = datetime.now(UTC)
        for n in range(MESSAGES):
            chat = n % CHATS
            enqueue_to(uow, "telegram", f"tg:{chat}", str(1000 + chat), [Text(f"m{n}")], now)
        uow.commit()
    engine.dispose()

    first = _start(url, bot_api, "now")
    deadline = time.monotonic() + 60
    while _received() < 30 and time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.01)
    assert first.poll() is None, first.stderr.read() if first.stderr else ""
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    at_kill = _received()
    assert 30 <= at_kill < MESSAGES  # killed in the middle of its batch

    second = _start(url, bot_api, "later")
    assert second.wait(timeout=120) == 0, second.stderr.read() if second.stderr else ""

    counts = Counter(BotApiStandIn.texts)
    lost = [f"m{n}" for n in range(MESSAGES) if counts[f"m{n}"] == 0]
    duplicated = {text: seen for text, seen in counts.items() if seen > 1}
    assert lost == []
    assert sum(seen - 1 for seen in duplicated.values()) <= 1, duplicated
