"""Benchmark: simulated gestores through the conversation core and the outbox, vs. bare PTB.

    .venv/bin/python benchmarks/conversation.py [--updates N] [--gestores G] [--workers W]
        [--backend sqlite|postgresql|both] [--pg-url URL] [--rate R] [--smoke]

Each gestor is its own office (40 clients) and its own chat identity, and walks a realistic
mix in a loop: /menu → Clientes → Próxima → Próxima → a client card → Voltar → Menu →
Novo cliente → Novo cadastro → payer → software → plan → CNPJ → razão social → Pular →
e-mail → telefone → CEP → endereço → Cadastrar. W lanes run the gestores (by default as many
as `serve` runs its steps on: asyncio's default executor, min(32, CPUs + 4)): the events of one
identity in order, different identities in parallel. The real outbox sender (bot/sender.py),
with the batch and concurrency `serve` gives it (settings: 100 and 64; no pacing), delivers
concurrently on an event loop of its own, to a stand-in channel that answers at once: its
claims, renewals and fenced records are the ones a deployment runs. That loop, and the echo's,
is the kind `serve` runs (uvloop where installed; EVENT_LOOP=asyncio for asyncio's own; the
first line says which). Each lane is a
coroutine on the sender's loop that runs its steps as `serve`'s channels do (bot/steps.py): on
a thread of asyncio's default executor on PostgreSQL, on the loop itself on SQLite while the
one writer is free, with a turn of the loop after each event as a webhook's task would give.

Printed per backend: updates/s, p50/p99 of `handle()` (call → return) and end to end (call →
the event's last reply handed to the channel), the replies the sender saw, the process's CPU per
update and its ratio to the echo's (the handle() calls' share apart; the rest is mostly the
sender's), the process's context switches per update, the statements each event sends and the
sender's transactions (counted on an untimed run before the timed ones: the listener that counts
them costs CPU on every statement, which the echo does not carry), and
handle()'s CPU and p50/p99 by kind of step (menu, Cadastrar, the rest) with the kinds of the
slowest 1% (where a p99 comes from). The same run measures a bare python-telegram-bot
`Application.process_update` with an echo handler, and what a round trip between two threads
costs on this machine (the echo runs on one thread and never pays it; it differs from one
virtual machine to the next, and so do this script's figures while the echo's hardly move).
After PostgreSQL's closed loop it measures the database's part alone (`bare_postgresql`): the
same round trips per event with psycopg directly and no RevendaBot code, in transactions of as
many events as the closed loop's were on average; with the echo's CPU, that is the floor this
path could reach, and the run's CPU per update is printed as a multiple of it too.
The closed loop (back to back) measures saturation; the open loop then offers half that rate
(Poisson arrivals), or `--rate R` per second. There, end to end counts from the arrival, and
an event that arrives while its lane is still on the one before waits for it: that wait is
printed apart. It is this harness's, not `serve`'s (whose webhooks are tasks of their own and
wait only for a thread): in the slowest 1% of an open loop on PostgreSQL it was most of the
time to delivery (54 of 74 ms in one run, with 16 in handle() and 3 in the sender).
`--smoke` runs tiny sizes in seconds (PostgreSQL only when it answers) so `./dev test` keeps
the script alive; its figures mean nothing.

Where an event's CPU goes now (7 Dec 2026; one thread, no sender, the mix, cProfile on the
thread's CPU clock, which inflates Python calls against C ones; shares of handle()):

                                                    SQLite    PostgreSQL
    the dialogue (steps, rendering, validation)      42%         34%
    the driver statements                            26%         44%
      of it sqlite3 / psycopg themselves              6%         33%
    the connection: check-out and BEGIN              10%          5%
      COMMIT                                          8%          4%
      check-in                                        4%          4%
    the rest of the engine (state, reply rows)       10%          9%

Unprofiled, that event costs 0.51–0.53 ms on SQLite and 0.72–0.78 ms on PostgreSQL, against
0.18 ms for the whole echo. The history of how it got there follows.

Where handle()'s time went (py-spy --gil over the closed loop, handle() threads only, shares
of the event's transaction; 2 shared CPUs, so shares, not times):

    PostgreSQL                                  before      after storage/driver.py
      the dialogue                                65%         74%
        main menu: the Pendências (N) count       47%         55%   (≈10 aggregates per /menu)
        Cadastrar (client, audit, key: ORM)        8%          8%
        the rest of the steps                     10%         11%
      claim + identity lock (1 statement)          8%          8%
      identity + state read (1 statement)          6%          4%
      outbox insert(s)                            10%          7%
      state upsert                                 6%          3%
      COMMIT (Session.commit)                      4%          4%
    SQLite: the same picture; the Pendências count 41% → 46%, COMMIT and the writer gate ≈ 25%.

The Pendências count is now one statement (a SELECT of the kinds' counts as scalar
subqueries) built once per dialect and role and run on the driver: handle() CPU of a menu
step 6.9–7.1 → 0.96–1.05 ms on SQLite, 6.1–8.4 → 0.93–1.06 ms on PostgreSQL (3,000 updates,
old and new code back to back, load average 2–5), against 0.8–1.1 ms for an ordinary step.

cProfile (thread CPU clock) of the plain steps (no menu, no Cadastrar) on PostgreSQL, before:
SQLAlchemy's `Connection.execute` layers (execution context, result metadata, cursor
wrapper) ≈ 30% of an event, psycopg itself ≈ 23%, the Session's begin/commit/close ≈ 15%,
the dialogue ≈ 26%, JSON encoding < 1% (so neither orjson nor msgspec would show). psycopg
already prepares the repeated statements server-side (after 5 runs). A micro-benchmark of
one small SELECT: 134 µs through `Connection.execute`, 26 µs on a reused psycopg cursor.
Hence storage/driver.py for the statements every event runs, one remembered connection per
session, repositories built on first use, and SQLite's BEGIN on the driver.

Then, one handle() thread, no sender, SQLite, 64 offices (cProfile on the thread CPU clock,
then unprofiled step by step): an event averages 0.54 ms; a step with nothing to read 0.28–
0.33 ms, of which the Session's connect/BEGIN/COMMIT/close ≈ 55 µs (the driver's BEGIN
IMMEDIATE + COMMIT alone: 3 µs), the four engine statements ≈ 60 µs with their bind and
result processing, the dialogue and the reply rows ≈ 100 µs; a list page 0.50 ms, the menu
0.72 ms (the Pendências count's SQLite work), Cadastrar 2.1 ms (ORM inserts of the client, its
audit entry and its key). On PostgreSQL every round trip costs 25–50 µs of this process's CPU
in psycopg, so an event's 6–7 round trips (BEGIN is one of its own) are most of its 1.1 ms.
With the sender on its thread, the same handle() costs 0.97 ms on SQLite and 1.38 on
PostgreSQL: the GIL's handoffs between the two threads (see README).

The sender in the open loop (events one by one), before the hand-over: a claim round for
nearly every event (a wake, 2 ms of gathering, a transaction with the claim UPDATE), then a
record round; 0.8–1.2 ms of the sender's CPU per update against 0.3–0.4 in the closed loop. Now
an event whose chat has nothing waiting or in flight writes its replies already claimed for the
sender (`app.handoff`, as `serve` attaches it) and hands them over: the report counts the
sender's own claims apart from the replies handed over. A claim UPDATE inside handle() instead
(tried first) cost about 0.25 ms of handle()'s CPU on SQLite; the born-claimed insert costs
nothing measurable there.

What the threads cost (7 Dec 2026, a VM where a thread round trip cost 28–30 µs of CPU and the
echo 0.18 ms, against 0.17 the day before; this script's figures were 10–35% higher than the
day before on the same code). The mix on one thread with no sender costs 0.56–0.65 ms of CPU
per event on SQLite; the same thread with the real sender beside it 0.75–1.6 ms, and the
process 1.05–2.2 ms (runs vary that much), with 9–10 context switches per event where there
were none (perf's sched_switch events: 70% are futex waits, for the GIL or the writer gate; the
sender's loop is woken by each hand-over, its database thread by each round). The default run
counts 8–9 switches per update on SQLite and 28–39 on PostgreSQL, where each of an event's 5
round trips is a wait on the socket and then, often, for the GIL. Fewer threads did not pay
(see README), nor did the sender in a process of its own: woken and handed each event's
replies over a pipe, it cost as much CPU on PostgreSQL (1.07–1.39 against 1.10–1.21 ms an
update, both processes counted) and on SQLite it waited for the file lock (to delivery p50
1.5 s in the closed loop). Nor would an asyncio driver: 5 round trips (BEGIN, 3 SELECTs,
COMMIT) cost 206–214 µs of CPU on psycopg's AsyncConnection with 6 tasks on one loop,
against 159–187 µs on 6 threads with sync psycopg (10–11 switches per transaction), so the
switches are not where a round trip's cost is. psycopg sends BEGIN as a round trip of its own
(in pipeline mode too: it syncs after it); the statements that lock the identity and read its
state must stay two (the read needs a snapshot taken after the lock).

Then the ORM session only when asked for (storage/transaction.py): a transaction begins on a
bare connection and no step of the mix, nor a sender round, makes a Session (≈ 35 µs of CPU a
transaction, more under the threads). One thread, no sender: 0.57–0.61 → 0.51–0.53 ms an event
on SQLite, 0.85–0.94 → 0.72–0.78 ms on PostgreSQL; the default run's closed loop 8–12% less CPU
per update on both, and on PostgreSQL 26 and 22 context switches per update against 37 and 35.

Cadastrar, one thread, no sender, now: BEGIN, claim, identity and state, the plan, the new
client with its audit entry and first key (one data-modifying CTE on PostgreSQL, three
INSERTs on SQLite), the new client's card, replies and state, COMMIT — 8 round trips on
PostgreSQL against 5 for a plain step. The CTE took 1.84 → 1.49 ms of CPU and 3.05 → 2.50 ms
of wall time off it there (old and new code back to back); the rest is validation again of
every field (e-mail, telephone, address: ≈ 0.2 ms) and the card's render. Under load each
round trip is a wait to take the GIL back, so Cadastrar stays most of PostgreSQL's slowest 1%.

Then SQLite's steps and the sender's rounds on the loop (bot/steps.py). Waking an idle loop on
another thread once per event cost the handle() thread 80–120 µs of CPU (one thread, no sender:
0.47 → 0.55–0.59 ms an event); pinning the threads to separate cores changed nothing. With no
second thread the event is 0.70 ms for the whole process in the closed loop (4.0–4.1× the echo,
against 6.1–6.8× the same hour on threads), 0.1 context switches per update against 9, 1,500
updates/s against 870–980; at 450/s offered, 1.21 → 0.94 ms and handle() p99 6.3 → 1.7 ms.
The PostgreSQL lanes then became coroutines whose steps go to the default executor, as in
`serve` (the executor's hop is now counted; within this VM's noise), and a step on a thread
hands its replies over once it has returned to the loop, instead of waking the loop from its
thread (bot/steps.py `after_return`): about 5% less CPU per update on PostgreSQL.

Then, on SQLite: the pool hands out the connection checked in last (a connection drops its
page cache when another one wrote since its last transaction; going round the pool re-read
each event's pages: strace counted 39 reads of the file per event against 1.8 on one
connection), 0.73–0.76 → 0.67 ms per update in the closed loop; the statements are counted on
an untimed run of their own (the counting listener ran on every statement of the timed runs);
and the calls on the loop take turns with the rest of it (bot/steps.py), so the sender keeps up
in the closed loop: to delivery p50 0.90–1.05 s → 8–10 ms, CPU per update within noise. What
is left of an event on one thread (0.51–0.54 ms) is about half SQLite's own C code: its
statements ≈ 150 µs and COMMIT 77–106 µs (≈ 13 WAL frames, two writes each).

Then the WAL starts over under steady load (storage/db.py `_Checkpointer`): with commits back
to back it never had, and an event's CPU grew with the file (one thread, rounds of 6,400
events: 0.59 → 0.88 ms as the WAL passed 1 GB; with restarts 0.48–0.63 ms, flat over 64,000
events). The open loop here runs after ≈ 12,000 events and had paid for it: 1.00–1.08 →
0.84–0.87 ms per update. What one commit shared by several events would give at most (one
thread, k events in one transaction with a savepoint each, measured by hand, not built):
0.52–0.58 → 0.43 ms an event for k = 4 or 8, so about 3.1× the echo in the closed loop, still
not 2.5×.

Then that shared commit, built (bot/steps.py `Grouped`, services/conversation.py
`handle_many`): on SQLite the events given to the loop in one turn (at most 8) share one
transaction, each in a savepoint of its own, as `serve`'s channels give them; the lanes here
give theirs the same way, and each event's CPU is its own part plus an even share of its
group's (BEGIN, COMMIT). The savepoints go to the driver; through SQLAlchemy's nested
transactions they cost more than the sharing saved (one thread, groups of 4: 0.47 → 0.50 ms an
event; on the driver 0.47 → 0.39, and 0.43–0.45 → 0.31–0.32 ms with groups of 6). Default run,
old and new code back to back: SQLite closed loop 1,661 → 2,095 updates/s, process CPU 0.604 →
0.481 ms per update (3.4× → 2.6× the echo's), handle() 0.478 → 0.379 ms; the open loop, where
an event mostly comes alone, 0.711 → 0.670 ms, its handle() p50 0.52 → 0.94 ms (a lone event
waits one turn of the loop for company). What is left of an event in a group (one thread, no
sender, groups of 6, py-spy): the dialogue 44% (its statements included; the main menu's
Pendências count 9%), the replies' insert and the state 23% (their JSON 5%), the claim and the
identity's read 19%, the shared COMMIT 5%; across all of it, SQLite's own C code 28%.

Then the same sharing on PostgreSQL. A savepoint there is two more round trips, so units no
longer have one on either backend: a unit that leaves uncommitted spoils the group, which is
then redone one by one, and one statement claims the whole group first (the duplicates are
skipped there, and the identities' advisory locks taken in ascending key order, so groups of
several processes cannot deadlock on them). A group of k events: BEGIN, the claim, k × (read,
the step's statements, replies and state), COMMIT, on one thread; past 8 in a turn the next
group runs beside it on another thread. PostgreSQL closed loop, 8,000 updates, four pairs of
old and new code back to back: process CPU 0.79–0.95 → 0.57–0.66 ms per update (5.7–7.1× →
4.2–4.7× the echo's; one new run, in a slow moment of the VM, 0.94 ms = 6.4×), handle() 0.59–
0.70 → 0.40–0.45 ms, 25–27 → 8.4 context switches per update, 892–1,106 → 955–1,131
updates/s; statements per event 3.85 + BEGIN and COMMIT → 3.02 with the group's claim and an
eighth of its BEGIN and COMMIT. The default run, two pairs: 6.4× and 5.6× → 4.2× and 5.2×, the
open loop's handle() p99 13.3 and 18.5 → 7.8 and 12.2 ms. At a fixed 450 updates/s offered,
where events mostly come alone, unchanged (three pairs: handle() p99 7.6, 7.4, 12.3 → 6.5,
9.0, 11.1 ms; CPU per update within 5%). SQLite unchanged within noise (closed loop, four
pairs: 2.2–2.4× → 2.2–2.5×).

Then the sender: a wake no longer stops every hand-over (events hand theirs over into the
first half of its room while older messages wait for its claim), and the sender here has
`serve`'s concurrency (64; it had the class's 16). The sender's own claims in the closed loop
1,169–1,254 → 0 on PostgreSQL, 445–583 → 52–82 on SQLite; to delivery p50 12–13 → 5–9 ms and
5–9 → 2–3 ms; the process's CPU per update within this VM's noise. Where it goes now (py-spy
--gil over PostgreSQL's closed loop, shares of the samples that held the GIL): the dialogue
≈ 25%, the replies' and state's insert ≈ 16%, the engine around them ≈ 14%, the identity and
state read ≈ 10%, the sender ≈ 15% (its loop and its database thread about half each), the
group's claim ≈ 5%, its COMMIT ≈ 2%; no function above 2% of its own. The floor line
(`bare_postgresql`) puts the database's own part at 0.11–0.12 ms of CPU per event, of the
run's 0.6–1.0 ms: the rest is this process's Python and its threads (the same events cost
0.3–0.4 ms on SQLite, where steps and sender share the loop's thread).

Then the driver's statements below psycopg's cursor (storage/driver.py). py-spy --gil over
PostgreSQL's closed loop, shares of the samples that held the GIL, before and after:

                                                before      after
    psycopg's own Python (cursor, query, prep.)  ≈ 36%       ≈ 8%
    a statement below the cursor (`_run_below`)     —        26%
      of it loading the rows (C) and set-up          —        12%
      of it their JSON (json.loads)                  —         5%
    the dialogue                                   25%        24%
    the sender                                     10%         9%

Closed loop, six pairs of the code before and after: 8–38% less process CPU per update in
every pair (0.86–1.56 → 0.72–1.17 ms); the open loop's handle() p99 unchanged.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import queue
import random
import resource
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Coroutine, Generator, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from _support import pg_reachable, throwaway_database
from sqlalchemy import Engine, event, func, select
from sqlalchemy.engine import make_url

from bot.app import App, build_app
from bot.sender import OutboxSender
from bot.serve import loop_factory, settle_heap
from bot.settings import Settings
from bot.steps import Grouped, Steps
from domain.clients import Payer
from domain.documents import complete_cnpj
from handlers import texts
from handlers.router import Dialogue
from services import access, catalog, clients, outbox
from services.conversation import Outcome, Result, Turn
from services.messages import Body, ChoiceBody, Inbound, TextBody
from services.outbox import Delivered, Fate
from storage.conversation import ClaimedMessage
from storage.db import make_engine
from storage.migrations import upgrade
from storage.models import Client

T = TypeVar("T")

CLIENTS_PER_GESTOR = 40
CARD_INDEX = 16  # the first client on page 3 (page size 8)
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
# Steps that cost more than the rest: the main menu (its Pendências count) and Cadastrar.
STEP_KINDS = {0: "menu", 6: "menu", 19: "cadastrar"}
# rounds of the 20-step mix per gestor in the untimed run that counts the statements
COUNTED_ROUNDS = 1
OPEN_LOOP_SHARE = 0.5  # open loop offers this share of the closed loop's rate
# serve runs each event's step with asyncio.to_thread: on the default executor's threads
SERVE_STEP_THREADS = min(32, (os.cpu_count() or 1) + 4)
SENDER_THREADS = "outbox-sender"  # the real sender's database threads (bot/sender.py)
HANDLING = threading.local()  # .on while this thread runs a handle() call
# serve's event loop (uvloop where installed, unless EVENT_LOOP says asyncio): the sender's loop
# here, and the echo's, so that neither side carries the other loop's cost
SERVE_LOOP = loop_factory(Settings(_env_file=None).event_loop)
BAD_REPLIES = ("Essa opção expirou", "⚠️", texts.USE_BUTTONS)


# -- figures -------------------------------------------------------------------------------------


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


@dataclass
class Figures:
    name: str
    updates: int
    seconds: float
    latencies: list[float]
    end_to_end: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    cpu_seconds: float = 0.0  # CPU time of the whole process (all threads) during the run
    handle_cpu_seconds: float = 0.0  # CPU time of the handle() calls alone
    statements: int = 0  # statements the handle() calls sent to the database (not COMMIT)
    sender_commits: int = 0  # transactions of the sender (counted runs only)
    sender_statements: int = 0  # and their statements
    switches: int = 0  # context switches of the whole process (all threads) during the run
    offered: float | None = None  # open loop: updates offered per second
    wake_cpu: float = 0.0  # baseline: CPU of one thread-to-thread round trip (two wakes)
    transactions: int = 0  # the handle() / handle_many() calls: transactions of events
    floor_cpu: float = 0.0  # CPU per event of the database's part alone (bare_postgresql)
    floor_group: int = 0  # and the events per transaction it ran

    @property
    def rate(self) -> float:
        return self.updates / self.seconds

    def print(self, baseline: Figures | None = None) -> None:
        ms = [x * 1000 for x in self.latencies]
        line = (
            f"{self.name:<48} {self.updates:>6} updates in {self.seconds:6.2f} s = "
            f"{self.rate:8.0f} updates/s | handle p50 {percentile(ms, 50):6.2f} ms "
            f"p99 {percentile(ms, 99):6.2f} ms (mean {statistics.fmean(ms):5.2f})"
        )
        if self.end_to_end:
            e2e = [x * 1000 for x in self.end_to_end]
            line += (
                f" | to delivery p50 {percentile(e2e, 50):6.2f} ms"
                f" p99 {percentile(e2e, 99):6.2f} ms"
            )
        if baseline is not None and not self.offered:  # an open loop's rate is the offer
            line += f" | {baseline.rate / self.rate:4.1f}× slower than PTB echo"
        print(line)
        if self.cpu_seconds:
            per_update = self.cpu_seconds / self.updates
            line = (
                f"{'':<4}process CPU {1000 * per_update:.3f} ms per update "
                f"(one core's worth would allow ≈{1 / per_update:.0f} updates/s)"
            )
            if baseline is not None and baseline.cpu_seconds:
                echo = baseline.cpu_seconds / baseline.updates
                line += f", {per_update / echo:.1f}× the PTB echo's CPU per update"
            if self.handle_cpu_seconds:
                line += (
                    f"; handle() calls alone {1000 * self.handle_cpu_seconds / self.updates:.3f}"
                    " ms"
                )
            print(line)
        if self.floor_cpu and baseline is not None and baseline.cpu_seconds:
            echo = baseline.cpu_seconds / baseline.updates
            floor = echo + self.floor_cpu
            per_update = self.cpu_seconds / self.updates
            print(
                f"{'':<4}the database's part alone (bare psycopg on as many threads, "
                f"{self.floor_group} events a transaction, as this loop's "
                f"{self.updates / max(self.transactions, 1):.1f} on average: one claim with "
                "their locks, then a read and a two-row insert each, BEGIN and COMMIT): "
                f"{1000 * self.floor_cpu:.3f} ms of CPU per event; with the echo's, "
                f"{1000 * floor:.3f} ms, {floor / echo:.1f}× the echo: this run is "
                f"{per_update / floor:.1f}× that floor"
            )
        if self.wake_cpu:
            print(
                f"{'':<4}a round trip between two threads (each wakes the other once) costs "
                f"{1e6 * self.wake_cpu:.1f} µs of CPU on this machine"
            )
        if self.switches:
            print(f"{'':<4}{self.switches / self.updates:.1f} context switches per update")
        if self.statements:
            print(
                f"{'':<4}{self.statements / self.updates:.2f} statements per event"
                " (+ those that begin and end its transaction)"
            )
        for note in self.notes:
            print(f"{'':<4}{note}")


def on_serve_loop(main: Coroutine[Any, Any, T]) -> T:
    """`main` run to its end on a new event loop of the kind `serve` runs."""
    with asyncio.Runner(loop_factory=SERVE_LOOP) as runner:
        return runner.run(main)


# -- the simulated gestores ----------------------------------------------------------------------


@dataclass
class Gestor:
    number: int
    identity_key: str
    client_ids: list[int]
    software_id: int
    plan_id: int
    sent: int = 0
    cadastros: int = 0

    def next_body(self) -> Body:
        """The next input of this gestor's endless session."""
        step = self.sent % 20
        self.sent += 1
        if step == 0:
            return TextBody("/menu")
        fixed = {
            1: "m:clientes",
            2: "p:next",
            3: "p:next",
            4: f"c:{self.client_ids[CARD_INDEX]}",
            5: "nav:back",
            6: "nav:menu",
            7: "m:novo",
            8: "n:cadastro",
            9: "pay:gestor",
            10: f"sw:{self.software_id}",
            11: f"pl:{self.plan_id}",
            14: "skip",
            19: "ok",
        }
        if step in fixed:
            return ChoiceBody(fixed[step])
        n = self.cadastros
        typed = {
            12: complete_cnpj(f"{50_000_000 + self.number * 10_000 + n:08d}0001"),
            13: f"Nova Empresa {self.number:03d}-{n:04d} Ltda",
            15: f"contato{n}@nova{self.number}.com.br",
            16: "(11) 98765-4321",
            17: "01310-100",
            18: "Av. Paulista, 1000 - Bela Vista - São Paulo/SP",
        }
        if step == 18:
            self.cadastros += 1
        return TextBody(typed[step])

    def event(self, body: Body) -> Inbound:
        return Inbound(
            channel="bench",
            identity_key=self.identity_key,
            event_id=f"{self.identity_key}:{self.sent}",
            address=self.identity_key.split(":", 1)[1],
            body=body,
            received_at=datetime.now(UTC),
            display_name=f"Gestor {self.number}",
            message_ref="m1" if isinstance(body, ChoiceBody) else None,
        )


