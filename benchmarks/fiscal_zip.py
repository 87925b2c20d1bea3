"""Benchmark: the month ZIP of XMLs and the month report, from notes stored the real way.

    .venv/bin/python benchmarks/fiscal_zip.py [--sizes 1000,10000,50000] [--report 10000]
        [--keep DIR] [--smoke]

For each N: N varied authorized NF-e of one client and month (1–6 items, mixed CFOPs, some
freight, ~3% cancelled with their events) are stored through the ingest service in a fresh
SQLite file. Then, each in a fresh subprocess so peak RSS is its own:
- ours: the chat job's path — `fiscal_documents.compressed_xmls` (blobs read 200 per short
  transaction) → `zipstream.write_zip` into a file, the stored deflate bytes copied as they are;
- the `zip -q -r` command on the same XML files written to a folder (or, without `zip`,
  Python's zipfile at its default deflate level).
Printed: seconds, the ratio ours / baseline (target ≤ 1.0×), peak RSS of each (VmHWM;
target < 150 MB and flat as N grows), archive sizes. Then the month report for `--report` notes:
the PDF alone from ready rows (target < 2 s) and the whole job path (inflate + parse + PDF).
`--smoke` (tiny sizes, seconds; `./dev test` runs it so the script cannot rot) is
`--sizes 50 --report 50`: the figures mean nothing.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CANCEL_EVERY = 33  # ~3% of the month cancelled


@dataclass(frozen=True)
class Stored:
    db: Path
    xml_dir: Path
    gestor_id: int
    client_id: int
    notes: int
    members: int


def _rss_mb() -> float:
    """Peak RSS of this process (VmHWM: per address space, so reset by exec, unlike
    ru_maxrss, which a child started from this big parent would inherit)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def prepare(n: int, work: Path) -> Stored:
    """Store N notes (and their cancellations) and write the same files to a folder."""
    from bot.app import build_app
    from bot.settings import Settings
    from services.fiscal_ingest import IncomingFile, ingest
    from tests.support import add_client, make_office
    from tests.unit.fiscal_chat.factory import cancelamento_xml, month_specs, nfe_proc_xml

    db = work / f"n{n}.db"
    settings = Settings(environment="test", database_url=f"sqlite:///{db}", _env_file=None)
    app = build_app(settings)
    app.migrate()
    office = make_office(app.uow_factory, 1, identity_key="bench:gestor")
    card = add_client(app.uow_factory, office.gestor, 1, name="ACME Comércio Ltda")
    xml_dir = work / f"xml{n}" / "ACME_2026-10_NFe"
    xml_dir.mkdir(parents=True)

    @dataclass(frozen=True)
    class Ref:
        client_id: int
        documento: str

    def files() -> object:
        for spec in month_specs(n, emitente_cnpj=card.documento):
            chave = spec.chave()
            data = nfe_proc_xml(spec)
            (xml_dir / f"{chave}-nfe.xml").write_bytes(data)
            yield IncomingFile(f"{chave}.xml", data)
            if spec.numero % CANCEL_EVERY == 0:
                event = cancelamento_xml(spec)
                (xml_dir / f"{chave}-cancelamento.xml").write_bytes(event)
                yield IncomingFile(f"{chave}-can.xml", event)

    started = time.perf_counter()
    report = ingest(app.uow_factory(), Ref(card.id, card.documento), files(), via="bench")  # type: ignore[arg-type]
    elapsed = time.perf_counter() - started
    assert report.recusados == 0, report.refusals[:3]
    members = report.carregados + report.cancelamentos
    print(
        f"  stored N={n:,}: {report.carregados:,} notes + {report.cancelamentos:,} "
        f"cancellations in {elapsed:.1f}s ({report.carregados / elapsed:,.0f} docs/s, with "
        "the XML files written alongside)",
        flush=True,
    )
    app.close()
    return Stored(db, xml_dir.parent, office.gestor.gestor_id, card.id, n, members)


def child_ours(db: str, gestor_id: int, client_id: int, out: str) -> dict[str, float]:
    """Run in a subprocess: build the month ZIP the way the chat job does (only the modules
    that path needs are imported, so the RSS is the job's, not the whole bot's)."""
    from domain.clients import Role
    from domain.fiscal import Modelo
    from domain.fiscal.zipstream import ZipEntry, write_zip
    from services import fiscal_documents
    from services.fiscal_prepare import TipoNota
    from services.principal import Principal
    from storage.db import make_engine, make_session_factory
    from storage.uow import UnitOfWorkFactory

    engine = make_engine(f"sqlite:///{db}")
    uow_factory = UnitOfWorkFactory(make_session_factory(engine))
    principal = Principal(1, "bench:gestor", gestor_id, "Bench", Role.GESTOR)
    baseline = _rss_mb()
    started = time.perf_counter()
    members = fiscal_documents.compressed_xmls(
        uow_factory(),
        principal,
        client_id,
        tipo=TipoNota.EMITIDA,
        modelo=Modelo.NFE,
        competencia="2026-10",
    )
    with open(out, "wb") as file:
        size = write_zip(
            (ZipEntry(m.name, m.deflated, m.crc32, m.size, m.modified) for m in members), file
        )
    elapsed = time.perf_counter() - started
    return {"seconds": elapsed, "rss_mb": _rss_mb(), "rss_before_mb": baseline, "bytes": size}


