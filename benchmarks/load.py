"""Benchmark: the full path over HTTP, 1, 2 and 4 `revendabot serve` processes on one PostgreSQL.

    .venv/bin/python benchmarks/load.py [--processes 1,2,4] [--chats 64] [--open-chats 256]
        [--seconds 12] [--open-seconds 10] [--open-rate R] [--offices 8] [--pg-url URL]
        [--backend postgresql|sqlite] [--no-kill] [--smoke]

A throwaway PostgreSQL database gets `--offices` offices of 40 clients (as
benchmarks/conversation.py seeds them) and one Telegram identity per simulated chat, bound to
an office as its gestor. Each run starts N real `revendabot serve` processes (subprocesses,
each on its own port, webhook mode with a secret token) whose Bot API is a stand-in in this
process (benchmarks/_bot_api.py, 127.0.0.1 only). A load balancer here sends every update
to the next live process in turn, as Telegram would to one public URL.

Each chat is a person: it sends an update (a message or a button press on the last prompt it
got) and waits for the reply (the next text with buttons the stand-in receives for it) before
the next one, walking conversation.py's mix: /menu → Clientes → Próxima → Próxima → a client
card → Voltar → Menu → Novo cadastro with every field → Cadastrar. A webhook answered 503
(the admission limit) is sent again 0.2 s later.

Per N: a closed loop (`--chats` chats, no pause: saturation) for `--seconds`, then an open
loop (`--open-chats` chats pausing at random so that about half the closed loop's rate is
offered, or `--open-rate R` per second: two builds compared at the same load) for
`--open-seconds`. Printed: accepted updates/s, webhook p50/p99 (POST → 200: the whole step,
committed before the answer), to reply p50/p99 (POST → the prompt at the stand-in), when
the last reply came after the last update was accepted, CPU per update of the servers and of
this harness, how busy the machine's CPUs were, PostgreSQL transactions per update, and
whatever the servers logged (at WARNING and above). Then an audit against the
database: every outbox row of the run matched to the calls the stand-in received (text,
chat, edited message): a row without its call is lost, a call beyond its row is duplicated;
every acknowledged update must be in processed_event.

The kill -9 scenario: 2 processes under the closed loop; 40% into it one is killed with
SIGKILL; what it did not acknowledge is sent again to the survivor (as Telegram redelivers
an unanswered webhook), the survivor delivers the rest, and the audit says what it delivered,
what was lost and what was duplicated. The only duplicate the design allows: a reply the killed
process had sent but not yet marked sent, sent again after the outbox claim lease
(services.outbox.CLAIM_LEASE, 20 s) — reported apart from any other. `--processes ''` runs
the echo and the kill run alone.

Baseline, same harness and load: a bare python-telegram-bot webhook echo
(benchmarks/_webhook_echo.py: FastAPI on uvicorn like `serve`, Update.de_json +
process_update, one sendMessage per update; no database), which is the transport's own cost
end to end — it sends its reply before its webhook returns, where `serve` commits, returns,
and leaves the reply to its outbox sender. The one-process run is the baseline of the 2- and
4-process runs. Pacing is set out of the way (TELEGRAM_RATE_* very high): the stand-in is not
Telegram, and the figure sought is the servers'. The scheduler is off; job workers are 1.
The servers, PostgreSQL and this harness share the machine's CPUs: when "machine N of N CPUs
busy" is printed, the machine, not the number of processes, is the limit: beside "N× one
process" the script prints the most the machine allows, min(N, CPUs / the CPUs busy at one
process) — what one update cost the machine at one process, spread over all its CPUs.

Aims: 2 processes ≥ 1.7× one process; 0 lost, 0 duplicated; webhook p99 < 50 ms in the
open loop. The script exits 1 when an audit finds a loss or an unexplained duplicate.

`--backend sqlite` runs one process on a SQLite file (the embedded default, which suits one
process), without the kill run.

`--smoke` runs one process and the echo for a few seconds with a few chats (SQLite when
PostgreSQL does not answer) so `./dev test` keeps the script alive; its figures mean nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _bot_api import BotApiStandIn, Call, WebhookClient
from _support import pg_reachable, throwaway_database
from conversation import Gestor, seed
from sqlalchemy import Engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from bot.app import build_app
from bot.channels.telegram import html_text
from bot.settings import Settings
from domain.clients import Role
from services import access
from services.messages import ChoiceBody, Text, TextBody, from_payload
from services.outbox import CLAIM_LEASE
from storage.db import make_engine
from storage.migrations import upgrade
from storage.models import Gestor as Office
from storage.models import OutboxMessage, ProcessedEvent

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
TOKEN = "123456:LOAD"  # noqa: S105 (the stand-in accepts any token)
FIRST_USER = 700_000
REFUSED_PAUSE = 0.2  # seconds before an update answered 503 is sent again
REPLY_TIMEOUT = 15.0  # seconds a chat waits for its reply (the kill run: the lease too)
DELIVER_TIMEOUT = 30.0  # seconds an update is offered before it counts as not accepted
START_TIMEOUT = 90.0
BAD_REPLIES = ("Essa opção expirou", "Ops, algo deu errado", "⚠️")
CLK_TCK = os.sysconf("SC_CLK_TCK")
STATS_FLUSH = 1.2  # seconds: PostgreSQL's backends publish their statistics about every second


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))]


# -- the processes ------------------------------------------------------------------------------


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a live process has used; 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def machine_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs since boot."""
    values = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path
    killed_at: float | None = None
    cpu_at_kill: float = 0.0

    def cpu(self) -> float:
        return self.cpu_at_kill if self.killed_at else process_cpu(self.process.pid)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_serve(name: str, url: str, api_port: int, secret: str, workdir: Path) -> Server:
    """`revendabot serve` in webhook mode, its Bot API the stand-in under /<name>/."""
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "ENVIRONMENT": "development",
        "DATABASE_URL": url,
        "LOG_LEVEL": "WARNING",
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_BASE_URL": f"http://127.0.0.1:{api_port}/{name}/bot",
        "TELEGRAM_BASE_FILE_URL": f"http://127.0.0.1:{api_port}/{name}/file/bot",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "TELEGRAM_WEBHOOK_SECRET": secret,
        "TELEGRAM_RATE_PER_CHAT": "1000",
        "TELEGRAM_RATE_GLOBAL": "100000",
        "TELEGRAM_BURST_PER_CHAT": "20",
        "SCHEDULER_ENABLED": "false",
        "JOB_WORKERS": "1",
        "FILE_STORE_URL": str(workdir / "files"),
    }
    log = workdir / f"{name}.log"
    command = [sys.executable, "-c", "from bot.cli import main; main()", "serve"]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*command, "--host", "127.0.0.1", "--port", str(port)],
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return Server(name, port, process, log)