def seed(app: App, count: int) -> list[Gestor]:
    """Offices with CLIENTS_PER_GESTOR clients each, through the services."""
    softwares = catalog.list_softwares(app.uow_factory())
    software = softwares[0]
    gestores = []
    for number in range(count):
        issued = access.create_gestor(
            app.uow_factory(),
            cnpj=complete_cnpj(f"{40_000_000 + number:08d}0001"),
            razao_social=f"Escritório {number} Ltda",
            email=f"gestor{number}@escritorio{number}.com.br",
        )
        key = f"bench:g{number}"
        principal = access.redeem_invite(
            app.uow_factory(),
            code=issued.code,
            identity_key=key,
            channel="bench",
            address=key.split(":", 1)[1],
            display_name=None,
        )
        uow = app.uow_factory()
        with uow:  # one transaction per office: the services join it
            for i in range(CLIENTS_PER_GESTOR):
                clients.register_client(
                    uow,
                    principal,
                    clients.NewClient(
                        payer=Payer.GESTOR if i % 3 else Payer.CLIENTE,
                        software_id=software.id,
                        plan_id=software.plans[i % len(software.plans)].id,
                        documento=complete_cnpj(f"{30_000_000 + number * 100 + i:08d}0001"),
                        razao_social=f"Cliente {i:03d} do escritório {number} Ltda",
                        nome_fantasia=None if i % 2 else f"Loja {i}",
                        email=f"cliente{i}@empresa{number}-{i}.com.br",
                        telefone="(11) 91234-5678",
                        cep="01310-100",
                        endereco="Rua Augusta, 500 - Consolação - São Paulo/SP",
                    ),
                )
            uow.commit()
            ids = list(
                uow.session.scalars(
                    select(Client.id)
                    .where(Client.gestor_id == principal.gestor_id)
                    .order_by(Client.razao_social, Client.id)
                )
            )
        gestores.append(
            Gestor(number, key, ids, software.id, software.plans[-1].id),
        )
    return gestores