def child_report(
    db: str, gestor_id: int, client_id: int, formato: Literal["csv", "xlsx"]
) -> dict[str, float]:
    """Run in a subprocess: the month report job as the chat queues and runs it (chart, PDF
    and the table into the outbox)."""
    from domain.clients import Role
    from domain.fiscal import Modelo
    from services import fiscal_exports, jobs
    from services.fiscal_prepare import TipoNota
    from services.principal import Principal
    from storage.db import make_engine, make_session_factory
    from storage.uow import UnitOfWorkFactory

    uow_factory = UnitOfWorkFactory(make_session_factory(make_engine(f"sqlite:///{db}")))
    principal = Principal(1, "bench:gestor", gestor_id, "Bench", Role.GESTOR)
    clock = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)
    words = fiscal_exports.Words(*(["{titulo}"] * len(fields(fiscal_exports.Words))))
    export = fiscal_exports.Export(
        client_id, TipoNota.EMITIDA, Modelo.NFE, "2026-10", "bench", "ACME_2026-10_NFe"
    )
    to = fiscal_exports.Recipient("test", "bench:gestor", "bench")
    baseline = _rss_mb()
    started = time.perf_counter()
    uow = uow_factory()
    with uow:  # as a step asks: the request is written as a job
        request = fiscal_exports.report_job(
            uow,
            principal,
            export,
            ("ACME", "11222333000181"),
            formato,
            to,
            words,
            clock=lambda: clock,
        )
        job_id = jobs.queue(uow, request, clock)
        uow.commit()
    jobs.JobRunner(uow_factory, fiscal_exports.kinds(fiscal_exports.ExportOptions())).run_now(
        [job_id]
    )
    elapsed = time.perf_counter() - started
    from sqlalchemy import select

    from storage.models import OutboxMessage

    with uow_factory() as uow:
        assert uow.jobs.status_of(job_id) == "done"
        last = uow.session.scalars(
            select(OutboxMessage.payload).order_by(OutboxMessage.id.desc()).limit(3)
        ).all()
    names = [payload.get("file", {}).get("name", payload.get("name", "")) for payload in last]
    assert any(str(name).endswith(f".{formato}") for name in names), last  # not an error
    return {"seconds": elapsed, "rss_mb": _rss_mb(), "rss_before_mb": baseline}


def child_baseline(xml_dir: str, out: str) -> dict[str, float]:
    """Run in a subprocess: `zip -q -r`, or Python's zipfile when `zip` is missing."""
    started = time.perf_counter()
    if shutil.which("zip"):
        subprocess.run(["zip", "-q", "-r", out, "."], cwd=xml_dir, check=True)
        tool = "zip -q -r"
        rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    else:
        import zipfile

        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(Path(xml_dir).rglob("*.xml")):
                archive.write(path, path.relative_to(xml_dir))
        tool = "python zipfile (zip missing)"
        rss = _rss_mb()
    return {
        "seconds": time.perf_counter() - started,
        "rss_mb": rss,
        "bytes": Path(out).stat().st_size,
        "tool": tool,  # type: ignore[dict-item]
    }