def start_echo(api_port: int, secret: str, workdir: Path) -> Server:
    port = free_port()
    log = workdir / "echo.log"
    base = f"http://127.0.0.1:{api_port}/echo/bot"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, str(HERE / "_webhook_echo.py"), str(port), base, secret],
            cwd=workdir,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return Server("echo", port, process, log)


async def until_healthy(servers: list[Server], client: WebhookClient) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    for server in servers:
        while True:
            if server.process.poll() is not None:
                raise RuntimeError(f"{server.name} exited: {server.log.read_text()[-2000:]}")
            with contextlib.suppress(OSError):
                if await client.get(server.port, "/healthz") == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{server.name} did not answer /healthz")
            await asyncio.sleep(0.1)


def stop(servers: list[Server]) -> None:
    for server in servers:
        if server.process.poll() is None:
            server.process.send_signal(signal.SIGTERM)
    for server in servers:
        try:
            server.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()
    for server in servers:  # LOG_LEVEL=WARNING: anything logged is worth a look
        lines = server.log.read_text(errors="replace").splitlines()
        problems = [line for line in lines if " ERROR " in line or " WARNING " in line]
        if problems:
            print(
                f"    {server.name} logged {len(problems)} warnings/errors; the first: "
                f"{problems[0][:200]}"
            )


# -- the chats ----------------------------------------------------------------------------------