# -- the run -------------------------------------------------------------------------------------


class CountingDialogue:
    """The real dialogue; remembers how many replies the last step of this thread produced."""

    def __init__(self, inner: Callable[[Turn], Outcome]) -> None:
        self.inner = inner
        self.local = threading.local()

    def __call__(self, turn: Turn) -> Outcome:
        outcome = self.inner(turn)
        self.local.replies = len(outcome.replies)
        return outcome


class StatementCounter:
    """Counts the statements sent by the handle() calls, and the sender's statements and
    transactions (its own threads) apart."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.count = 0
        self.sender_statements = 0
        self.sender_commits = 0
        self.lock = threading.Lock()
        event.listen(engine, "before_cursor_execute", self.seen)
        event.listen(engine, "commit", self.committed)

    @staticmethod
    def _sender() -> bool:
        if getattr(HANDLING, "on", False):  # a step run on the sender's loop (SQLite)
            return False
        name = threading.current_thread().name
        return name == FakeSender.NAME or name.startswith(SENDER_THREADS)

    def seen(self, *_args: Any) -> None:
        with self.lock:
            if self._sender():
                self.sender_statements += 1
            else:
                self.count += 1

    def committed(self, *_args: Any) -> None:
        if self._sender():
            with self.lock:
                self.sender_commits += 1

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self.seen)
        event.remove(self.engine, "commit", self.committed)


class FakeSender(threading.Thread):
    """The real outbox sender (bot/sender.py, its database path and pipeline) on a thread of its
    own, delivering to a stand-in channel that answers Delivered at once: its claims, renewals
    and fenced records are what a real deployment runs for these replies."""

    NAME = "fake-sender"

    def __init__(self, app: App, steps: Steps) -> None:
        super().__init__(name=self.NAME, daemon=True)
        self.app = app
        self.delivered_at: dict[str, list[float]] = defaultdict(list)
        self.delivered = 0
        self.bad: list[str] = []
        self.cpu_at_end: float | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._running = threading.Event()
        settings = app.settings  # its batch and concurrency as `serve` sets them (no pacing)
        self.sender = _CountingSender(
            app.uow_factory,
            [_BenchChannel(self)],
            batch=settings.sender_batch,
            concurrency=settings.sender_concurrency,
            steps=steps,
        )
        app.wakeup.subscribe(self.sender.wake)
        app.handoff.attach(self.sender)  # as `serve` does: events hand their replies over

    @property
    def batches(self) -> int:
        return self.sender.claims

    def run(self) -> None:
        try:
            on_serve_loop(self._run())
        finally:
            self.cpu_at_end = time.thread_time()

    async def _run(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._running.set()
        await self.sender.run()

    def start(self) -> None:
        super().start()
        self._running.wait()

    def finish(self, replies: int, timeout: float = 60.0) -> None:
        """Stop once `replies` were delivered (or after `timeout` seconds: then some were not)."""
        deadline = time.perf_counter() + timeout
        while self.delivered < replies and time.perf_counter() < deadline:
            time.sleep(0.001)
        self.sender.stop()
        self.join()


class SenderClock:
    """CPU time of the sender's threads (its event loop and its database threads) from now."""

    def __init__(self, sender: FakeSender) -> None:
        self.sender = sender
        self.start = self._now()

    def _now(self) -> dict[int, float]:
        clocks = {}
        for thread in threading.enumerate():
            if thread is self.sender or thread.name.startswith(SENDER_THREADS):
                with contextlib.suppress(OSError):  # (a thread that has just ended)
                    clock = time.pthread_getcpuclockid(thread.ident or 0)
                    clocks[thread.ident or 0] = time.clock_gettime(clock)
        return clocks

    def seconds(self) -> tuple[float, float]:
        """(its event loop's, its database threads') until now; the loop's until it ended."""
        now = self._now()
        loop = self.sender.ident or 0
        if self.sender.cpu_at_end is not None:
            now[loop] = self.sender.cpu_at_end
        spent = {key: now[key] - self.start.get(key, 0.0) for key in now}
        return spent.pop(loop, 0.0), sum(spent.values())


