"""Benchmark: the Pendências list of an office with 90,000 clients over 1 M notes.

    .venv/bin/python benchmarks/pendencias.py [--clients 100000] [--notes 1000000]
        [--backend sqlite|postgresql|both] [--pg-url URL] [--runs 7] [--smoke]

Fills a throwaway database (PostgreSQL: a new database on the TEST_DATABASE_URL / --pg-url
server; SQLite: a temporary file) with two offices sharing N clients (9 in 10 in the one
measured), a certificate for 9 clients in 10 (last day spread from 60 days ago to a year
ahead), contract statuses (1 in 10 in Teste, since up to 60 days), faturas and links, and the
notes: one per client and month, over as many months as notes/clients (a tenth of the clients
only receive supplier notes; 1 in 20 issued last month and not this month).

Then, in the same run:
1. baseline: the first page and the menu's count with the indexes of migrations 0016, 0018
   and 0020 dropped (the notes and certificates go through 0018's triggers as any insert does);
2. reference: the first page of Clientes (the screen next to it) on the same data;
3. with the indexes: EXPLAIN ANALYZE (SQLite: EXPLAIN QUERY PLAN) of every query the list
   runs (the menu's count and the groups, one statement each; per kind, the page), the first
   page and the count (p50 of --runs), and the daily digest over the office (first run, and
   the steady state).
`--smoke`: 2,000 clients and 20,000 notes, SQLite, and PostgreSQL when it answers.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from datetime import time as day_time
from pathlib import Path
from typing import Any

from _support import pg_reachable, throwaway_database
from sqlalchemy import Engine, insert, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from domain.billing import Competencia
from domain.clients import Role
from domain.pendencias import PendenciaOptions
from services import clients as clients_service
from services import pendencias
from services.pendencias import window
from services.principal import Principal
from services.reminders import SAO_PAULO, ReminderOptions
from storage.db import make_engine, make_session_factory
from storage.migrations import upgrade
from storage.models import Client, Gestor, Plan, Software, UserIdentity
from storage.models_billing import Fatura
from storage.models_config import Certificate
from storage.models_links import ContractingLink
from storage.uow import UnitOfWorkFactory

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
CHUNK = 10_000
PAGE_SIZE = 7
# The silent clients the data holds are this month's: checked whatever today's day of the month.
OPTIONS = PendenciaOptions(sem_emissao_dia=1)
INDEXES = {  # migrations 0016's, 0018's and 0020's, as the baseline drops and then rebuilds them
    "ix_client_gestor_status": (
        "CREATE INDEX ix_client_gestor_status ON client (gestor_id, status, id)"
    ),
    "ix_fiscal_document_emitida_competencia": (
        "CREATE INDEX ix_fiscal_document_emitida_competencia ON fiscal_document "
        "(competencia, client_id) WHERE tipo = 'emitida'"
    ),
    "ix_client_gestor_emissao": (
        "CREATE INDEX ix_client_gestor_emissao ON client (gestor_id, ultima_emissao, status)"
    ),
    "ix_client_gestor_certificado": (
        "CREATE INDEX ix_client_gestor_certificado ON client (gestor_id, certificado_ate, status)"
    ),
    "ix_client_gestor_teste": (  # migration 0020's
        "CREATE INDEX ix_client_gestor_teste ON client (gestor_id, status,"
        " coalesce(status_since, created_at), status_since, created_at)"
    ),
}


def _gestores(engine: Engine, now: datetime) -> tuple[int, int]:
    with engine.begin() as connection:
        connection.execute(
            insert(Gestor),
            [
                {
                    "cnpj": f"1122233300{n:04d}",
                    "razao_social": f"Escritório {n}",
                    "created_at": now,
                }
                for n in (1, 2)
            ],
        )
        measured, other = connection.scalars(select(Gestor.id).order_by(Gestor.id)).all()
        connection.execute(
            insert(UserIdentity),
            [
                {
                    "key": "bench:gestor",
                    "channel": "bench",
                    "address": "gestor",
                    "gestor_id": measured,
                    "role": "gestor",
                    "active": True,
                    "attributes": {},
                    "created_at": now,
                }
            ],
        )
    return measured, other


def populate(engine: Engine, clients: int, notes: int, now: datetime) -> tuple[int, int]:
    """The two offices and everything the list reads; (measured gestor, identity) ids."""
    rng = random.Random(15)
    measured, other = _gestores(engine, now)
    with engine.begin() as connection:
        software_id, plan_id = connection.execute(
            select(Software.id, Plan.id).join(Plan, Plan.software_id == Software.id).limit(1)
        ).one()
    for start in range(0, clients, CHUNK):
        client_rows, cert_rows = [], []
        for n in range(start + 1, min(start + CHUNK, clients) + 1):
            status = "teste" if n % 10 == 3 else ("cancelado" if n % 50 == 7 else "efetivado")
            client_rows.append(
                {
                    "id": n,
                    "gestor_id": other if n % 10 == 0 else measured,
                    "documento": f"{n:014d}",
                    "razao_social": f"Cliente {n:06d} Ltda",
                    "busca": f"cliente {n:06d} ltda",
                    "email": f"cliente{n}@example.com",
                    "telefone": "11987654321",
                    "cep": "01310100",
                    "endereco": "Av. Paulista, 1000",
                    "cidade": "São Paulo",
                    "uf": "SP",
                    "software_id": software_id,
                    "plan_id": plan_id,
                    "status": status,
                    "payer": "gestor",
                    "created_via": "import",
                    "created_at": now - timedelta(days=400),
                    "updated_at": now,
                    "status_since": now - timedelta(days=rng.uniform(0, 60)),
                }
            )
            if n % 10 != 9:
                not_after = now + timedelta(days=rng.uniform(-60, 365))
                cert_rows.append(
                    {
                        "client_id": n,
                        "subject_cn": f"CLIENTE {n}",
                        "holder_name": f"CLIENTE {n}",
                        "issuer_cn": "AC Benchmark",
                        "serial": f"{n:x}",
                        "fingerprint": f"{n:064x}",
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
    _notes(engine, clients, notes, now)
    _faturas_and_links(engine, measured, software_id, plan_id, now)
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(
                text("SELECT setval('client_id_seq', (SELECT max(id) FROM client))")
            )
    settle(engine)
    return measured, other


def _notes(engine: Engine, clients: int, notes: int, now: datetime) -> None:
    """One note per client and month, server side (INSERT … SELECT over the clients)."""
    months = max(2, notes // clients)
    pad = (
        "lpad(CAST(c.id AS text), 20, '0') || lpad(CAST(:m AS text), 24, '0')"
        if engine.dialect.name == "postgresql"
        else "printf('%020d%024d', c.id, :m)"
    )
    month = Competencia.of(now.astimezone(SAO_PAULO).date())
    for m in range(months):
        day = datetime.combine(month.first_day, day_time(12), tzinfo=SAO_PAULO).astimezone(UTC)
        if engine.dialect.name == "sqlite":
            day = day.replace(tzinfo=None)  # as UTCDateTime stores it there
        skip = "AND c.id % 20 <> 5" if m == 0 else ""  # they stopped issuing this month
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO fiscal_document (client_id, tipo, modelo, chave, serie, numero, "  # noqa: S608 (constants only)
                    "emitida_em, emitida_offset_min, competencia, emitente_documento, valor, "
                    "situacao, recebida_em, recebida_via, xml_crc32, xml_size, xml_deflate) "
                    "SELECT c.id, CASE WHEN c.id % 10 = 1 THEN 'fornecedor' ELSE 'emitida' END, "
                    f"'55', {pad}, 1, :m + 1, :day, -180, :competencia, c.documento, 10.00, "
                    "'autorizada', :day, 'bench', 0, 0, :blob "
                    f"FROM client c WHERE 1 = 1 {skip}"
                ),
                {"m": m, "day": day, "competencia": str(month), "blob": b""},
            )
        month = month.previous()


def _faturas_and_links(
    engine: Engine, gestor_id: int, software_id: int, plan_id: int, now: datetime
) -> None:
    today = now.astimezone(SAO_PAULO).date()
    month = Competencia.of(today)
    faturas = []
    for n in range(12):
        month = month.previous()
        due = date(month.year, month.month, 10) + timedelta(days=31)
        faturas.append(
            {
                "gestor_id": gestor_id,
                "competencia": str(month),
                "total": 1000,
                "due_date": due,
                "status": "pendente" if n < 2 else "paga",
                "created_at": now,
            }
        )
    links = [
        {
            "token_hash": f"{n:064x}",
            "gestor_id": gestor_id,
            "software_id": software_id,
            "plan_id": plan_id,
            "payer": "gestor",
            "created_by": "benchmark",
            "created_at": now - timedelta(days=n % 20),
            "expires_at": now + timedelta(days=7 - n % 20),
            "opened_at": now - timedelta(days=n % 20) if n % 3 == 0 else None,
            "used_at": now if n % 6 == 0 else None,
        }
        for n in range(1000)
    ]
    with engine.begin() as connection:
        connection.execute(insert(Fatura), faturas)
        connection.execute(insert(ContractingLink), links)


def p50(run: Callable[[], object], runs: int) -> tuple[float, object]:
    samples, result = [], None
    for _ in range(runs):
        began = time.perf_counter()
        result = run()
        samples.append((time.perf_counter() - began) * 1000)
    return statistics.median(samples), result


def explain(engine: Engine, uows: UnitOfWorkFactory, gestor_id: int, now: datetime) -> None:
    w = window(now, OPTIONS)
    prefix = "EXPLAIN ANALYZE" if engine.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN"
    uow = uows()
    with uow:
        for title, statement in uow.pendencias.statements(gestor_id, w, PAGE_SIZE).items():
            compiled = statement.compile(engine, compile_kwargs={"render_postcompile": True})
            values = {key: _driver_value(engine, value) for key, value in compiled.params.items()}
            # sqlite3 takes positional parameters (qmark); psycopg a dict (pyformat).
            params: Any = (
                tuple(values[key] for key in compiled.positiontup)
                if compiled.positiontup
                else values
            )
            print(f"\n  {prefix} ({title}):")
            connection = uow.session.connection()
            rows = connection.exec_driver_sql(f"{prefix} {compiled}", params).all()
            for row in rows:
                print(f"    {row[-1] if engine.dialect.name == 'sqlite' else row[0]}")


def _driver_value(engine: Engine, value: Any) -> Any:
    """A bound value as the driver takes it (UTCDateTime stores naive UTC on SQLite)."""
    if isinstance(value, datetime) and engine.dialect.name == "sqlite":
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def set_indexes(engine: Engine, present: bool) -> None:
    with engine.begin() as connection:
        for name, create in INDEXES.items():
            connection.execute(text(f"DROP INDEX IF EXISTS {name}"))
            if present:
                connection.execute(text(create))
    settle(engine)


def settle(engine: Engine) -> None:
    """What autovacuum does to a loaded table: statistics, and (PostgreSQL) the visibility map
    that lets index-only scans skip the heap."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
    else:
        with engine.begin() as connection:
            connection.execute(text("ANALYZE"))