@dataclass
class Chat:
    user: int
    script: Gestor
    prompt: int = 0  # the id of the last prompt it got (the message its buttons are on)
    own_messages: Iterator[int] = field(default_factory=lambda: itertools.count(1_000_000))

    def update(self, update_id: int) -> dict[str, Any]:
        """The next update of this person, as Telegram posts it."""
        body = self.script.next_body()
        person = {"id": self.user, "is_bot": False, "first_name": f"Gestor {self.user}"}
        chat = {"id": self.user, "type": "private", "first_name": person["first_name"]}
        now = int(time.time())
        if isinstance(body, ChoiceBody):
            pressed = {"message_id": self.prompt, "date": now, "chat": chat, "text": "."}
            query = {
                "id": f"cq{update_id}",
                "from": person,
                "chat_instance": f"ci{self.user}",
                "message": pressed,
                "data": body.choice_id,
            }
            return {"update_id": update_id, "callback_query": query}
        assert isinstance(body, TextBody)
        message: dict[str, Any] = {
            "message_id": next(self.own_messages),
            "date": now,
            "from": person,
            "chat": chat,
            "text": body.text,
        }
        if body.text.startswith("/"):
            length = len(body.text.split()[0])
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return {"update_id": update_id, "message": message}


@dataclass
class Sent:
    update_id: int
    chat: int
    started: float
    accepted_by: str | None = None
    accepted_at: float | None = None
    webhook: float | None = None  # seconds, the accepted POST
    refused: int = 0  # answered 503
    failed_on: list[str] = field(default_factory=list)  # processes that did not answer
    answer: Call | None = None


class Balancer:
    """Round robin over the live processes; one that does not answer is out."""

    def __init__(self, servers: list[Server]) -> None:
        self.live = list(servers)
        self.turn = itertools.count()

    def pick(self) -> Server | None:
        return self.live[next(self.turn) % len(self.live)] if self.live else None

    def out(self, server: Server) -> None:
        if server in self.live:
            self.live.remove(server)


@dataclass
class Phase:
    name: str
    sent: list[Sent]
    began: float
    sending_ended: float
    ended: float
    server_cpu: float
    harness_cpu: float
    machine_busy: float  # CPUs' worth busy during the phase (all processes of the machine)
    offered: float | None = None
    transactions: int | None = None  # committed + rolled back in the database (PostgreSQL)


def transactions(engine: Engine) -> int | None:
    """Transactions the benchmark database has seen so far (PostgreSQL's statistics)."""
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as connection:
        return int(
            connection.scalar(
                text(
                    "SELECT xact_commit + xact_rollback FROM pg_stat_database "
                    "WHERE datname = current_database()"
                )
            )
            or 0
        )