class _CountingSender(OutboxSender):
    """Counts its own claims that brought messages and the events' replies handed to it
    already claimed (the figures the report prints)."""

    claims = 0
    adopted = 0

    async def _claim(self, limit: int) -> list[ClaimedMessage] | None:
        claimed = await super()._claim(limit)
        if claimed:
            self.claims += 1
        return claimed

    def adopt(self, claimed: Sequence[ClaimedMessage], claimed_at: datetime) -> bool:
        taken = super().adopt(claimed, claimed_at)
        self.adopted += taken
        return taken


class _BenchChannel:
    """The gestores' channel: each call is the reply reaching the chat (its time is noted)."""

    channel = "bench"

    def __init__(self, sink: FakeSender) -> None:
        self.sink = sink

    async def deliver(self, message: ClaimedMessage) -> Fate:
        sink = self.sink
        shown = message.payload.get("text", "")
        if shown.startswith(BAD_REPLIES) and len(sink.bad) < 5:
            sink.bad.append(shown[:100])
        sink.delivered_at[message.identity_key].append(time.perf_counter())
        sink.delivered += 1
        return Delivered(message.id, f"x{message.id}")


def run_core(
    app: App,
    gestores: list[Gestor],
    updates: int,
    workers: int,
    rate: float | None,
    *,
    count: bool = False,
) -> Figures:
    """Closed loop (rate None: each worker sends its next update as soon as the last returns)
    or open loop (updates arrive at `rate` per second in total, Poisson; latency to delivery
    is then counted from the arrival, so waiting for a busy worker counts too). With `count`,
    the statements and the sender's transactions are counted: a listener on every statement,
    whose own CPU the timed runs must not carry."""
    counting = app.conversation.dialogue
    assert isinstance(counting, CountingDialogue)
    steps = Steps.for_engine(app.db)  # as `serve` runs the steps: threads, or the loop (SQLite)
    sender = FakeSender(app, steps)
    per_gestor = [updates // len(gestores)] * len(gestores)
    for i in range(updates - sum(per_gestor)):
        per_gestor[i] += 1
    lanes: list[list[int]] = [[] for _ in range(workers)]
    for index in range(len(gestores)):
        lanes[index % workers].append(index)
    latencies: list[float] = []
    # per identity: (messages enqueued so far, arrival) for each event, to match deliveries
    marks: dict[str, list[tuple[int, float]]] = defaultdict(list)
    failures: list[str] = []
    lags: list[float] = []
    waits: list[float] = []
    cadastros_before = sum(g.cadastros for g in gestores)

    lane_cpu: list[float] = []
    calls: list[int] = []  # events per handle() / handle_many() call: one transaction each
    loop_steps_cpu: list[float] = []  # of it, the steps run on the sender's loop (SQLite)
    cpu_by_kind: dict[str, float] = defaultdict(float)
    count_by_kind: dict[str, int] = defaultdict(int)
    latency_by_kind: dict[str, list[float]] = defaultdict(list)
    kinds_lock = threading.Lock()

    # (result, when it was called, its latency, its CPU, the replies it enqueued)
    Handled = tuple[Result, float, float, float, int]

    def lane(number: int, indexes: list[int]) -> Generator[tuple[Inbound, float], Handled, None]:
        """One lane's events in order: yields each with how long to wait before calling
        handle() (open loop), is sent back what came of it; the drivers below make the calls."""
        rng = random.Random(number)
        own_latencies = []
        own_cpu: dict[str, float] = defaultdict(float)
        own_count: dict[str, int] = defaultdict(int)
        own_kind_latencies: dict[str, list[float]] = defaultdict(list)
        enqueued = dict.fromkeys(indexes, 0)
        left = {i: per_gestor[i] for i in indexes}
        arrival = time.perf_counter()
        lag = 0.0
        own_waits: list[float] = []  # open loop: from its arrival to its call
        while left:
            for i in list(left):
                gestor = gestores[i]
                kind = STEP_KINDS.get(gestor.sent % 20, "other")
                event = gestor.event(gestor.next_body())
                pause = 0.0
                if rate:
                    arrival += rng.expovariate(rate / workers)
                    pause = arrival - time.perf_counter()
                    lag = max(lag, -pause)
                result, start, latency, cpu, replies = yield event, pause
                if rate:
                    own_waits.append(max(start - arrival, 0.0))
                own_latencies.append(latency)
                own_kind_latencies[kind].append(latency)
                own_cpu[kind] += cpu
                own_count[kind] += 1
                if result is not Result.DONE:
                    failures.append(f"{event.event_id}: {result}")
                    continue
                enqueued[i] += replies
                marks[gestor.identity_key].append((enqueued[i], arrival if rate else start))
                left[i] -= 1
                if not left[i]:
                    del left[i]
        latencies.extend(own_latencies)
        lags.append(lag)
        waits.extend(own_waits)
        with kinds_lock:
            for kind, seconds in own_cpu.items():
                cpu_by_kind[kind] += seconds
                count_by_kind[kind] += own_count[kind]
                latency_by_kind[kind].extend(own_kind_latencies[kind])

    def timed_handle(event: Inbound) -> tuple[Result, float, int]:
        """handle(), with its CPU and the replies it enqueued (on whichever thread it ran)."""
        cpu_start = time.thread_time()
        HANDLING.on = True
        try:
            result = app.conversation.handle(event)
        finally:
            HANDLING.on = False
        cpu = time.thread_time() - cpu_start
        calls.append(1)
        if threading.current_thread() is sender:  # run on the sender's loop (SQLite)
            loop_steps_cpu.append(cpu)
        return result, cpu, counting.local.replies

    def timed_many(events: Sequence[Inbound]) -> list[tuple[Result, float, int]]:
        """handle_many(), as `serve` groups the events given in one turn of the loop: each
        event's own CPU, and the group's shared part (BEGIN, COMMIT) spread evenly."""
        own: dict[int, tuple[float, int]] = {}

        @contextmanager
        def around(event: Inbound) -> Iterator[None]:
            cpu_start = time.thread_time()
            try:
                yield
            finally:
                own[id(event)] = (time.thread_time() - cpu_start, counting.local.replies)

        cpu_start = time.thread_time()
        HANDLING.on = True
        try:
            results = app.conversation.handle_many(events, around=around)
        finally:
            HANDLING.on = False
        cpu = time.thread_time() - cpu_start
        shared = (cpu - sum(seconds for seconds, _ in own.values())) / len(events)
        calls.append(len(events))
        if threading.current_thread() is sender:  # run on the sender's loop (SQLite)
            loop_steps_cpu.append(cpu)
        return [
            (result, own[id(event)][0] + shared, own[id(event)][1])
            for event, result in zip(events, results, strict=True)
        ]

    grouped = Grouped(timed_handle, timed_many)

    async def on_loop(number: int, indexes: list[int]) -> None:
        """A lane on the sender's event loop, as `serve` runs a step (bot/steps.py)."""
        events = lane(number, indexes)
        with contextlib.suppress(StopIteration):
            event, pause = next(events)
            while True:
                # (each webhook is a task of its own in `serve`: the loop runs what else is
                # ready, the sender's deliveries among it, between two events)
                await asyncio.sleep(max(pause, 0.0))
                start = time.perf_counter()
                result, cpu, replies = await steps.run(grouped, event)
                latency = time.perf_counter() - start
                lane_cpu.append(cpu)
                event, pause = events.send((result, start, latency, cpu, replies))

    sender.start()
    sender_cpu = SenderClock(sender)
    statements = StatementCounter(app.db) if count else None
    started, cpu_started = time.perf_counter(), time.process_time()
    switches_started = _switches(resource.RUSAGE_SELF)
    assert sender.loop is not None

    async def all_lanes() -> None:
        await asyncio.gather(*(on_loop(n, idx) for n, idx in enumerate(lanes) if idx))

    asyncio.run_coroutine_threadsafe(all_lanes(), sender.loop).result()
    handled = time.perf_counter()
    enqueued_total = sum(events[-1][0] for events in marks.values() if events)
    sender.finish(enqueued_total)
    finished, cpu_finished = time.perf_counter(), time.process_time()
    switches = _switches(resource.RUSAGE_SELF) - switches_started
    loop_seconds, db_seconds = sender_cpu.seconds()
    loop_seconds -= sum(loop_steps_cpu)  # (the steps' own, counted as handle()'s)
    sender_seconds = loop_seconds + db_seconds
    if statements is not None:
        statements.close()
    end_to_end = [
        sender.delivered_at[key][count - 1] - start
        for key, events in marks.items()
        for count, start in events
        if count and count <= len(sender.delivered_at[key])
    ]
    mode = f"open loop, offered {rate:.0f}/s" if rate else "closed loop"
    figures = Figures(mode, updates, handled - started, latencies, end_to_end)
    figures.cpu_seconds = cpu_finished - cpu_started
    figures.handle_cpu_seconds = sum(lane_cpu)
    figures.transactions = len(calls)
    figures.switches = switches
    figures.offered = rate
    if statements is not None:
        figures.statements = statements.count
        figures.sender_commits = statements.sender_commits
        figures.sender_statements = statements.sender_statements
    total_cpu = sum(cpu_by_kind.values()) or 1.0
    figures.notes.append(
        "handle() CPU per event by step: "
        + ", ".join(
            f"{kind} {1000 * cpu_by_kind[kind] / count_by_kind[kind]:.2f} ms"
            f" ({100 * cpu_by_kind[kind] / total_cpu:.0f}% of it)"
            for kind in ("menu", "cadastrar", "other")
            if count_by_kind[kind]
        )
    )
    slowest = sorted(
        ((seconds, kind) for kind, values in latency_by_kind.items() for seconds in values),
        reverse=True,
    )[: max(1, len(latencies) // 100)]
    figures.notes.append(
        "handle() p50 / p99 by step: "
        + ", ".join(
            f"{kind} {1000 * percentile(latency_by_kind[kind], 50):.1f} / "
            f"{1000 * percentile(latency_by_kind[kind], 99):.1f} ms"
            for kind in ("menu", "cadastrar", "other")
            if latency_by_kind[kind]
        )
        + "; the slowest 1%: "
        + ", ".join(
            f"{sum(1 for _, k in slowest if k == kind)} {kind}"
            for kind in ("menu", "cadastrar", "other")
        )
    )
    figures.notes.append(
        f"the sender's threads: {1000 * sender_seconds / updates:.3f} ms of CPU per update "
        f"(event loop, the lanes' turns on it included, {1000 * loop_seconds / updates:.3f}; "
        "database "
        f"{1000 * db_seconds / updates:.3f}), "
        f"{1000 * sender_seconds / max(sender.delivered, 1):.3f} ms per delivered reply"
    )
    figures.notes.append(
        f"{enqueued_total} replies enqueued, {sender.delivered} delivered by the sender "
        f"in {sender.batches} claims of its own, {sender.sender.adopted} handed over claimed "
        f"by their events"
        + (
            f", and {statements.sender_commits} transactions of "
            f"{statements.sender_statements} statements"
            if statements is not None
            else ""
        )
        + f" (the last {1000 * (finished - handled):.0f} ms after the last handle() returned); "
        f"{sum(g.cadastros for g in gestores) - cadastros_before} Novo cadastro completed; "
        f"{len(failures)} failed/duplicate events; {len(sender.bad)} unexpected replies"
        + (f"; arrivals were at most {1000 * max(lags):.0f} ms behind" if rate else "")
    )
    if rate:
        ms = [1000 * wait for wait in waits]
        figures.notes.append(
            f"from arrival to call, waiting for the event before it in its lane: p50 "
            f"{percentile(ms, 50):.2f} ms, p99 {percentile(ms, 99):.2f} ms (in to delivery, not "
            "in handle(); the lanes are this harness's, serve's webhooks have none)"
        )
    figures.notes.extend(f"unexpected: {bad}" for bad in sender.bad)
    figures.notes.extend(f"failed: {failure}" for failure in failures[:5])
    return figures


@contextmanager
def database(backend: str, pg_url: str) -> Iterator[str]:
    """A fresh, migrated database for one run; removed afterwards."""
    if backend == "sqlite":
        folder = tempfile.mkdtemp(prefix="revendabot-bench-")
        try:
            yield f"sqlite:///{folder}/bench.db"
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    with throwaway_database(pg_url) as url:
        yield url


def warm_up(app: App, gestores: list[Gestor], workers: int) -> None:
    """Every gestor once through the whole mix, on `workers` threads as the runs use them,
    so that every pooled connection has run every statement of the mix as often as a
    long-running `serve` has: compiled-statement caches, imports, and on PostgreSQL each
    connection's prepared statements (psycopg prepares a statement at its 6th run, and the
    server keeps planning it anew for 5 more runs before it settles on a generic plan: the
    main menu's Pendências count costs ≈ 1.2 ms to plan and 0.2 ms to run)."""

    def lane(indexes: range) -> None:
        for index in indexes:
            gestor = gestores[index]
            for _ in range(20):
                app.conversation.handle(gestor.event(gestor.next_body()))

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for future in [
            pool.submit(lane, range(n, len(gestores), workers)) for n in range(workers)
        ]:
            future.result()


def bench_backend(backend: str, args: argparse.Namespace) -> list[Figures]:
    """Seed a fresh database, then run the closed and/or the open loop on it."""
    runs: list[Figures] = []
    with database(backend, args.pg_url) as url:
        # as `serve` builds it: SQLite checkpointed in the background
        engine = make_engine(url, pool_size=args.workers + 2, background_checkpoints=True)
        upgrade(engine)
        settings = Settings(environment="test", database_url=url, _env_file=None)
        app = build_app(settings, db=engine, dialogue=CountingDialogue(Dialogue()))
        try:
            started = time.perf_counter()
            gestores = seed(app, args.gestores)
            seeded = time.perf_counter() - started
            warm_up(app, gestores, args.workers)
            while claimed := outbox.claim(app.uow_factory, limit=500):
                outbox.record(app.uow_factory, [Delivered(m.id, None) for m in claimed])
            # the statements each event sends, counted on a run of its own: the listener that
            # counts them costs CPU on every statement, which the timed runs must not carry
            counted = run_core(
                app, gestores, COUNTED_ROUNDS * 20 * len(gestores), args.workers, None, count=True
            )
            settle_heap()  # as `serve` does before it takes traffic
            saturation = None
            if args.mode != "open" or args.rate is None:
                closed = run_core(app, gestores, args.updates, args.workers, None)
                closed.name = f"{backend}, {closed.name}"
                if backend == "postgresql":
                    per_transaction = closed.updates / max(closed.transactions, 1)
                    closed.floor_group = max(1, round(per_transaction))
                    closed.floor_cpu = bare_postgresql(
                        url, args.updates, args.workers, closed.floor_group
                    )
                runs.append(closed)
                saturation = closed.rate
            if args.mode != "closed":
                # open loop at half the saturation just measured, unless a rate is given
                rate = args.rate or OPEN_LOOP_SHARE * (saturation or 0.0)
                figures = run_core(app, gestores, args.updates, args.workers, rate)
                figures.name = f"{backend}, {figures.name}"
                if args.rate is None:
                    figures.name += f" ({OPEN_LOOP_SHARE:.0%} of closed)"
                runs.append(figures)
            runs[0].notes.insert(
                0,
                f"{counted.statements / counted.updates:.2f} statements per event "
                "(its group's claim shared among its events; + a share of the group's BEGIN "
                "and COMMIT), and the sender's "
                f"{counted.sender_commits} transactions of {counted.sender_statements} "
                f"statements for {counted.updates} updates: counted on an untimed closed loop "
                "before",
            )
            uow = app.uow_factory()
            with uow:
                total = uow.session.scalar(select(func.count()).select_from(Client))
            runs[-1].notes.append(
                f"seeded {len(gestores)} gestores × {CLIENTS_PER_GESTOR} clients "
                f"in {seeded:.1f} s; "
                f"{total} clients in the database at the end"
            )
        finally:
            app.close()
            gc.unfreeze()
    return runs


def _switches(who: int) -> int:
    """Context switches so far (voluntary: it waited; involuntary: preempted) of the process
    (RUSAGE_SELF, its ended threads included) or of the calling thread (RUSAGE_THREAD)."""
    usage = resource.getrusage(who)
    return usage.ru_nvcsw + usage.ru_nivcsw


# -- the baselines: bare python-telegram-bot, and a wake between two threads ---------------------


def wake_round_trip(rounds: int) -> float:
    """CPU seconds (both threads) of one round trip between two threads that wake each other
    through queues: what each hand-over between this process's threads costs on this machine
    (the GIL's handoffs are wakes too). The echo never pays it; an event pays it at every hand-
    over (a handle() thread to the sender's loop, the loop to its database thread and back)
    and whenever a thread waits for the GIL another holds."""
    there: queue.SimpleQueue[int] = queue.SimpleQueue()
    back: queue.SimpleQueue[int] = queue.SimpleQueue()

    def echo() -> None:
        for _ in range(rounds):
            back.put(there.get())

    thread = threading.Thread(target=echo, name="wake-echo")
    thread.start()
    cpu_started = time.process_time()
    for n in range(rounds):
        there.put(n)
        back.get()
    thread.join()
    return (time.process_time() - cpu_started) / rounds


def bare_postgresql(url: str, events: int, workers: int, group: int) -> float:
    """CPU seconds per event of what the database asks of this process at the least, with no
    RevendaBot code around it: on `workers` threads, back to back, transactions of `group`
    events, each transaction one statement that takes the events' advisory locks and records
    them (as the group's claim does), then per event a read by key and an insert of two rows
    with a jsonb payload returning their ids (as the identity/state read and the replies'
    insert), then COMMIT; psycopg directly, its statements prepared as ours are. Tables of
    its own in the throwaway database, dropped after."""
    import psycopg
    from psycopg.types.json import Jsonb

    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as admin:
        admin.execute(
            "CREATE TABLE bench_floor_event (channel text, event_id text, "
            "PRIMARY KEY (channel, event_id))"
        )
        admin.execute(
            "CREATE TABLE bench_floor_row (id bigserial PRIMARY KEY, key text, body jsonb)"
        )
        admin.execute("CREATE INDEX ON bench_floor_row (key, id)")
    claim = (
        "WITH locks AS (SELECT count(pg_advisory_xact_lock(k)) AS n FROM unnest(%s::bigint[]) k) "
        "INSERT INTO bench_floor_event (channel, event_id) SELECT 'bench', e "
        "FROM locks, unnest(%s::text[]) e ON CONFLICT DO NOTHING RETURNING event_id"
    )
    read = "SELECT id, body FROM bench_floor_row WHERE key = %s ORDER BY id DESC LIMIT 1"
    insert = "INSERT INTO bench_floor_row (key, body) VALUES (%s, %s), (%s, %s) RETURNING id"
    per_thread = max(1, events // workers // group)
    ready = threading.Barrier(workers + 1)

    def lane(number: int) -> None:
        with psycopg.connect(conninfo) as conn:
            for rounds, counted in ((10, False), (per_thread, True)):  # warm up, then timed
                if counted:
                    ready.wait()
                for r in range(rounds):
                    keys = [f"k{number}-{(r * group + i) % 64}" for i in range(group)]
                    with conn.cursor() as cur:
                        cur.execute(
                            claim,
                            (
                                [hash(key) & 0x7FFFFFFF for key in keys],
                                [f"{number}-{counted}-{r}-{i}" for i in range(group)],
                            ),
                        )
                        cur.fetchall()
                        for key in keys:
                            cur.execute(read, (key,))
                            cur.fetchone()
                            body = Jsonb({"text": f"resposta para {key}", "buttons": []})
                            cur.execute(insert, (key, body, key, body))
                            cur.fetchall()
                    conn.commit()
            ready.wait()

    threads = [threading.Thread(target=lane, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    ready.wait()
    cpu_started = time.process_time()
    ready.wait()
    cpu = time.process_time() - cpu_started
    for thread in threads:
        thread.join()
    with psycopg.connect(conninfo, autocommit=True) as admin:
        admin.execute("DROP TABLE bench_floor_event, bench_floor_row")
    return cpu / (per_thread * group * workers)


def bench_ptb(updates: int) -> Figures:
    """Application.process_update with one MessageHandler echo, the Bot API faked in memory."""
    from telegram import Update
    from telegram.ext import Application, MessageHandler, filters
    from telegram.request import BaseRequest, RequestData

    bot_user = {"id": 123, "is_bot": True, "first_name": "Bench", "username": "bench_bot"}
    chat = {"id": 42, "type": "private", "first_name": "Gestor"}
    person = {"id": 42, "is_bot": False, "first_name": "Gestor"}

    class FakeRequest(BaseRequest):
        @property
        def read_timeout(self) -> float | None:
            return None

        async def initialize(self) -> None:
            return None

        async def shutdown(self) -> None:
            return None

        async def do_request(
            self,
            url: str,
            method: str,
            request_data: RequestData | None = None,
            read_timeout: Any = None,
            write_timeout: Any = None,
            connect_timeout: Any = None,
            pool_timeout: Any = None,
        ) -> tuple[int, bytes]:
            endpoint = url.rsplit("/", 1)[-1]
            if endpoint == "getMe":
                result: Any = bot_user
            else:
                params = request_data.parameters if request_data else {}
                result = {
                    "message_id": 1,
                    "date": int(time.time()),
                    "chat": chat,
                    "from": bot_user,
                    "text": params.get("text", ""),
                }
            return 200, json.dumps({"ok": True, "result": result}).encode()

    async def echo(update: Update, _context: Any) -> None:
        assert update.message is not None
        assert update.message.text is not None
        await update.message.reply_text(update.message.text)

    async def main() -> Figures:
        fake = FakeRequest()
        application = Application.builder().token("123:ABC").request(fake).updater(None).build()
        application.add_handler(MessageHandler(filters.TEXT, echo))
        await application.initialize()
        payloads = [
            {
                "update_id": n,
                "message": {
                    "message_id": n,
                    "date": int(time.time()),
                    "chat": chat,
                    "from": person,
                    "text": f"mensagem {n}",
                },
            }
            for n in range(updates + 200)
        ]
        for data in payloads[:200]:  # warm up
            await application.process_update(Update.de_json(data, application.bot))
        latencies = []
        started, cpu_started = time.perf_counter(), time.process_time()
        for data in payloads[200:]:
            start = time.perf_counter()
            await application.process_update(Update.de_json(data, application.bot))
            latencies.append(time.perf_counter() - start)
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu_started
        await application.shutdown()
        return Figures(
            "bare PTB echo (process_update)", updates, seconds, latencies, cpu_seconds=cpu_seconds
        )

    return on_serve_loop(main())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--updates", type=int, default=10_000, help="updates per run")
    parser.add_argument("--gestores", type=int, default=64)
    parser.add_argument(
        "--workers",
        type=int,
        default=SERVE_STEP_THREADS,
        help="lanes (steps in flight); default: as many as serve runs steps on (asyncio's default "
        f"executor, min(32, CPUs + 4): {SERVE_STEP_THREADS} here)",
    )
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_PG_URL),
        help="server to create the throwaway benchmark database on (127.0.0.1 only)",
    )
    parser.add_argument(
        "--mode",
        choices=("closed", "open", "both"),
        default="both",
        help="closed: back to back (saturation); open: arrivals at --rate; both (default)",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=None,
        help="open loop: updates offered per second (default: half the closed loop's rate)",
    )
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, seconds")
    args = parser.parse_args(argv)
    if args.smoke:
        args.updates, args.gestores, args.workers = 100, 2, 2
        if args.backend != "sqlite" and not pg_reachable(args.pg_url):
            print("PostgreSQL does not answer: SQLite only")
            args.backend = "sqlite"
    host = make_url(args.pg_url).host
    if args.backend != "sqlite" and host not in ("127.0.0.1", "localhost", "::1"):
        parser.error("benchmarks run against 127.0.0.1 only")
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; {args.updates} updates per run, "
        f"{args.gestores} gestores, {args.workers} workers; "
        f"event loop: {'asyncio' if SERVE_LOOP is None else 'uvloop'}; load average before: "
        + " ".join(f"{x:.2f}" for x in os.getloadavg())
    )
    baseline = bench_ptb(args.updates)
    baseline.wake_cpu = wake_round_trip(max(1_000, args.updates))
    baseline.print()
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    for backend in backends:
        for figures in bench_backend(backend, args):
            figures.print(baseline)
    print("load average after: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
