"""Benchmark: `DANFEs do mês` as the chat builds it, against brazilfiscalreport in a plain loop.

    .venv/bin/python benchmarks/danfe.py [--notes 1000] [--workers W] [--month 2026-10] [--smoke]

N varied authorized NF-e of one client and month (`--month`: October 2026 by default, printed
in the MOC 7.0 layout; from 2026-12 on the library prints NT 2026.010's) are stored through
the ingest service in a fresh SQLite file. Then, on the same notes:
- CPU per DANFE in this process (the main figure on a shared machine): brazilfiscalreport's
  `Danfe(xml).output()` (what a script calling the library would do, the baseline) and our
  `render_danfe`, note by note in turn;
- baseline: the library's plain loop in one process, DANFEs per second (wall);
- ours, one process: the durable job (`fiscal.danfe_zip`) queued as the step queues it and
  run by a `JobRunner` without worker processes (read the notes, print, ZIP, into the outbox);
- ours, W worker processes (default: the CPU count): the same job with `ExportOptions.cpu`,
  as `serve` runs it; "cores busy" is our CPU per DANFE × N spread over the cores, against
  the job's wall time (an estimate: a DANFE's CPU varies with what the other core runs, so
  on a quiet machine it can pass 100%);
- ours, the same month asked again: every DANFE comes from the file store's cache;
- ours, printed ahead: the background jobs that ingest queued (`danfe.prerender`, a slice of
  notes per run, as `serve`'s workers take them) with W worker processes — the time from the
  notes stored to every DANFE in the cache, which nobody waits for;
- ours, the month asked once they were printed ahead: the request a gestor makes.
Each first run starts with an empty DANFE cache of its own.
Printed: seconds, DANFEs/s and DANFEs/s per core of each, and the ZIP's size; the aim is
1,000 NF-e in ≤ 30 s on 2 cores. `--smoke` (`./dev test` runs it so the script cannot rot) is
`--notes 4`: the figures mean nothing.

Where a DANFE's CPU goes in the library alone (py-spy over the plain loop, 100 of these
notes; shares, the machine being shared):

                                                     MOC 7.0    NT 2026.010
    fpdf2's text layout (multi_cell/cell: line
      breaking, a width looked up per character)       37%          50%
    the products table (fpdf2 `Table`)                 26%         (in the above)
    the access key's barcode, drawn 3 times:           25%          34%
      Code 128 as SVG (python-barcode, minidom)         6.5%         9.7%
      fpdf2 parsing that SVG                            9.0%        11.5%
      its bars built as PDF paths                       9.6%        12.6%
    XML parsing (ElementTree, twice)                    1.2%         1.6%
    PDF output and compression                          0.7%         1.0%
    the rest (fpdf2 graphics state, library code)       9%           9%
    the cyclic garbage collector (not in py-spy's
      stacks; measured by holding it)                  5–8%         5–8%

No TTF font (the DANFE uses the core Times: nothing to load or subset), no logo, nothing set
up per document that could be done once per process. The library measures each block by
drawing it with output off (fpdf2's `_disable_writing`), then draws it: about half of the
text layout, and two of the three barcodes, are measuring. domain/fiscal/danfe.py skips the
barcode while measuring (neither written as SVG nor drawn: it neither moves the cursor nor
adds a resource, so the same PDF byte for byte) and holds the collector during a print; the
worker processes start with the printer and the task imported (fork server preload: ≈ 0.65 s
of CPU each on the first DANFE). domain/fiscal/fpdf_fast.py then takes three of fpdf2's hot
paths with less work and the same floats (py-spy over our printer, MOC 7.0, before it):
the width of the line being broken, asked at every character (`CurrentLine.width` re-joined
and re-summed the line: 13.7% of a DANFE, with the character's own width 6.9%), the graphics
state copied for every fragment (`copy.copy` of a slotted dataclass: 3.8%), and the style
comparison at every character (a 25-field dataclass `__eq__`: 2.1%).
Same 100 notes, old and new code back to back: MOC 7.0 68.0 → 52.5 ms per DANFE, NT 2026.010
48 → 34 ms, the PDFs' sha256 unchanged. What is left is the rest of fpdf2's text layout in
pure Python (the products table laid out four times: the library's measuring pass, then
fpdf2's Table measuring each row before drawing it) and the one barcode drawn. So the month
of 1,000 on 2 cores: 27.6 s in MOC 7.0 (37.4 s with the code before, the same morning;
0.32× the library's plain loop) and 19.3 s in NT 2026.010 (27.1 s in the last run before);
a note with dozens of items costs 0.2–0.6 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WHEN = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)  # the jobs' clock; run() sets it from --month


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--notes", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--month",
        default="2026-10",
        help="the notes' month, YYYY-MM: before 2026-12 printed in the MOC 7.0 layout, "
        "from then on in NT 2026.010's",
    )
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, seconds")
    args = parser.parse_args()
    if args.smoke:
        args.notes = 4
    work = Path(tempfile.mkdtemp(prefix="danfe-bench-"))
    try:
        run(args.notes, max(1, args.workers), args.month, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(n: int, workers: int, month: str, work: Path) -> None:
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
    year, number = (int(part) for part in month.split("-"))
    specs = month_specs(n, year=year, month=number, emitente_cnpj=card.documento)
    xmls = [nfe_proc_xml(spec) for spec in specs]
    global WHEN  # the jobs' clock: the 3rd of the next month, or now (jobs are run when due)
    WHEN = min(
        datetime(year + number // 12, number % 12 + 1, 3, 12, tzinfo=UTC), datetime.now(UTC)
    )
    report = ingest(
        app.uow_factory(),
        _Ref(card.id, card.documento),
        (IncomingFile(f"{i}.xml", xml) for i, xml in enumerate(xmls)),
        via="bench",
    )
    assert report.recusados == 0, report.refusals[:3]
    layout = "MOC 7.0" if month < "2026-12" else "NT 2026.010"
    print(
        f"DANFEs of one month, {n:,} NF-e of {month} ({layout} layout; this machine: "
        f"{os.cpu_count()} CPUs, load average {_load()})",
        flush=True,
    )

    plain, ours = _plain_and_ours(xmls)
    baseline = plain.wall
    print(
        "  CPU per DANFE in one process, the same notes taken alternately (the main figure):\n"
        f"    brazilfiscalreport, plain loop: {plain.cpu_ms(n):6.1f} ms "
        f"({plain.per_core(n):.1f} DANFEs/s per core)\n"
        f"    ours (render_danfe):            {ours.cpu_ms(n):6.1f} ms "
        f"({ours.per_core(n):.1f} DANFEs/s per core) | {ours.cpu / plain.cpu:.2f}× the plain loop",
        flush=True,
    )
    print(
        f"  brazilfiscalreport, plain loop, 1 process: {baseline:7.2f}s "
        f"{n / baseline:7.1f} DANFEs/s ({n / baseline:.1f}/s per core)",
        flush=True,
    )
    words = WORDS  # the chat's own words
    export = Export(card.id, TipoNota.EMITIDA, Modelo.NFE, month, "bench", "ACME_DANFEs")
    exports = app.conversation.dialogue.config.exports  # type: ignore[attr-defined]
    pool = PreparePool(workers)
    if pool.parallel:  # start the workers outside the clock, as serve has them
        list(pool.map(abs, range(2 * workers)))
    warm = file_store(str(work / "cache-pool"))
    for label, cpu, cores, files, printing in (
        # each first run with an empty DANFE cache of its own
        (
            "ours, the job without worker processes",
            None,
            1,
            file_store(str(work / "cache-1")),
            True,
        ),
        (f"ours, the job with {workers} worker processes", pool, workers, warm, True),
        ("ours, the same month again (from the cache)", pool, workers, warm, False),
    ):
        options = replace(exports, cpu=cpu, files=files)
        started = time.perf_counter()
        job_id = _queue(app, office.gestor, export, words, options)
        runner = jobs.JobRunner(app.uow_factory, fiscal_exports.kinds(options))
        runner.run_now([job_id])
        seconds = time.perf_counter() - started
        size = _zip_size(app)
        # the printing alone at ours' CPU per DANFE, spread over the cores, against the job
        busy = f" | cores busy {ours.cpu / cores / seconds:.0%}" if printing else ""
        print(
            f"  {label + ':':48s} {seconds:7.2f}s {n / seconds:7.1f} DANFEs/s "
            f"({n / seconds / cores:.1f}/s per core) | ZIP {size / 1e6:.1f} MB | "
            f"{seconds / baseline:.2f}× the plain loop{busy}",
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
    print(f"  aim: 1,000 NF-e in ≤ 30 s on 2 cores (load average now {_load()})")
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


@dataclass
class _Spent:
    cpu: float = 0.0  # seconds of this process's CPU
    wall: float = 0.0

    def cpu_ms(self, n: int) -> float:
        return 1000 * self.cpu / n

    def per_core(self, n: int) -> float:
        return n / self.cpu


def _plain_and_ours(xmls: list[bytes]) -> tuple[_Spent, _Spent]:
    """brazilfiscalreport's `Danfe(xml).output()` (what a script calling the library does)
    and our `render_danfe`, note by note in turn, each going first every other note, so both
    see the same neighbours on a shared machine."""
    from brazilfiscalreport.danfe import Danfe  # type: ignore[import-untyped]

    from domain.fiscal import Modelo, fpdf_fast
    from domain.fiscal.danfe import render_danfe

    def plain(xml: bytes) -> None:
        fpdf_fast.uninstall()  # fpdf2 as the library gets it (domain/fiscal/danfe.py installs)
        try:
            Danfe(xml.decode()).output()
        finally:
            fpdf_fast.install()

    def ours(xml: bytes) -> None:
        render_danfe(xml, Modelo.NFE, cancelada=False, gerado_em=WHEN)

    spent = {plain: _Spent(), ours: _Spent()}
    for i, xml in enumerate(xmls):
        for printer in (plain, ours) if i % 2 == 0 else (ours, plain):
            cpu, wall = time.process_time(), time.perf_counter()
            printer(xml)
            spent[printer].cpu += time.process_time() - cpu
            spent[printer].wall += time.perf_counter() - wall
    return spent[plain], spent[ours]


def _load() -> str:
    return " ".join(f"{load:.1f}" for load in os.getloadavg())


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