class Load:
    def __init__(
        self, api: BotApiStandIn, client: WebhookClient, engine: Engine, *, warm_up: float
    ) -> None:
        self.api = api
        self.client = client
        self.engine = engine
        self.warm_up = warm_up  # seconds; also the wait for PostgreSQL's statistics
        self.update_ids = itertools.count(1)

    async def run(
        self,
        name: str,
        chats: list[Chat],
        servers: list[Server],
        *,
        seconds: float,
        rate: float | None = None,
        reply_timeout: float = REPLY_TIMEOUT,
        kill_at: float | None = None,
    ) -> Phase:
        """Each chat sends and waits for its reply until `seconds` have passed; with `rate`,
        pauses so that about `rate` updates/s are offered in all."""
        balancer = Balancer(servers)
        sent: list[Sent] = []
        began = time.perf_counter()
        until = began + seconds
        cpu_before = sum(s.cpu() for s in servers)
        harness_before = time.process_time()
        busy_before, total_before = machine_cpu()
        xacts_before = transactions(self.engine)

        async def person(chat: Chat, rng: random.Random) -> None:
            while time.perf_counter() < until:
                if rate:
                    await asyncio.sleep(rng.expovariate(rate / len(chats)))
                    if time.perf_counter() >= until:
                        return
                update_id = next(self.update_ids)
                body = json.dumps(chat.update(update_id)).encode()
                record = Sent(update_id, chat.user, time.perf_counter())
                sent.append(record)
                answer = self.api.expect(chat.user)
                if not await self._offer(record, body, balancer):
                    self.api.forget(chat.user)
                    return  # not accepted: its script would be out of step
                try:
                    record.answer = await asyncio.wait_for(answer, reply_timeout)
                except TimeoutError:
                    self.api.forget(chat.user)
                    return
                chat.prompt = record.answer.message_id or chat.prompt

        async def killer(at: float) -> None:
            await asyncio.sleep(at)
            victim = servers[0]
            victim.cpu_at_kill = victim.cpu()
            os.kill(victim.process.pid, signal.SIGKILL)
            victim.killed_at = time.perf_counter()

        tasks = [person(chat, random.Random(chat.user)) for chat in chats]
        if kill_at is not None:
            tasks.append(killer(kill_at))
        await asyncio.gather(*tasks)
        ended = time.perf_counter()
        sending_ended = max((s.accepted_at for s in sent if s.accepted_at), default=ended)
        busy_after, total_after = machine_cpu()
        cores = os.cpu_count() or 1
        server_cpu = sum(s.cpu() for s in servers) - cpu_before
        xacts = None
        if xacts_before is not None:
            await asyncio.sleep(min(STATS_FLUSH, self.warm_up))
            xacts = (transactions(self.engine) or 0) - xacts_before
        return Phase(
            name,
            sent,
            began,
            sending_ended,
            ended,
            server_cpu,
            time.process_time() - harness_before,
            cores * (busy_after - busy_before) / max(total_after - total_before, 1),
            rate,
            xacts,
        )

    async def _offer(self, record: Sent, body: bytes, balancer: Balancer) -> bool:
        """POST until a process answers 200 (503: again shortly; no answer: the next one)."""
        deadline = time.perf_counter() + DELIVER_TIMEOUT
        while time.perf_counter() < deadline:
            server = balancer.pick()
            if server is None:
                return False
            start = time.perf_counter()
            try:
                status = await self.client.post(server.port, body)
            except OSError:
                record.failed_on.append(server.name)
                balancer.out(server)
                self.client.close(server.port)
                continue
            if status == 200:
                record.accepted_at = time.perf_counter()
                record.webhook = record.accepted_at - start
                record.accepted_by = server.name
                return True
            if status == 503:
                record.refused += 1
                await asyncio.sleep(REFUSED_PAUSE)
                continue
            record.failed_on.append(f"{server.name}:{status}")
            return False
        return False


def report(phase: Phase, servers: int, baseline: Phase | None = None) -> float:
    """Print a phase's figures; return its accepted updates/s. With `baseline` (the one-process
    closed loop), the rate as a multiple of its rate, beside the most this machine allows: at
    one process each update cost the machine (servers, PostgreSQL, this harness) its CPUs busy
    over its rate, so N processes reach at most min(N, CPUs / those CPUs busy)× its rate."""
    accepted = [s for s in phase.sent if s.accepted_at is not None]
    answered = [s for s in accepted if s.answer is not None]
    seconds = phase.sending_ended - phase.began
    rate = _rate(phase)
    webhook = [1000 * s.webhook for s in accepted if s.webhook is not None]
    to_reply = [1000 * (s.answer.at - s.started) for s in answered if s.answer is not None]
    last_reply = max((s.answer.at for s in answered if s.answer is not None), default=0.0)
    line = (
        f"{phase.name}: {len(accepted):>6} accepted in {seconds:5.1f} s = {rate:7.1f} "
        f"accepted updates/s | webhook p50 {percentile(webhook, 50):6.1f} ms "
        f"p99 {percentile(webhook, 99):6.1f} ms | to reply p50 {percentile(to_reply, 50):6.1f} ms "
        f"p99 {percentile(to_reply, 99):6.1f} ms"
    )
    if baseline is not None and (baseline_rate := _rate(baseline)) > 0:
        cpus = os.cpu_count() or 1
        ceiling = min(servers, cpus / baseline.machine_busy) if baseline.machine_busy else servers
        line += (
            f" | {rate / baseline_rate:4.2f}× one process (this machine allows ≈{ceiling:.2f}×: "
            f"{cpus} CPUs / {baseline.machine_busy:.2f} busy at one process)"
        )
    print(line, flush=True)
    refused = sum(s.refused for s in phase.sent)
    failed = sum(len(s.failed_on) for s in phase.sent)
    unanswered = len(accepted) - len(answered)
    per_update = 1000 * phase.server_cpu / max(len(accepted), 1)
    print(
        f"    last reply {1000 * max(last_reply - phase.sending_ended, 0):.0f} ms after the "
        f"last accepted update; {refused} answered 503, {failed} POSTs unanswered, "
        f"{len(phase.sent) - len(accepted)} never accepted, {unanswered} accepted without a "
        f"reply within the wait"
        + (f"; pauses aimed at {phase.offered:.0f}/s offered" if phase.offered else "")
    )
    print(
        f"    CPU: servers {per_update:.2f} ms per update ({servers} process"
        f"{'es' if servers > 1 else ''}), this harness "
        f"{1000 * phase.harness_cpu / max(len(accepted), 1):.2f} ms per update; machine "
        f"{phase.machine_busy:.2f} of {os.cpu_count()} CPUs busy"
        + (
            f"; PostgreSQL {phase.transactions / max(len(accepted), 1):.1f} transactions "
            "per update"
            if phase.transactions is not None
            else ""
        ),
        flush=True,
    )
    return rate


