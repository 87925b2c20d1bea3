"""Benchmark: ingesting a month of NF-e through the CLI/service path and the API, vs. plain lxml.

    .venv/bin/python benchmarks/fiscal.py [--notes N] [--api-notes N] [--clients C]
        [--backend sqlite|postgresql|both] [--pg-url URL] [--workers W]
        [--smoke]

The notes come from the test note factory (`tests/unit/fiscal_chat/factory.py`: `month_specs`,
`nfe_proc_xml`, `cancelamento_xml`), so they are whatever the tests load, signature included:
N authorized nfeProc of one client in Oct/2026, and the procEventoNFe of every 33rd. Printed,
in the same run:

- plain lxml parsing of the same bytes (`etree.fromstring`, the safe parser settings): the
  baseline, docs/s;
- per backend, on a fresh migrated database: ingest through the CLI/service path
  (`services.fiscal_ingest.ingest` with import-xml's prepare pool: reading in W worker
  processes, one multi-row INSERT and one transaction per chunk of 500), docs/s and % of the
  baseline; then the API path: the web app under uvicorn in a child process (the prepare pool
  is its own), C client threads each posting one XML per request on a keep-alive connection,
  docs/s and latency, then every note sent again (all must come back as duplicates).

The pool's start (once per process) is timed apart. Beside each rate, the CPU time per document
of the process and its worker pool (of the API server and its pool, and of the clients): on a
machine others are using, that says what the work costs better than the wall clock.
`--smoke` runs tiny sizes in seconds (PostgreSQL only when it answers), so `./dev test` keeps
the script alive; its figures mean nothing.

Where the time goes (cProfile and per-step timings, 6.3 KB signed notes, 2 CPUs; Dec 2026):

- one note through `prepare` costs 1.0-1.2 ms CPU (1.3-1.5 with the XSD, as the API does),
  against 0.05 ms for plain lxml parsing: the signature check ≈ 0.65 (xmlsec's `verify` alone
  ≈ 0.35 on an idle core — its C14N, SHA-1 and RSA inside are ≈ 0.1, the rest is xmlsec's own
  per-node work on the reference — plus the MOC shape check ≈ 0.07 and the context), the
  field reading and the key checks ≈ 0.2, the XSD ≈ 0.2, deflate ≈ 0.05, pickling the result
  back from a worker ≈ 0.08. The certificate's key and facts are loaded once per certificate
  (`domain.fiscal.signature._KeyCache`); the XSD sees the same parse as the reader.
- so the CLI path is bound by the workers: with 2 cores, ≥ 40% of lxml (≈ 8,000 docs/s, at
  most 0.25 ms CPU per note) is below the cost of xmlsec's `verify` alone; even the bare
  minimum (parse + C14N/SHA-1 + RSA + deflate ≈ 0.25 ms) would not reach it. It would take
  cutting the per-note signature work itself (C14N + digest + RSA without xmlsec's
  per-node machinery ≈ 0.1 ms), which this project does not do by hand.
- the API adds, in the server's main process, ≈ 2-3 ms CPU per request on a loaded machine
  (profiled per thread with `time.thread_time`): the grouped write ≈ 32% (a transaction per
  batch of the concurrent notes, ≈ 2.3 notes a batch with 8 clients: its start and the look-up
  of the chaves ≈ 15%, the multi-row INSERT ≈ 4%, the commit with the audit rows' ORM flush
  ≈ 8%), uvicorn's h11 reading and writing ≈ 17%, FastAPI's routing and dependencies ≈ 9%, the
  hand-off to the pool ≈ 3%, the JSON answer ≈ 3%, the rest asyncio and anyio's threads. The
  integration key look-up was a transaction per request (on SQLite queued behind the writers);
  it is now answered from a short-lived cache (`storage.key_cache`): ≈ 0.8 ms less per request,
  1% left. uvicorn[standard] (httptools + uvloop, tried outside the lock) made no measurable
  difference: 2.79 against 2.68 ms in the main process, same session.
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _support import pg_reachable  # noqa: E402
from lxml import etree  # noqa: E402
from sqlalchemy import create_engine, delete, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bot.import_xml import CLI_MIN_PARALLEL  # noqa: E402
from services import integration_keys  # noqa: E402
from services.fiscal_ingest import IncomingFile, ingest, prepare_file  # noqa: E402
from services.prepare_pool import PreparePool  # noqa: E402
from storage.db import make_engine, make_session_factory  # noqa: E402
from storage.migrations import upgrade  # noqa: E402
from storage.models import Client, Gestor, Plan  # noqa: E402
from storage.models_fiscal import FiscalDocument  # noqa: E402
from storage.uow import UnitOfWorkFactory  # noqa: E402
from tests.unit.fiscal_chat.factory import (  # noqa: E402
    cancelamento_xml,
    month_specs,
    nfe_proc_xml,
)

CLIENT_CNPJ = "11222333000181"
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
CANCEL_EVERY = 33  # ~3% of the month cancelled
SMOKE = {"notes": 60, "api_notes": 40}


@dataclass(frozen=True)
class Generated:
    notes: list[tuple[str, bytes]]
    events: list[tuple[str, bytes]]

    @property
    def files(self) -> list[tuple[str, bytes]]:
        return self.notes + self.events


def generate(count: int) -> Generated:
    """`count` authorized notes of one client in Oct/2026, and the cancellation of every 33rd."""
    notes, events = [], []
    for spec in month_specs(count, emitente_cnpj=CLIENT_CNPJ):
        notes.append((f"{spec.chave()}-nfe.xml", nfe_proc_xml(spec)))
        if spec.numero % CANCEL_EVERY == 0:
            events.append((f"{spec.chave()}-cancelamento.xml", cancelamento_xml(spec)))
    return Generated(notes, events)


def lxml_rate(files: list[tuple[str, bytes]]) -> float:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    start = time.perf_counter()
    for _, data in files:
        etree.fromstring(data, parser)
    return len(files) / (time.perf_counter() - start)


def cpu_seconds(root: int) -> float:
    """CPU time (user + system) of a process and its live descendants (its pool), from /proc:
    unlike wall time, it says what the work costs on a machine others are using too."""
    if not Path("/proc").is_dir():
        return float("nan")
    children: dict[int, list[int]] = {}
    ticks: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
        ticks[int(entry)] = int(fields[11]) + int(fields[12])
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += ticks.get(pid, 0)
        stack += children.get(pid, [])
    return total / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds(pid: int) -> float:
    """CPU time of one process alone (the API server without its pool), from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def warm_up(pool: PreparePool) -> None:
    """Every worker up, its modules and the XSD loaded (a server's pool is warm)."""
    if not pool.parallel:
        return
    warm = partial(prepare_file, check_xsd=True)
    data = nfe_proc_xml(month_specs(1, emitente_cnpj=CLIENT_CNPJ)[0])
    for future in [pool.submit(warm, "n.xml", data, CLIENT_CNPJ) for _ in range(pool.workers)]:
        future.result()