def run(label: str, url: str, clients: int, notes: int, runs: int) -> None:
    engine = make_engine(url)
    upgrade(engine)
    now = datetime.now(UTC)
    began = time.perf_counter()
    gestor_id, _ = populate(engine, clients, notes, now)
    print(
        f"{label}: populated {clients:,} clients, {notes:,} notes in "
        f"{time.perf_counter() - began:.1f} s",
        flush=True,
    )
    uows = UnitOfWorkFactory(make_session_factory(engine))
    gestor = Principal(1, "bench:gestor", gestor_id, "Escritório 1", role=Role.GESTOR)

    def first_page() -> pendencias.PendenciaPage:
        return pendencias.list_page(
            uows(), gestor, page=1, page_size=PAGE_SIZE, now=now, options=OPTIONS
        )

    def count() -> int:
        return pendencias.count(uows(), gestor, now=now, options=OPTIONS)

    set_indexes(engine, present=False)
    base_page, _ = p50(first_page, runs)
    base_count, _ = p50(count, runs)
    print(
        f"{label}: baseline (without the 0016/0018/0020 indexes): first page p50 "
        f"{base_page:.1f} ms, menu count p50 {base_count:.1f} ms",
        flush=True,
    )
    reference, _ = p50(
        lambda: clients_service.list_clients(uows(), gestor, query=None, page=1, page_size=8),
        runs,
    )
    print(f"{label}: reference: Clientes first page p50 {reference:.1f} ms", flush=True)
    set_indexes(engine, present=True)
    explain(engine, uows, gestor_id, now)
    page_ms, page = p50(first_page, runs)
    count_ms, _ = p50(count, runs)
    assert isinstance(page, pendencias.PendenciaPage)
    groups = ", ".join(f"{g.kind.value} {g.count:,}" for g in page.groups)
    print(
        f"\n{label}: first page p50 {page_ms:.1f} ms ({page.total:,} pendências, "
        f"{page.pages:,} pages; {groups})\n{label}: menu count p50 {count_ms:.1f} ms",
        flush=True,
    )
    timings = []
    for _ in range(2):
        began = time.perf_counter()
        result = pendencias.sweep_digest(
            uows, now=now, options=ReminderOptions(pendencias=OPTIONS)
        )
        timings.append(((time.perf_counter() - began) * 1000, result.reminders))
    (first_ms, told), (second_ms, _) = timings
    print(
        f"{label}: digest sweep: first {first_ms:.0f} ms ({told:,} items recorded), "
        f"steady state {second_ms:.0f} ms",
        flush=True,
    )
    engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--notes", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument(
        "--backend", choices=["sqlite", "postgresql", "both"], default="postgresql"
    )
    parser.add_argument("--pg-url", default=os.environ.get("TEST_DATABASE_URL", DEFAULT_PG))
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, in seconds")
    args = parser.parse_args(argv)
    if args.smoke:
        args.clients, args.notes, args.runs, args.backend = 2_000, 20_000, 3, "both"
    print(f"Pendências over {args.clients:,} clients and {args.notes:,} notes")
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as folder:
            run(
                "sqlite",
                f"sqlite:///{Path(folder) / 'pendencias.db'}",
                args.clients,
                args.notes,
                args.runs,
            )
    if args.backend in ("postgresql", "both"):
        if not pg_reachable(args.pg_url):
            print("postgresql: not reachable, skipped")
        else:
            with throwaway_database(args.pg_url, "revendabot_pendencias") as url:
                run("postgresql", url, args.clients, args.notes, args.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