def _rate(phase: Phase) -> float:
    """Accepted updates per second of sending."""
    seconds = phase.sending_ended - phase.began
    accepted = sum(1 for s in phase.sent if s.accepted_at is not None)
    return accepted / seconds if seconds > 0 else 0.0


# -- the audit ----------------------------------------------------------------------------------


@dataclass
class Audit:
    rows: int
    statuses: Counter[str]
    lost: list[tuple[Any, ...]]
    duplicated: dict[tuple[Any, ...], tuple[int, list[Call]]]  # extra copies, all copies
    not_processed: list[int]
    bad_replies: int


def row_signature(row: OutboxMessage) -> tuple[Any, ...]:
    """What the stand-in must have received for this outbox row (as the channel renders it)."""
    chat = int(row.address)
    outbound, edit_ref = from_payload(row.payload, row.blob)
    if isinstance(outbound, Text):
        shown, _ = html_text(outbound)
        if edit_ref is not None:
            return ("editMessageText", chat, int(edit_ref), shown)
        return ("sendMessage", chat, shown)
    kind = row.payload["type"]
    if kind == "clear_buttons":
        return ("editMessageReplyMarkup", chat, int(row.payload["ref"]))
    if kind == "delete":
        return ("deleteMessage", chat, int(row.payload["ref"]))
    return (kind, chat)


def call_signature(call: Call) -> tuple[Any, ...]:
    if call.method == "sendMessage":
        return (call.method, call.chat, call.text)
    if call.method == "editMessageText":
        return (call.method, call.chat, call.message_id, call.text)
    if call.method in ("editMessageReplyMarkup", "deleteMessage"):
        return (call.method, call.chat, call.message_id)
    return ({"sendChatAction": "chat_action"}.get(call.method, call.method), call.chat)


def match(
    rows: list[OutboxMessage], calls: list[Call]
) -> tuple[list[tuple[Any, ...]], dict[tuple[Any, ...], tuple[int, list[Call]]]]:
    """Rows without their call (lost), and calls beyond their rows' count (duplicated)."""
    # A secret's row (a new integration key) keeps "[redacted]" once sent: it is matched to
    # a text call of its chat that no other row accounts for.
    redacted = Counter(int(row.address) for row in rows if row.payload.get("redacted"))
    expected = Counter(row_signature(row) for row in rows if not row.payload.get("redacted"))
    received: dict[tuple[Any, ...], list[Call]] = defaultdict(list)
    for call in calls:
        received[call_signature(call)].append(call)
    lost = [sig for sig, count in expected.items() for _ in range(count - len(received[sig]))]
    duplicated = {}
    for sig, copies in received.items():
        extra = len(copies) - expected.get(sig, 0)
        if extra > 0 and sig not in expected and sig[0] in ("sendMessage", "editMessageText"):
            # a text no readable row has: one of its chat's redacted rows (a repeat of a
            # readable text never is: it counts as duplicated)
            taken = min(extra, redacted[sig[1]])
            redacted[sig[1]] -= taken
            extra -= taken
        if extra > 0:
            duplicated[sig] = (extra, copies)
    lost += [("redacted", chat) for chat, left in redacted.items() for _ in range(left)]
    return lost, duplicated


