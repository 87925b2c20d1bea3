"""Benchmark: `DANFEs do mês` as the chat builds it, against brazilfiscalreport in a plain loop.

    .venv/bin/python benchmarks/danfe.py [--notes 1000] [--workers W] [--smoke]

N varied authorized NF-e of one client and month are stored through the ingest service in a
fresh SQLite file. Then, on the same notes:
- baseline: brazilfiscalreport's `Danfe(xml).output()` in a plain loop in one process (what a
  script calling the library would do), DANFEs per second;
- ours, one process: the durable job (`fiscal.danfe_zip`) queued as the step queues it and
  run by a `JobRunner` without worker processes (read the notes, print, ZIP, into the outbox);
- ours, W worker processes (default: the CPU count): the same job with `ExportOptions.cpu`,
  as `serve` runs it;
- ours, the same month asked again: every DANFE comes from the file store's cache;
- ours, printed ahead: the background jobs that ingest queued (`danfe.prerender`, a slice of
  notes per run, as `serve`'s workers take them) with W worker processes — the time from the
  notes stored to every DANFE in the cache, which nobody waits for;
- ours, the month asked once they were printed ahead: the request a gestor makes.
Each first run starts with an empty DANFE cache of its own.
Printed: seconds, DANFEs/s and DANFEs/s per core of each, and the ZIP's size; the aim is
1,000 NF-e in ≤ 30 s on 2 cores. `--smoke` (`./dev test` runs it so the script cannot rot) is
`--notes 4`: the figures mean nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WHEN = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--notes", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, seconds")
    args = parser.parse_args()
    if args.smoke:
        args.notes = 4
    work = Path(tempfile.mkdtemp(prefix="danfe-bench-"))
    try:
        run(args.notes, max(1, args.workers), work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(n: int, workers: int, work: Path) -> None:
    from dataclasses import replace

    from bot.app import build_app
    from bot.gateways.file_store import file_store
    from bot.settings import Settings
    from domain.fiscal import Modelo
    from handlers.fiscal_emitidos import WORDS
    from services import fiscal_exports, jobs
    from services.fiscal_exports import Export
    from services.fiscal_ingest import IncomingFile, ingest
    from services.fiscal_prepare import TipoNota
    from services.prepare_pool import PreparePool
    from tests.support import add_client, make_office
    from tests.unit.fiscal_chat.factory import month_specs, nfe_proc_xml

    settings = Settings(
        environment="test",
        database_url=f"sqlite:///{work / 'bench.db'}",
        file_store_url=str(work / "files"),
        _env_file=None,
    )
    app = build_app(settings)
    app.migrate()
    office = make_office(app.uow_factory, 1, identity_key="bench:gestor")
    card = add_client(app.uow_factory, office.gestor, 1, name="ACME Comércio Ltda")
    xmls = [nfe_proc_xml(spec) for spec in month_specs(n, emitente_cnpj=card.documento)]
    report = ingest(
        app.uow_factory(),
        _Ref(card.id, card.documento),
        (IncomingFile(f"{i}.xml", xml) for i, xml in enumerate(xmls)),
        via="bench",
    )
    assert report.recusados == 0, report.refusals[:3]
    print(f"DANFEs of one month, {n:,} NF-e (this machine: {os.cpu_count()} CPUs)", flush=True)

    baseline = _baseline(xmls)
    print(
        f"  brazilfiscalreport, plain loop, 1 process: {baseline:7.2f}s "
        f"{n / baseline:7.1f} DANFEs/s ({n / baseline:.1f}/s per core)",
        flush=True,
    )
    words = WORDS  # the chat's own words
    export = Export(card.id, TipoNota.EMITIDA, Modelo.NFE, "2026-10", "bench", "ACME_DANFEs")
    exports = app.conversation.dialogue.config.exports  # type: ignore[attr-defined]
    pool = PreparePool(workers)
    if pool.parallel:  # start the workers outside the clock, as serve has them
        list(pool.map(abs, range(2 * workers)))
    warm = file_store(str(work / "cache-pool"))
    for label, cpu, cores, files in (
        # each first run with an empty DANFE cache of its own
        ("ours, the job without worker processes", None, 1, file_store(str(work / "cache-1"))),
        (f"ours, the job with {workers} worker processes", pool, workers, warm),
        ("ours, the same month again (from the cache)", pool, workers, warm),
    ):
        options = replace(exports, cpu=cpu, files=files)
        started = time.perf_counter()
        job_id = _queue(app, office.gestor, export, words, options)
        runner = jobs.JobRunner(app.uow_factory, fiscal_exports.kinds(options))
        runner.run_now([job_id])
        seconds = time.perf_counter() - started
        size = _zip_size(app)
        print(
            f"  {label + ':':48s} {seconds:7.2f}s {n / seconds:7.1f} DANFEs/s "
            f"({n / seconds / cores:.1f}/s per core) | ZIP {size / 1e6:.1f} MB | "
            f"{seconds / baseline:.2f}× the plain loop",
            flush=True,
        )
    ahead = file_store(str(work / "cache-ahead"))
    options = replace(exports, cpu=pool, files=ahead)
    started = time.perf_counter()
    slices = _print_ahead(app, options)
    seconds = time.perf_counter() - started
    print(
        f"  {'ours, printed ahead after ingest (background):':48s} {seconds:7.2f}s "
        f"{n / seconds:7.1f} DANFEs/s ({n / seconds / workers:.1f}/s per core) | "
        f"{slices} slices | {seconds / baseline:.2f}× the plain loop",
        flush=True,
    )
    started = time.perf_counter()
    jobs.JobRunner(app.uow_factory, fiscal_exports.kinds(options)).run_now(
        [_queue(app, office.gestor, export, words, options)]
    )
    seconds = time.perf_counter() - started
    print(
        f"  {'ours, the month asked after printing ahead:':48s} {seconds:7.2f}s "
        f"{n / seconds:7.1f} DANFEs/s | ZIP {_zip_size(app) / 1e6:.1f} MB | "
        f"{seconds / baseline:.2f}× the plain loop",
        flush=True,
    )
    print("  aim: 1,000 NF-e in ≤ 30 s on 2 cores")
    app.close()


class _Ref:
    def __init__(self, client_id: int, documento: str) -> None:
        self.client_id, self.documento = client_id, documento


def _print_ahead(app: object, options: object) -> int:
    """Run the printing-ahead jobs ingest queued (made due now) to the last slice."""
    from sqlalchemy import update

    from services import fiscal_exports, jobs
    from storage.models_jobs import Job

    uow_factory = app.uow_factory  # type: ignore[attr-defined]
    with uow_factory() as uow:
        uow.session.execute(update(Job).values(not_before=WHEN))
        uow.commit()
    runner = jobs.JobRunner(uow_factory, fiscal_exports.kinds(options))  # type: ignore[arg-type]
    slices = 0
    while (done := runner.run_next()) is not None:
        assert (done.kind, done.outcome) == ("danfe.prerender", "done"), done
        slices += 1
    return slices


def _baseline(xmls: list[bytes]) -> float:
    from brazilfiscalreport.danfe import Danfe  # type: ignore[import-untyped]

    started = time.perf_counter()
    for xml in xmls:
        Danfe(xml.decode()).output()
    return time.perf_counter() - started


def _queue(app: object, principal: object, export: object, words: object, options: object) -> int:
    from services import fiscal_exports, jobs
    from services.fiscal_exports import Recipient

    uow_factory = app.uow_factory  # type: ignore[attr-defined]
    with uow_factory() as uow:
        request = fiscal_exports.danfe_zip_job(
            uow,
            principal,  # type: ignore[arg-type]
            export,  # type: ignore[arg-type]
            Recipient("test", "bench:gestor", "bench"),
            words,  # type: ignore[arg-type]
            clock=lambda: WHEN,
            options=options,  # type: ignore[arg-type]
        )
        job_id = jobs.queue(uow, request, WHEN)
        uow.commit()
    return int(job_id)


def _zip_size(app: object) -> int:
    """The size of the last ZIP the job put in the outbox (and check it went)."""
    from sqlalchemy import select

    from storage.models import OutboxMessage

    uow_factory = app.uow_factory  # type: ignore[attr-defined]
    with uow_factory() as uow:
        payloads = uow.session.scalars(
            select(OutboxMessage.payload).order_by(OutboxMessage.id.desc()).limit(20)
        )
        document = next(p for p in payloads if p["type"] == "document")
    return int(document["file"]["size"])


if __name__ == "__main__":
    main()
