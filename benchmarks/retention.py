"""The retention sweep over millions of processed events, and the hot path while it runs.

    .venv/bin/python benchmarks/retention.py [--events 10000000] [--batch 2000]
        [--backend sqlite|postgresql|both] [--pg-url URL] [--smoke]

Fills `processed_event` with N ids older than EVENT_RETENTION_DAYS (PostgreSQL: a throwaway
database on the TEST_DATABASE_URL / --pg-url server; SQLite: a temporary file), then measures
`handle()` of a gestor's `/menu` alone (the baseline, same run) and again while the sweep deletes
the old ids in batches in another thread. It prints p50/p99 of both, and the sweep's rows/s.
`--smoke` uses 20,000 events (PostgreSQL only when it answers).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _support import pg_reachable, throwaway_database
from sqlalchemy import text

from bot.app import App, build_app
from bot.settings import Settings
from services import access
from services.messages import Inbound, TextBody
from services.retention import RetentionPolicy, sweep_retention
from storage.db import make_engine
from storage.migrations import upgrade

IDENTITY = "bench:gestor"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def prepare(url: str, events: int) -> App:
    engine = make_engine(url)
    upgrade(engine)
    app = build_app(Settings(_env_file=None, environment="test", database_url=url), db=engine)
    issued = access.create_gestor(
        app.uow_factory(),
        cnpj="11222333000181",
        razao_social="Escritório Benchmark Ltda",
        email="bench@escritorio.com.br",
    )
    access.redeem_invite(
        app.uow_factory(),
        code=issued.code,
        identity_key=IDENTITY,
        channel="bench",
        address="gestor",
        display_name=None,
    )
    old = datetime.now(UTC) - timedelta(days=40)
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(
                text(
                    "INSERT INTO processed_event (channel, event_id, processed_at) "
                    "SELECT 'old', 'e' || g, :old FROM generate_series(1, :n) AS g"
                ),
                {"old": old, "n": events},
            )
            connection.execute(text("ANALYZE processed_event"))
        else:
            connection.execute(
                text(
                    "WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < :n) "
                    "INSERT INTO processed_event (channel, event_id, processed_at) "
                    "SELECT 'old', 'e' || x, :old FROM s"
                ),
                {"old": old.replace(tzinfo=None), "n": events},
            )
    return app


def handle_once(app: App) -> float:
    event = Inbound(
        channel="bench",
        identity_key=IDENTITY,
        event_id=uuid.uuid4().hex,
        address="gestor",
        body=TextBody("/menu"),
        received_at=datetime.now(UTC),
    )
    began = time.perf_counter()
    app.conversation.handle(event)
    return time.perf_counter() - began


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"p50 {statistics.median(ordered) * 1000:.2f} ms, p99 {p99 * 1000:.2f} ms "
        f"({len(ordered):,} events)"
    )


def run(label: str, url: str, events: int, batch: int, baseline_events: int) -> None:
    app = prepare(url, events)
    baseline = [handle_once(app) for _ in range(baseline_events)]
    print(f"{label}: baseline handle() (no sweep): {percentiles(baseline)}", flush=True)
    done: dict[str, float | int] = {}

    def sweep() -> None:
        began = time.perf_counter()
        result = sweep_retention(
            app.uow_factory, now=datetime.now(UTC), policy=RetentionPolicy(batch=batch)
        )
        done.update(removed=result.removed, seconds=time.perf_counter() - began)

    worker = threading.Thread(target=sweep)
    worker.start()
    during: list[float] = []
    while worker.is_alive() or not during:
        during.append(handle_once(app))
    worker.join()
    seconds = float(done["seconds"])
    print(
        f"{label}: during the sweep handle(): {percentiles(during)}; the sweep removed "
        f"{int(done['removed']):,} rows in {seconds:.1f} s ({int(done['removed']) / seconds:,.0f} "
        f"rows/s, batches of {batch:,})",
        flush=True,
    )
    app.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--pg-url", default=os.environ.get("TEST_DATABASE_URL", DEFAULT_PG))
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, in seconds")
    args = parser.parse_args(argv)
    events = 20_000 if args.smoke else args.events
    baseline_events = 50 if args.smoke else 2000
    print(f"retention sweep over {events:,} processed events older than 30 days")
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{Path(folder) / 'retention.db'}"
            run("sqlite", url, events, args.batch, baseline_events)
    if args.backend in ("postgresql", "both"):
        if not pg_reachable(args.pg_url):
            print("postgresql: not reachable, skipped")
        else:
            with throwaway_database(args.pg_url, "revendabot_retention") as url:
                run("postgresql", url, events, args.batch, baseline_events)
    return 0


if __name__ == "__main__":
    sys.exit(main())