def audit(engine: Engine, after_row: int, calls: list[Call], sent: list[Sent]) -> Audit:
    """Match the outbox rows (id > after_row) to the stand-in's calls, chat by chat."""
    with Session(engine) as session:
        rows = list(
            session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.id > after_row, OutboxMessage.channel == "telegram")
                .order_by(OutboxMessage.id)
            )
        )
        ids = [str(s.update_id) for s in sent if s.accepted_at is not None]
        processed = set(
            session.scalars(
                select(ProcessedEvent.event_id).where(
                    ProcessedEvent.channel == "telegram", ProcessedEvent.event_id.in_(ids)
                )
            )
        )
    lost, duplicated = match([row for row in rows if row.status != "failed"], calls)
    bad = sum(1 for c in calls if c.text and c.text.startswith(BAD_REPLIES))
    return Audit(
        len(rows),
        Counter(row.status for row in rows),
        lost,
        duplicated,
        [int(i) for i in ids if i not in processed],
        bad,
    )


def print_audit(result: Audit, killed: Server | None = None) -> bool:
    """Print the audit; return whether it found a loss or a duplicate the design forbids."""
    total = sum(extra for extra, _ in result.duplicated.values())
    explained = 0
    if killed is not None and killed.killed_at is not None:
        at = killed.killed_at
        explained = sum(
            extra
            for extra, copies in result.duplicated.values()
            if any(c.sender == killed.name and c.at <= at for c in copies)
            and any(c.sender != killed.name for c in copies)
        )
    unexplained = total - explained
    statuses = ", ".join(f"{n} {s}" for s, n in sorted(result.statuses.items()))
    print(
        f"    audit: {result.rows} outbox rows ({statuses}); {len(result.lost)} lost, "
        f"{total} duplicated"
        + (f" ({explained} sent by the killed process and not yet marked sent)" if killed else "")
        + f"; {len(result.not_processed)} acknowledged updates not in processed_event; "
        f"{result.bad_replies} error/expired replies",
        flush=True,
    )
    for sig in result.lost[:5]:
        print(f"    lost: {str(sig)[:160]}")
    for sig, (_, copies) in list(result.duplicated.items())[:5]:
        senders = ", ".join(f"{c.sender}@{c.at:.2f}" for c in copies)
        print(f"    duplicated: {str(sig)[:120]} by {senders}")
    return bool(result.lost or unexplained or result.not_processed)


def last_row_id(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.coalesce(func.max(OutboxMessage.id), 0))) or 0)