def run_child(*args: str) -> dict[str, float]:
    result = subprocess.run(
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def check_zip(path: Path, members: int) -> None:
    import zipfile

    with zipfile.ZipFile(path) as archive:
        assert len(archive.infolist()) == members, (len(archive.infolist()), members)
        assert archive.testzip() is None


def bench_zip(sizes: list[int], work: Path) -> dict[int, Stored]:
    if not shutil.which("zip"):
        print("`zip` command not found: comparing with Python's zipfile (default deflate)")
    print("Month ZIP (N notes of one client and month):", flush=True)
    done: dict[int, Stored] = {}
    for n in sizes:
        stored = prepare(n, work)
        ours_out, base_out = work / f"ours{n}.zip", work / f"base{n}.zip"
        base = run_child("baseline", str(stored.xml_dir), str(base_out))
        ours = run_child(
            "ours", str(stored.db), str(stored.gestor_id), str(stored.client_id), str(ours_out)
        )
        check_zip(ours_out, stored.members)
        print(
            f"  N={n:>6,}: ours {ours['seconds']:6.2f}s  {base['tool']} {base['seconds']:6.2f}s"
            f"  ratio {ours['seconds'] / base['seconds']:.2f}×  |  peak RSS ours "
            f"{ours['rss_mb']:.0f} MB (after imports {ours['rss_before_mb']:.0f} MB), "
            f"zip {base['rss_mb']:.0f} MB  |  size ours {ours['bytes'] / 1e6:.1f} MB, "
            f"zip {base['bytes'] / 1e6:.1f} MB",
            flush=True,
        )
        shutil.rmtree(stored.xml_dir)
        for path in (ours_out, base_out):
            path.unlink()
        done[n] = stored
    return done


def bench_report(n: int, work: Path, stored: Stored | None) -> None:
    """The report job as the chat runs it (PDF + CSV into the outbox), then its pieces."""
    from domain.clients import Role
    from domain.fiscal import Modelo
    from domain.fiscal.report import Cabecalho
    from domain.fiscal.report_pdf import render_report_pdf
    from domain.fiscal.report_tables import render_csv, render_xlsx
    from services import fiscal_exports
    from services.fiscal_prepare import TipoNota
    from services.principal import Principal
    from storage.db import make_engine, make_session_factory
    from storage.uow import UnitOfWorkFactory

    stored = stored or prepare(n, work)
    uow_factory = UnitOfWorkFactory(make_session_factory(make_engine(f"sqlite:///{stored.db}")))
    principal = Principal(1, "bench:gestor", stored.gestor_id, "Bench", Role.GESTOR)
    clock = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)
    export = fiscal_exports.Export(
        stored.client_id, TipoNota.EMITIDA, Modelo.NFE, "2026-10", "bench", "ACME_2026-10_NFe"
    )
    # the whole job in a fresh process each, so its peak RSS is its own
    jobs_run = {
        formato: run_child(
            "report", str(stored.db), str(stored.gestor_id), str(stored.client_id), formato
        )
        for formato in ("csv", "xlsx")
    }
    started = time.perf_counter()
    linhas = list(fiscal_exports.report_lines(uow_factory(), principal, export))
    items_seconds = time.perf_counter() - started
    cancelled = sum(1 for linha in linhas if linha.situacao.value == "cancelada")
    cab = Cabecalho("ACME Comércio Ltda", "11222333000181", "2026-10", Modelo.NFE, clock)
    started = time.perf_counter()
    pdf = render_report_pdf(cab, linhas)
    pdf_seconds = time.perf_counter() - started
    started = time.perf_counter()
    csv = render_csv(linhas)
    csv_seconds = time.perf_counter() - started
    started = time.perf_counter()
    xlsx = render_xlsx(cab, linhas)
    xlsx_seconds = time.perf_counter() - started
    print(f"Month report, {len(linhas):,} notes ({cancelled:,} cancelled):")
    for formato, result in jobs_run.items():
        print(
            f"  whole job (read stored notes, items from the XMLs, chart, PDF + "
            f"{formato.upper()} into the outbox): {result['seconds']:.2f}s, peak RSS "
            f"{result['rss_mb']:.0f} MB ({result['rss_before_mb']:.0f} MB before it began; "
            "aim < 200 MB at 50,000 notes)"
        )
    print(f"  PDF alone from the rows: {pdf_seconds:.2f}s ({len(pdf) / 1e3:.0f} KB)")
    print(f"  rows with their items (CFOP, vProd) from the stored XMLs: {items_seconds:.2f}s")
    print(
        f"  CSV {csv_seconds:.2f}s ({len(csv) / 1e6:.1f} MB), XLSX {xlsx_seconds:.2f}s "
        f"({len(xlsx) / 1e6:.1f} MB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000,50000")
    parser.add_argument("--report", type=int, default=10_000)
    parser.add_argument("--keep", type=Path, default=None, help="work folder to keep")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, seconds")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.smoke:
        args.sizes, args.report = "50", 50
    if args.child:
        kind, *rest = args.child
        if kind == "ours":
            result = child_ours(rest[0], int(rest[1]), int(rest[2]), rest[3])
        elif kind == "report":
            formato: Literal["csv", "xlsx"] = "xlsx" if rest[3] == "xlsx" else "csv"
            result = child_report(rest[0], int(rest[1]), int(rest[2]), formato)
        else:
            result = child_baseline(rest[0], rest[1])
        print(json.dumps(result))
        return
    sizes = [int(size) for size in args.sizes.split(",") if size]
    work = args.keep or Path(tempfile.mkdtemp(prefix="fiscal-zip-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        stored = bench_zip(sizes, work)
        if args.report:
            bench_report(args.report, work, stored.get(args.report))
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
