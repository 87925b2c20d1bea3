"""Benchmark: the certificate sweep over 100,000 clients, and paced outbox throughput.

    .venv/bin/python benchmarks/reminders.py [--clients N] [--gestores G] [--pg-url URL]
        [--messages M] [--chats C] [--rate R] [--smoke]

1. Sweep. A throwaway PostgreSQL database gets G gestores and N clients, each with an A1
   certificate whose last day is random between one year ago and two years ahead. The sweep
   (services.reminders.sweep_certificates) runs twice: the first run publishes (one digest per
   gestor over REMINDER_DIGEST_THRESHOLD) and records reminder_sent; the second finds nothing
   new (the steady state of every later day). Printed: both times, what was published, and
   EXPLAIN ANALYZE of the two queries the sweep makes (a range on the certificate.not_after
   index; a join on reminder_sent's unique key).
2. Throughput. A tiny Bot API stand-in on 127.0.0.1 answers getMe and sendMessage; M messages
   to C chats go out through the real OutboxSender, TelegramChannel (python-telegram-bot over
   HTTP) and RatePacer at TELEGRAM_RATE_GLOBAL=R. Printed: messages/s overall and the most
   messages the stand-in received in any one second (it must not exceed R).

`--smoke` runs tiny sizes in seconds so `./dev test` keeps the script alive (its figures mean
nothing); without PostgreSQL it skips the sweep and runs the throughput on SQLite.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from _support import pg_reachable, throwaway_database
from sqlalchemy import Engine, insert, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.channels import telegram as telegram_channel
from bot.pacing import pacer_from_settings
from bot.sender import OutboxSender
from bot.settings import Settings
from domain.documents import complete_cnpj
from services import outbox
from services.catalog import load_catalog
from services.conversation import enqueue_to
from services.messages import Text
from services.reminders import ReminderOptions, certificate_window, sweep_certificates
from storage.db import make_engine, make_session_factory
from storage.migrations import upgrade
from storage.models import Client, Gestor, Notice, Plan, Software
from storage.models_config import Certificate
from storage.models_reminders import ReminderSent
from storage.uow import UnitOfWorkFactory

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
SEED_CATALOG = Path(__file__).resolve().parent.parent / "storage" / "seed" / "catalog.json"
CHUNK = 10_000
TOKEN = "123456:BENCHMARK"  # noqa: S105 (the stand-in accepts any token)


def populate(engine: Engine, clients: int, gestores: int, now: datetime) -> None:
    rng = random.Random(7)
    uows = UnitOfWorkFactory(make_session_factory(engine))
    load_catalog(uows(), SEED_CATALOG)
    with engine.begin() as connection:
        software_id, plan_id = connection.execute(
            select(Software.id, Plan.id).join(Plan, Plan.software_id == Software.id).limit(1)
        ).one()
        connection.execute(
            insert(Gestor),
            [
                {
                    "cnpj": complete_cnpj(f"{20_000_000 + g:08d}0001"),
                    "razao_social": f"Escritório {g} Ltda",
                    "created_at": now,
                }
                for g in range(gestores)
            ],
        )
        gestor_ids = list(connection.scalars(select(Gestor.id).order_by(Gestor.id)))
    for start in range(0, clients, CHUNK):
        client_rows, cert_rows = [], []
        for n in range(start, min(start + CHUNK, clients)):
            client_rows.append(
                {
                    "id": n + 1,
                    "gestor_id": gestor_ids[n % gestores],
                    "documento": complete_cnpj(f"{30_000_000 + n:08d}0001"),
                    "razao_social": f"Cliente {n} Ltda",
                    "busca": f"cliente {n} ltda",
                    "email": f"cliente{n}@example.com",
                    "telefone": "11987654321",
                    "cep": "01310100",
                    "endereco": "Av. Paulista, 1000",
                    "cidade": "São Paulo",
                    "uf": "SP",
                    "software_id": software_id,
                    "plan_id": plan_id,
                    "status": "efetivado",
                    "payer": "gestor",
                    "created_via": "chat",
                    "created_at": now,
                    "updated_at": now,
                }
            )
            not_after = now + timedelta(days=rng.uniform(-365, 730))
            cert_rows.append(
                {
                    "client_id": n + 1,
                    "subject_cn": f"CLIENTE {n}",
                    "holder_name": f"CLIENTE {n}",
                    "documento": None,
                    "issuer_cn": "AC Benchmark",
                    "serial": f"{n:x}",
                    "fingerprint": hashlib.sha256(str(n).encode()).hexdigest(),
                    "not_before": not_after - timedelta(days=365),
                    "not_after": not_after,
                    "pfx_encrypted": b"x",
                    "password_encrypted": b"x",
                    "uploaded_at": now,
                    "uploaded_by": "benchmark",
                }
            )
        with engine.begin() as connection:
            connection.execute(insert(Client), client_rows)
            connection.execute(insert(Certificate), cert_rows)
    with engine.begin() as connection:
        connection.execute(text("SELECT setval('client_id_seq', (SELECT max(id) FROM client))"))
        connection.execute(text("ANALYZE"))


def explain(engine: Engine, now: datetime) -> None:
    start, end = certificate_window(now)
    uows = UnitOfWorkFactory(make_session_factory(engine))
    candidates = (
        select(Certificate.fingerprint, Certificate.not_after, Client.id, Client.gestor_id)
        .join(Client, Client.id == Certificate.client_id)
        .where(Certificate.not_after >= start, Certificate.not_after < end)
    )
    sent = (
        select(ReminderSent.subject, ReminderSent.threshold)
        .join(Certificate, Certificate.fingerprint == ReminderSent.subject)
        .where(
            ReminderSent.kind == "certificado",
            Certificate.not_after >= start,
            Certificate.not_after < end,
        )
    )
    uow = uows()
    with uow:
        for title, query in (("candidates", candidates), ("already sent", sent)):
            compiled = query.compile(engine, compile_kwargs={"literal_binds": True})
            plan = uow.session.execute(text(f"EXPLAIN ANALYZE {compiled}")).scalars().all()
            print(f"\n  EXPLAIN ANALYZE ({title}):")
            for line in plan:
                print(f"    {line}")


def bench_sweep(engine: Engine, clients: int, gestores: int) -> None:
    now = datetime.now(UTC)
    began = time.perf_counter()
    populate(engine, clients, gestores, now)
    print(
        f"  populated {clients:,} clients / {gestores} gestores in "
        f"{time.perf_counter() - began:.1f} s"
    )
    uows = UnitOfWorkFactory(make_session_factory(engine))
    options = ReminderOptions(digest_threshold=5)
    for label in ("first sweep (publishes)", "second sweep (steady state)"):
        began = time.perf_counter()
        result = sweep_certificates(uows, now=now, options=options)
        took = time.perf_counter() - began
        print(
            f"  {label}: {took * 1000:.0f} ms — {result.reminders:,} reminder(s), "
            f"{result.notices} notice(s) ({result.digests} digest(s))"
        )
    with engine.connect() as connection:
        notices = connection.scalar(select(text("count(*)")).select_from(Notice))
    print(f"  notices stored: {notices}")
    explain(engine, now)


class FakeBotApi(BaseHTTPRequestHandler):
    """Answers getMe and sendMessage like the Bot API; notes when each message arrived."""

    received: list[float] = []  # noqa: RUF012 (shared by the server's threads on purpose)
    lock = threading.Lock()

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        method = self.path.rsplit("/", 1)[-1]
        if method == "getMe":
            result: Any = {"id": 1, "is_bot": True, "first_name": "Bench", "username": "bench"}
        elif method == "sendMessage":
            with self.lock:
                self.received.append(time.monotonic())
                message_id = len(self.received)
            fields = _fields(body, self.headers.get("Content-Type", ""))
            result = {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": {"id": int(fields.get("chat_id", 1)), "type": "private"},
                "text": fields.get("text", ""),
            }
        else:
            result = True
        payload = json.dumps({"ok": True, "result": result}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        return


def _fields(body: bytes, content_type: str) -> dict[str, Any]:
    if "json" in content_type:
        return dict(json.loads(body or b"{}"))
    from urllib.parse import parse_qsl

    return dict(parse_qsl(body.decode()))


def most_in_one_second(stamps: list[float]) -> int:
    stamps = sorted(stamps)
    best, start = 0, 0
    for end, stamp in enumerate(stamps):
        while stamp - stamps[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


async def bench_throughput(engine: Engine, messages: int, chats: int, rate: float) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeBotApi)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    settings = Settings(
        _env_file=None,
        telegram_bot_token=TOKEN,
        telegram_base_url=f"http://127.0.0.1:{port}/bot",
        telegram_rate_global=rate,
    )
    uows = UnitOfWorkFactory(make_session_factory(engine))
    channel = telegram_channel.from_settings(settings, lambda event: None, uows)
    await channel.bot.initialize()
    uow = uows()
    with uow:
        now = datetime.now(UTC)
        for n in range(messages):
            chat = n % chats
            enqueue_to(uow, "telegram", f"tg:{chat}", str(1000 + chat), [Text(f"m{n}")], now)
        uow.commit()
    sender = OutboxSender(
        uows,
        [channel],
        batch=settings.sender_batch,
        concurrency=settings.sender_concurrency,
        pacer=pacer_from_settings(settings),
    )
    began = time.perf_counter()
    sent = 0
    while outbox.pending_count(uows) and time.perf_counter() - began < 600:
        sent += await sender.send_due()
    took = time.perf_counter() - began
    await channel.bot.shutdown()
    server.shutdown()
    received = FakeBotApi.received
    print(
        f"  {len(received):,} messages to {chats} chats in {took:.1f} s: "
        f"{len(received) / took:.1f} msg/s (cap {rate:g}/s, per chat "
        f"{settings.telegram_rate_per_chat:g}/s, burst {settings.telegram_burst_per_chat})"
    )
    print(
        f"  most received by the Bot API stand-in in any one second: "
        f"{most_in_one_second(received)}"
    )


def smoke_without_postgresql(messages: int, chats: int, rate: float) -> None:
    print("PostgreSQL does not answer: no sweep; the throughput on SQLite")
    with tempfile.TemporaryDirectory(prefix="reminders-bench-") as folder:
        engine = make_engine(f"sqlite:///{folder}/bench.db")
        try:
            upgrade(engine)
            print("SQLite — outbox throughput through the real Telegram sender + pacer")
            asyncio.run(bench_throughput(engine, messages, chats, rate))
        finally:
            engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--gestores", type=int, default=100)
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL)
    parser.add_argument("--messages", type=int, default=600)
    parser.add_argument("--chats", type=int, default=200)
    parser.add_argument("--rate", type=float, default=30.0)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, seconds")
    args = parser.parse_args()
    if args.smoke:
        args.clients, args.gestores, args.messages, args.chats = 300, 3, 20, 20
        if not pg_reachable(args.pg_url):
            smoke_without_postgresql(args.messages, args.chats, args.rate)
            return
    with throwaway_database(args.pg_url) as url:
        engine = make_engine(url)
        try:
            upgrade(engine)
            print("PostgreSQL — certificate sweep")
            bench_sweep(engine, args.clients, args.gestores)
            print("\nPostgreSQL — outbox throughput through the real Telegram sender + pacer")
            asyncio.run(bench_throughput(engine, args.messages, args.chats, args.rate))
        finally:
            engine.dispose()


if __name__ == "__main__":
    main()