async def drained(engine: Engine, within: float) -> None:
    """Wait until no outbox row waits or is in flight (the senders are done)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        with Session(engine) as session:
            left = session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status.in_(("pending", "sending")))
            )
        if not left:
            return
        await asyncio.sleep(0.2)


# -- the runs -----------------------------------------------------------------------------------


@dataclass
class Setup:
    url: str
    engine: Engine
    chats: list[Chat]
    echo_chats: list[Chat]
    workdir: Path
    secret: str


def prepare(url: str, offices: int, chats: int) -> tuple[Engine, list[Chat], list[Chat]]:
    """Migrate, seed the offices, bind one Telegram identity per chat to an office."""
    engine = make_engine(url)
    upgrade(engine)
    settings = Settings(environment="test", database_url=url, _env_file=None)
    app = build_app(settings, db=engine)
    templates = seed(app, offices)
    with engine.connect() as connection:
        cnpjs = list(connection.scalars(select(Office.cnpj).order_by(Office.id)))
    made = []
    for n in range(chats):
        template = templates[n % offices]
        user = FIRST_USER + n
        access.bind_identity(
            app.uow_factory(),
            gestor_cnpj=cnpjs[n % offices],
            identity_key=f"tg:{user}",
            channel="telegram",
            address=str(user),
            role=Role.GESTOR,
        )
        script = Gestor(
            1000 + n, f"tg:{user}", template.client_ids, template.software_id, template.plan_id
        )
        made.append(Chat(user, script))
    echo = [
        Chat(FIRST_USER + 100_000 + n, Gestor(3000 + n, "", [0] * 40, 0, 0)) for n in range(chats)
    ]
    return engine, made, echo


async def bench(args: argparse.Namespace, setup: Setup) -> bool:
    api = BotApiStandIn()
    api_port = await api.start()
    client = WebhookClient(setup.secret)
    load = Load(api, client, setup.engine, warm_up=args.warm_up)
    closed_chats = setup.chats[: args.chats]
    failed = False

    echo = start_echo(api_port, setup.secret, setup.workdir)
    try:
        await until_healthy([echo], client)
        await load.run("warm-up", setup.echo_chats[:8], [echo], seconds=args.warm_up)
        phase = await load.run(
            "bare PTB webhook echo, 1 process, closed loop",
            setup.echo_chats[: args.chats],
            [echo],
            seconds=args.seconds,
        )
        report(phase, 1)
    finally:
        stop([echo])
        client.close()

    one_process: Phase | None = None
    for count in args.processes:
        after_row, first_call = last_row_id(setup.engine), len(api.calls)
        servers = [
            start_serve(f"p{i}", setup.url, api_port, setup.secret, setup.workdir)
            for i in range(count)
        ]
        label = f"{count} process{'es' if count > 1 else ''}"
        sent: list[Sent] = []
        try:
            starting = time.perf_counter()
            await until_healthy(servers, client)
            print(
                f"{label} answering /healthz {time.perf_counter() - starting:.1f} s after start",
                flush=True,
            )
            await load.run("warm-up", closed_chats[:8], servers, seconds=args.warm_up)
            closed = await load.run(
                f"{label}, closed loop", closed_chats, servers, seconds=args.seconds
            )
            rate = report(closed, count, one_process)
            one_process = one_process or closed
            open_loop = await load.run(
                f"{label}, open loop at "
                + (f"{args.open_rate:g}/s" if args.open_rate else "half that"),
                setup.chats[: args.open_chats],
                servers,
                seconds=args.open_seconds,
                rate=args.open_rate or rate / 2,
            )
            report(open_loop, count)
            sent = closed.sent + open_loop.sent
            await drained(setup.engine, REPLY_TIMEOUT)
        finally:
            stop(servers)
            client.close()
        calls = api.calls[first_call:]
        failed |= print_audit(audit(setup.engine, after_row, calls, sent))

    if args.kill:
        failed |= await kill_run(args, setup, api, load, api_port)
    await api.stop()
    return failed


async def kill_run(
    args: argparse.Namespace, setup: Setup, api: BotApiStandIn, load: Load, api_port: int
) -> bool:
    """2 processes under the closed loop; p0 killed with SIGKILL 40% into it."""
    after_row, first_call = last_row_id(setup.engine), len(api.calls)
    servers = [
        start_serve(f"p{i}", setup.url, api_port, setup.secret, setup.workdir) for i in range(2)
    ]
    lease = CLAIM_LEASE.total_seconds()
    try:
        await until_healthy(servers, load.client)
        phase = await load.run(
            "kill -9 of p0 at 40%, 2 processes, closed loop",
            setup.chats[: args.chats],
            servers,
            seconds=args.seconds,
            reply_timeout=lease + REPLY_TIMEOUT,
            kill_at=0.4 * args.seconds,
        )
        report(phase, 2)
        await drained(setup.engine, lease + REPLY_TIMEOUT)
    finally:
        stop(servers)
        load.client.close()
    victim, survivor = servers
    calls = api.calls[first_call:]
    killed_at = victim.killed_at or 0.0
    by_victim = [s for s in phase.sent if s.accepted_by == victim.name]
    in_flight = [s for s in phase.sent if victim.name in s.failed_on]
    # replies to what p0 had taken that came after its death: necessarily from p1
    late = [s for s in by_victim if s.answer is not None and s.answer.at > killed_at]
    after_kill = [c for c in calls if c.sender == survivor.name and c.at > killed_at]
    held = [c for c in after_kill if c.at > killed_at + 0.9 * lease]
    print(
        f"    p0 killed {killed_at - phase.began:.1f} s in, having acknowledged "
        f"{len(by_victim)} updates ({len(late)} of them answered after its death, by p1); "
        f"{len(in_flight)} updates it did not answer were sent again to p1; "
        f"p1 made {len(after_kill)} Bot API calls after the kill, {len(held)} of them once "
        f"p0's claim lease ({lease:.0f} s) had run out"
    )
    return print_audit(audit(setup.engine, after_row, calls, phase.sent), killed=victim)


@contextlib.contextmanager
def database(args: argparse.Namespace) -> Iterator[str]:
    if args.backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="revendabot-load-") as folder:
            yield f"sqlite:///{folder}/load.db"
        return
    with throwaway_database(args.pg_url, prefix="revendabot_load") as url:
        yield url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--processes", default="1,2,4", help="comma-separated counts ('': the kill run alone)"
    )
    parser.add_argument("--chats", type=int, default=64, help="chats of the closed loop")
    parser.add_argument("--open-chats", type=int, default=256, help="chats of the open loop")
    parser.add_argument("--seconds", type=float, default=12.0, help="closed loop length")
    parser.add_argument("--open-seconds", type=float, default=10.0, help="open loop length")
    parser.add_argument(
        "--open-rate",
        type=float,
        default=None,
        help="updates/s the open loop offers (default: half the closed loop's; a fixed rate "
        "compares two builds at the same load)",
    )
    parser.add_argument("--offices", type=int, default=8)
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_PG_URL),
        help="server to create the throwaway benchmark database on (127.0.0.1 only)",
    )
    parser.add_argument(
        "--backend",
        choices=("postgresql", "sqlite"),
        default="postgresql",
        help="sqlite: the embedded default, one process (it has one writer), no kill run",
    )
    parser.add_argument("--no-kill", dest="kill", action="store_false", help="skip kill -9")
    parser.add_argument("--smoke", action="store_true", help="1 process, a few seconds")
    args = parser.parse_args(argv)
    args.processes = [int(n) for n in str(args.processes).split(",") if n.strip()]
    args.warm_up = 1.0
    if args.backend == "sqlite":
        args.processes, args.kill = [1] if args.processes else [], False
    if args.smoke:
        args.processes, args.chats, args.open_chats = [1], 6, 12
        args.seconds, args.open_seconds, args.offices, args.kill = 2.0, 2.0, 2, False
        args.warm_up = 0.3
        if not pg_reachable(args.pg_url):
            print("PostgreSQL does not answer: SQLite")
            args.backend = "sqlite"
    if make_url(args.pg_url).host not in ("127.0.0.1", "localhost", "::1"):
        parser.error("benchmarks run against 127.0.0.1 only")
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; processes {args.processes}, "
        f"{args.chats} chats closed loop, {args.open_chats} open loop; load average before: "
        + " ".join(f"{x:.2f}" for x in os.getloadavg()),
        flush=True,
    )
    total = max(args.chats, args.open_chats)
    with database(args) as url, tempfile.TemporaryDirectory(prefix="revendabot-load-") as work:
        began = time.perf_counter()
        engine, chats, echo_chats = prepare(url, args.offices, total)
        print(
            f"seeded {args.offices} offices × 40 clients and {total} Telegram gestores in "
            f"{time.perf_counter() - began:.1f} s ({make_url(url).get_backend_name()})",
            flush=True,
        )
        setup = Setup(url, engine, chats, echo_chats, Path(work), secrets.token_urlsafe(32))
        try:
            failed = asyncio.run(bench(args, setup))
        finally:
            engine.dispose()
    print("load average after: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    if failed:
        print("FAILED: an audit found lost or duplicated replies (see above)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