# -- databases ----------------------------------------------------------------------------------


@contextmanager
def database(backend: str, pg_url: str) -> Iterator[str]:
    """A fresh, migrated database for one run; removed afterwards."""
    if backend == "sqlite":
        folder = tempfile.mkdtemp(prefix="fiscal-bench-")
        try:
            url = f"sqlite:///{folder}/bench.db"
            _migrate(url)
            yield url
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    name = f"fiscal_bench_{os.getpid()}_{time.monotonic_ns() % 10**6}"
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(pg_url).set(database=name).render_as_string(hide_password=False)
        _migrate(url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _migrate(url: str) -> None:
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()


@dataclass(frozen=True)
class Target:
    client_id: int
    gestor_id: int
    documento: str
    key: str


def add_client(url: str) -> Target:
    """A gestor and the notes' emitente as its client, with an integration key."""
    now = datetime.now(UTC)
    engine = make_engine(url)
    uow = UnitOfWorkFactory(make_session_factory(engine))()
    with uow:
        gestor = Gestor(cnpj="10009001000150", razao_social="Escritório", created_at=now)
        uow.session.add(gestor)
        uow.session.flush()
        plan = uow.session.scalars(select(Plan).order_by(Plan.id)).first()
        assert plan is not None, "the migrations seed the catalog"
        client = Client(
            gestor_id=gestor.id, documento=CLIENT_CNPJ, razao_social="ACME", busca="acme",
            email="a@acme.com.br", telefone="11987654321", cep="01310100", endereco="Av",
            cidade="São Paulo", uf="SP", software_id=plan.software_id, plan_id=plan.id,
            status="efetivado", payer="gestor", created_via="cadastro", created_at=now,
            updated_at=now,
        )  # fmt: skip
        uow.session.add(client)
        uow.session.flush()
        key = integration_keys.issue(uow, client.id, "bench")
        uow.commit()
        target = Target(client.id, gestor.id, CLIENT_CNPJ, key)
    engine.dispose()
    return target


def stored_rows(uows: UnitOfWorkFactory) -> dict[str, int]:
    uow = uows()
    with uow:
        rows = uow.session.execute(
            select(FiscalDocument.situacao, func.count()).group_by(FiscalDocument.situacao)
        ).all()
    return {str(situacao): int(count) for situacao, count in sorted(rows)}


# -- the CLI/service path -----------------------------------------------------------------------


def cli_rate(
    url: str, target: Target, generated: Generated, pool: PreparePool
) -> tuple[float, float, str]:
    """(docs/s, seconds, CPU per doc and what was stored) for `ingest` as import-xml calls it;
    the notes are deleted afterwards, so the API path starts from the same empty table."""
    engine = make_engine(url)
    uows = UnitOfWorkFactory(make_session_factory(engine))
    files = [IncomingFile(name, data) for name, data in generated.files]
    start, cpu = time.perf_counter(), cpu_seconds(os.getpid())
    report = ingest(uows(), target, files, via="bench", pool=pool)
    elapsed, cpu = time.perf_counter() - start, cpu_seconds(os.getpid()) - cpu
    assert report.recusados == 0, report.refusals[:3]
    assert report.carregados == len(generated.notes), report.carregados
    assert report.cancelamentos == len(generated.events), report.cancelamentos
    rows = stored_rows(uows)
    with engine.begin() as connection:
        connection.execute(delete(FiscalDocument))
    engine.dispose()
    return len(files) / elapsed, elapsed, f"{1000 * cpu / len(files):.2f} ms CPU per doc) {rows}"


# -- the API path -------------------------------------------------------------------------------


def serve(url: str, port: int, workers: int) -> None:
    """Child process: the web app as `revendabot serve` builds it, on 127.0.0.1:port."""
    import uvicorn

    from bot.app import build_app
    from bot.settings import Settings
    from web.app import create_app

    # uvicorn re-raises the SIGTERM it handled: exit cleanly then, so the pool shuts down too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    settings = Settings(environment="test", database_url=url, _env_file=None)
    pool = PreparePool(workers)
    warm_up(pool)  # the first requests do not wait for the workers to start
    app = build_app(settings, prepare_pool=pool)
    web = create_app(app.uow_factory, routers=app.web_routers())
    uvicorn.run(web, host="127.0.0.1", port=port, log_config=None, access_log=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def api_server(url: str, workers: int) -> Iterator[tuple[int, int]]:
    port = free_port()
    command = [sys.executable, __file__, "--serve", url, str(port), str(workers)]
    child = subprocess.Popen(command)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                connection.request("GET", "/healthz")
                if connection.getresponse().status == 200:
                    break
            except OSError:
                pass
            if child.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the API server did not start")
            time.sleep(0.1)
        yield port, child.pid
    finally:
        child.terminate()
        child.wait(30)


def post_all(
    port: int, key: str, bodies: list[bytes], clients: int
) -> tuple[float, list[float], Counter[int]]:
    """Each of `clients` threads posts its share, one XML per request, on its own keep-alive
    connection; all start together. (seconds, latencies, status codes)."""
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/xml"}
    shares = [bodies[n::clients] for n in range(clients)]
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    barrier = threading.Barrier(clients + 1)

    def client(share: list[bytes]) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        own, codes = [], Counter[int]()
        barrier.wait()
        for body in share:
            start = time.perf_counter()
            connection.request("POST", "/api/v1/documentos", body, headers)
            response = connection.getresponse()
            response.read()
            own.append(time.perf_counter() - start)
            codes[response.status] += 1
        connection.close()
        with lock:
            latencies.extend(own)
            statuses.update(codes)

    threads = [threading.Thread(target=client, args=(share,)) for share in shares]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    return time.perf_counter() - start, latencies, statuses


def api_figures(
    url: str,
    target: Target,
    generated: Generated,
    api_notes: int,
    clients: int,
    workers: int,
) -> str:
    engine = make_engine(url)
    uows = UnitOfWorkFactory(make_session_factory(engine))
    warm, bodies = _split([data for _, data in generated.notes[:api_notes]], clients)
    began = time.perf_counter()
    with api_server(url, workers) as (port, server):
        print(f"  (API server up in {time.perf_counter() - began:.1f} s)", flush=True)
        # Starts the server's pool and fills its caches (XSD, statements) before timing.
        post_all(port, target.key, warm, clients)
        cpu, main, client_cpu = cpu_seconds(server), own_cpu_seconds(server), time.process_time()
        seconds, latencies, statuses = post_all(port, target.key, bodies, clients)
        cpu, main = cpu_seconds(server) - cpu, own_cpu_seconds(server) - main
        client_cpu = time.process_time() - client_cpu
        _, _, again = post_all(port, target.key, warm + bodies, clients)
    rows = stored_rows(uows)
    engine.dispose()
    assert statuses == Counter({201: len(bodies)}), statuses
    assert again == Counter({200: len(warm) + len(bodies)}), again  # all duplicates
    assert rows == {"autorizada": len(warm) + len(bodies)}, rows
    ms, n = sorted(x * 1000 for x in latencies), len(bodies)
    return (
        f"{len(bodies) / seconds:8,.0f} docs/s ({len(bodies):,} XMLs by {clients} concurrent "
        f"clients in {seconds:.2f} s; latency p50 {statistics.median(ms):.1f} ms, "
        f"p99 {ms[min(len(ms) - 1, int(len(ms) * 0.99))]:.1f} ms; server {1000 * cpu / n:.2f} ms "
        f"CPU per doc ({1000 * main / n:.2f} in its main process, {1000 * (cpu - main) / n:.2f} "
        f"in its pool), clients {1000 * client_cpu / n:.2f}; sent again: all duplicates)"
    )


def _split(bodies: list[bytes], clients: int) -> tuple[list[bytes], list[bytes]]:
    warm = min(len(bodies) // 5, 25 * clients)
    return bodies[:warm], bodies[warm:]


# -- the run ------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notes", type=int, default=10_000)
    parser.add_argument("--api-notes", type=int, default=3_000, help="notes posted to the API")
    parser.add_argument("--clients", type=int, default=8, help="concurrent API clients")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", DEFAULT_PG_URL))
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, seconds")
    parser.add_argument("--serve", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve[0], int(args.serve[1]), int(args.serve[2]))
        return 0
    if args.smoke:  # no worker processes: starting them is most of a smoke run's cost
        args.notes, args.api_notes, args.clients = SMOKE["notes"], SMOKE["api_notes"], 4
        args.workers = 1
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    if "postgresql" in backends and not pg_reachable(args.pg_url):
        if not args.smoke:
            parser.error(f"PostgreSQL does not answer at {args.pg_url}")
        backends.remove("postgresql")
        print("PostgreSQL does not answer: SQLite only")

    cli_files = generate(args.notes)
    api_files = cli_files if args.api_notes <= args.notes else generate(args.api_notes)
    sizes = [len(data) for _, data in cli_files.notes]
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average before: "
        + " ".join(f"{x:.2f}" for x in os.getloadavg())
    )
    print(
        f"{len(cli_files.notes):,} nfeProc + {len(cli_files.events):,} procEventoNFe of one "
        f"client from the test note factory; mean note {sum(sizes) / len(sizes) / 1024:.1f} KB"
    )
    baseline = lxml_rate(cli_files.files)
    print(f"plain lxml parse (same files):                 {baseline:8,.0f} docs/s")
    pool = PreparePool(args.workers, min_files=CLI_MIN_PARALLEL)
    started = time.perf_counter()
    warm_up(pool)
    print(
        f"prepare pool: {pool.workers} worker(s), started in {time.perf_counter() - started:.2f} s"
    )
    for backend in backends:
        with database(backend, args.pg_url) as url:
            target = add_client(url)
            rate, elapsed, rows = cli_rate(url, target, cli_files, pool)
            print(
                f"ingest, CLI/service path ({backend:<10}):      {rate:8,.0f} docs/s "
                f"({rate / baseline:.0%} of lxml; {len(cli_files.files):,} docs in "
                f"{elapsed:.2f} s; {rows}"
            )
            line = api_figures(url, target, api_files, args.api_notes, args.clients, args.workers)
            print(f"ingest, API path          ({backend:<10}):      {line}")
    print("load average after: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
