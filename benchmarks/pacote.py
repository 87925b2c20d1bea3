"""Benchmark: the month's package sweep (job `pacote`) for N clients × M notes each.

    .venv/bin/python benchmarks/pacote.py [--clients 20] [--notes 500] [--smoke]

Stores, through the ingest service in a fresh SQLite file, M varied NF-e per client in October
2026 (1–6 items, mixed CFOPs, ~3% cancelled with their events), N Efetivado clients, and writes
the same XML files to one folder per client. Then, in the same run:
1. baseline: Python's zipfile (ZIP_DEFLATED, default level) zipping each client's folder, in a
   plain loop — what packing the same files by hand costs;
2. ours: `sweep_pacote` on 1 November and every package job it queued, run here one after the
   other (as `scheduler run-once pacote` does), without e-mail: each package is the stored XMLs
   copied as they are (already deflated), plus the month report PDF + XLSX and resumo.txt, put
   in the file store.
Printed: packages/s and MB/s (MB of XML in the packages per second) of both, and the sizes.
`--smoke`: 2 clients × 20 notes, in seconds; the figures mean nothing.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.app import App, build_app  # noqa: E402
from bot.settings import Settings  # noqa: E402
from domain.clients import ContractStatus, Payer  # noqa: E402
from services import contracts, pacote  # noqa: E402
from services.fiscal_ingest import IncomingFile, ingest  # noqa: E402
from services.jobs import JobRunner  # noqa: E402
from services.pacote import PacoteOptions  # noqa: E402
from tests.support import add_client, make_office  # noqa: E402
from tests.unit.fiscal_chat.factory import cancelamento_xml, month_specs, nfe_proc_xml  # noqa: E402

SWEEP_AT = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)  # 06:00 São Paulo, day 1: October is packed
CANCEL_EVERY = 33
MB = 1024 * 1024


class _Target:
    def __init__(self, client_id: int, documento: str) -> None:
        self.client_id = client_id
        self.documento = documento


def prepare(app: App, clients: int, notes: int, xml_root: Path) -> int:
    """The office, its clients and their October notes; bytes of XML written."""
    office = make_office(app.uow_factory, 1, identity_key="bench:gestor")
    total = 0
    for n in range(1, clients + 1):
        card = add_client(app.uow_factory, office.gestor, n, name=f"Cliente {n:03d} Ltda")
        contracts.save_contract(
            app.uow_factory(),
            office.gestor,
            card.id,
            status=ContractStatus.EFETIVADO,
            payer=Payer.GESTOR,
        )
        folder = xml_root / f"cliente{n:03d}"
        folder.mkdir(parents=True)
        files = []
        for spec in month_specs(notes, emitente_cnpj=card.documento, seed=n):
            chave = spec.chave()
            files.append((f"{chave}-nfe.xml", nfe_proc_xml(spec)))
            if spec.numero % CANCEL_EVERY == 0:
                files.append((f"{chave}-cancelamento.xml", cancelamento_xml(spec)))
        for name, data in files:
            (folder / name).write_bytes(data)
            total += len(data)
        report = ingest(
            app.uow_factory(),
            _Target(card.id, card.documento),
            [IncomingFile(name, data) for name, data in files],
            via="bench",
        )
        assert report.recusados == 0, report.refusals[:3]
    return total


def baseline(xml_root: Path, out: Path) -> tuple[float, int]:
    """zipfile over each client's folder in a plain loop; (seconds, bytes written)."""
    started = time.perf_counter()
    size = 0
    for folder in sorted(xml_root.iterdir()):
        target = out / f"{folder.name}.zip"
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(folder.iterdir()):
                archive.write(path, f"{folder.name}/{path.name}")
        size += target.stat().st_size
    return time.perf_counter() - started, size


def ours(app: App) -> tuple[float, int, int]:
    """The sweep and its jobs; (seconds, packages built, bytes of packages)."""
    options = PacoteOptions(files=app.files)
    started = time.perf_counter()
    swept = pacote.sweep_pacote(app.uow_factory, now=SWEEP_AT, dia=1)
    JobRunner(app.uow_factory, pacote.kinds(options)).run_now(swept.job_ids)
    elapsed = time.perf_counter() - started
    uow = app.uow_factory()
    with uow:
        rows = [uow.pacotes.get(pacote_id) for pacote_id in _package_ids(app)]
    built = [row for row in rows if row is not None and row.status == "pronto"]
    assert len(built) == swept.queued, (len(built), swept.queued)
    return elapsed, len(built), sum(row.file_size or 0 for row in built)


def _package_ids(app: App) -> list[int]:
    from sqlalchemy import select

    from storage.models_pacote import Pacote

    uow = app.uow_factory()
    with uow:
        return list(uow.session.scalars(select(Pacote.id).order_by(Pacote.id)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--notes", type=int, default=500)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, in seconds")
    args = parser.parse_args(argv)
    if args.smoke:
        args.clients, args.notes = 2, 20
    print(f"Pacote do mês: {args.clients:,} clients × {args.notes:,} NF-e (October 2026)")
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        settings = Settings(
            environment="test",
            database_url=f"sqlite:///{work / 'pacote.db'}",
            file_store_url=str(work / "files"),
            _env_file=None,
        )
        app = build_app(settings)
        app.migrate()
        began = time.perf_counter()
        xml_bytes = prepare(app, args.clients, args.notes, work / "xml")
        print(
            f"  stored {args.clients * args.notes:,} notes ({xml_bytes / MB:,.1f} MB of XML) "
            f"in {time.perf_counter() - began:.1f} s",
            flush=True,
        )
        (work / "zips").mkdir()
        base_s, base_size = baseline(work / "xml", work / "zips")
        print(
            f"  baseline, zipfile in a plain loop: {base_s:.2f} s, "
            f"{args.clients / base_s:,.1f} packages/s, {xml_bytes / MB / base_s:,.1f} MB/s "
            f"({base_size / MB:,.1f} MB of ZIPs; the XMLs only)",
            flush=True,
        )
        our_s, built, our_size = ours(app)
        print(
            f"  ours, the pacote sweep and its jobs: {our_s:.2f} s, "
            f"{built / our_s:,.1f} packages/s, {xml_bytes / MB / our_s:,.1f} MB/s "
            f"({our_size / MB:,.1f} MB of packages; XMLs + report PDF/XLSX + resumo.txt), "
            f"{our_s / base_s:.1f}× the baseline's time",
            flush=True,
        )
        app.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
