"""The per-client columns behind the Pendências counts (client.ultima_emissao and
client.certificado_ate, kept by database triggers) stay right through every path that adds or
removes a note or a certificate, the migration fills them from what is stored, and the list
built on them answers exactly what the queries over the notes and certificates answered."""

from __future__ import annotations

import threading
import time as time_module
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import delete, exists, select, text

from domain.pendencias import Kind, PendenciaOptions
from services import pendencias
from services.fiscal_ingest import IncomingFile, ingest
from services.reminders import SAO_PAULO
from services.types import UnitOfWorkFactory
from storage.db import make_engine
from storage.migrations import alembic_config
from storage.models import Client
from storage.models_config import Certificate
from storage.models_fiscal import FiscalDocument
from storage.pendencias import ACTIVE_STATUSES, Window
from storage.purge import purge_gestor
from tests.integration.fiscal_support import client_with_documento
from tests.integration.pendencias_support import (
    TODAY,
    note,
    put_note,
    seed_each_kind,
    set_status,
    sp,
)
from tests.integration.reminder_support import put_certificate
from tests.support import Office, add_client, make_office
from tests.unit.fiscal_chat.factory import EMITENTE_CNPJ, NotaSpec, nfe_proc_xml


def columns(uow_factory: UnitOfWorkFactory, client_id: int) -> tuple[str | None, Any]:
    uow = uow_factory()
    with uow:
        row = uow.session.execute(
            select(Client.ultima_emissao, Client.certificado_ate).where(Client.id == client_id)
        ).one()
        return row[0], row[1]


def test_an_imported_note_moves_the_clients_latest_month_forward_never_back(
    uow_factory: UnitOfWorkFactory,
) -> None:
    office = make_office(uow_factory, 1)
    client = client_with_documento(uow_factory, office.gestor, EMITENTE_CNPJ, "Acme Ltda")
    assert columns(uow_factory, client.id)[0] is None

    def imported(numero: int, day: date) -> None:
        spec = NotaSpec(numero=numero, dh_emi=datetime.combine(day, time(10), SAO_PAULO))
        result = ingest(
            uow_factory(),
            _Target(client.id, EMITENTE_CNPJ),
            [IncomingFile(f"{numero}.xml", nfe_proc_xml(spec))],
            via="test",
        )
        assert result.carregados == 1

    imported(1, date(2026, 2, 10))
    assert columns(uow_factory, client.id)[0] == "2026-02"
    imported(2, date(2026, 3, 2))
    assert columns(uow_factory, client.id)[0] == "2026-03"
    imported(3, date(2026, 1, 20))  # a late upload of an older month
    assert columns(uow_factory, client.id)[0] == "2026-03"


def test_supplier_notes_do_not_count_as_issued(uow_factory: UnitOfWorkFactory) -> None:
    office = make_office(uow_factory, 1)
    client = add_client(uow_factory, office.gestor, 1)
    put_note(uow_factory, client.id, date(2026, 2, 10))
    uow = uow_factory()
    with uow:
        uow.session.execute(
            text(
                "INSERT INTO fiscal_document (client_id, tipo, modelo, chave, serie, numero, "
                "emitida_em, emitida_offset_min, competencia, emitente_documento, valor, "
                "situacao, recebida_em, recebida_via, xml_crc32, xml_size, xml_deflate, resumo) "
                "VALUES (:c, 'fornecedor', '55', :chave, 1, 1, :at, -180, '2026-03', "
                "'11222333000181', 1, 'autorizada', :at, 'test', 0, 0, :blob, false)"
            ),
            {"c": client.id, "chave": "9" * 44, "at": sp(TODAY), "blob": b""},
        )
        uow.commit()

    assert columns(uow_factory, client.id)[0] == "2026-02"


def test_deleting_notes_falls_back_to_the_latest_month_left(
    uow_factory: UnitOfWorkFactory,
) -> None:
    office = make_office(uow_factory, 1)
    client = add_client(uow_factory, office.gestor, 1)
    put_note(uow_factory, client.id, date(2026, 1, 10))
    put_note(uow_factory, client.id, date(2026, 3, 10))
    uow = uow_factory()
    with uow:
        uow.session.execute(delete(FiscalDocument).where(FiscalDocument.competencia == "2026-03"))
        uow.commit()
    assert columns(uow_factory, client.id)[0] == "2026-01"

    uow = uow_factory()
    with uow:
        uow.session.execute(delete(FiscalDocument))
        uow.commit()
    assert columns(uow_factory, client.id)[0] is None


def test_the_certificate_column_follows_upload_replacement_and_removal(
    uow_factory: UnitOfWorkFactory,
) -> None:
    office = make_office(uow_factory, 1)
    client = add_client(uow_factory, office.gestor, 1)
    put_certificate(uow_factory, client.id, date(2026, 4, 1))
    first = columns(uow_factory, client.id)[1]
    assert first is not None
    assert first.astimezone(SAO_PAULO).date() == date(2026, 4, 1)

    put_certificate(uow_factory, client.id, date(2027, 4, 1))  # replaced (delete + insert)
    assert columns(uow_factory, client.id)[1].astimezone(SAO_PAULO).date() == date(2027, 4, 1)

    uow = uow_factory()
    with uow:
        uow.session.execute(
            text("UPDATE certificate SET not_after = :at WHERE client_id = :c"),
            {"at": sp(date(2026, 5, 5)), "c": client.id},
        )
        uow.commit()
    assert columns(uow_factory, client.id)[1].astimezone(SAO_PAULO).date() == date(2026, 5, 5)

    uow = uow_factory()
    with uow:
        uow.session.execute(delete(Certificate).where(Certificate.client_id == client.id))
        uow.commit()
    assert columns(uow_factory, client.id)[1] is None


def test_purging_an_office_with_notes_and_certificates_goes_through_the_triggers(
    uow_factory: UnitOfWorkFactory,
) -> None:
    office, other = make_office(uow_factory, 1), make_office(uow_factory, 2)
    gone = add_client(uow_factory, office.gestor, 1)
    kept = add_client(uow_factory, other.gestor, 2)
    for client_id in (gone.id, kept.id):
        put_note(uow_factory, client_id, date(2026, 2, 10))
        put_certificate(uow_factory, client_id, date(2026, 4, 1))
    uow = uow_factory()
    with uow:
        purge_gestor(uow.session, office.gestor.gestor_id)
        uow.commit()

    uow = uow_factory()
    with uow:
        assert uow.session.get(Client, gone.id) is None
    assert columns(uow_factory, kept.id)[0] == "2026-02"
    assert columns(uow_factory, kept.id)[1] is not None


# -- writers of one client's notes at the same time ------------------------------------------


def _together(*work: Callable[[], None]) -> None:
    """Run each callable in its own thread, all released together; re-raise any failure."""
    start = threading.Barrier(len(work))
    errors: list[BaseException] = []

    def run(job: Callable[[], None]) -> None:
        start.wait()
        try:
            job()
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(job,)) for job in work]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors


def _insert(
    uow_factory: UnitOfWorkFactory, client_id: int, day: date, hold: float, wait: float = 0
) -> None:
    """After `wait` seconds store a note, then keep the transaction open `hold` seconds."""
    time_module.sleep(wait)
    uow = uow_factory()
    with uow:
        uow.session.add(note(client_id, day))
        uow.session.flush()
        time_module.sleep(hold)
        uow.commit()


def _delete_month(
    uow_factory: UnitOfWorkFactory, client_id: int, competencia: str, hold: float, wait: float
) -> None:
    time_module.sleep(wait)
    uow = uow_factory()
    with uow:
        uow.session.execute(
            delete(FiscalDocument).where(
                FiscalDocument.client_id == client_id, FiscalDocument.competencia == competencia
            )
        )
        time_module.sleep(hold)
        uow.commit()


def test_notes_of_several_months_stored_at_once_leave_the_latest(
    uow_factory: UnitOfWorkFactory,
) -> None:
    office = make_office(uow_factory, 1)
    client = add_client(uow_factory, office.gestor, 1)
    months = [date(2026, 1, 9), date(2026, 3, 9), date(2026, 2, 9)]

    _together(*(partial(_insert, uow_factory, client.id, day, 0.15) for day in months))

    assert columns(uow_factory, client.id)[0] == "2026-03"


@pytest.mark.parametrize("first", ["delete", "insert"])
def test_a_note_stored_while_the_latest_month_is_deleted_is_not_lost(
    uow_factory: UnitOfWorkFactory, first: str
) -> None:
    """Whichever writes first, the other one's transaction is still open when the second
    writes: the deleted month's replacement is computed with the note stored meanwhile."""
    office = make_office(uow_factory, 1)
    client = add_client(uow_factory, office.gestor, 1)
    put_note(uow_factory, client.id, date(2026, 1, 9))
    put_note(uow_factory, client.id, date(2026, 4, 9))
    wait_delete, wait_insert = (0.0, 0.15) if first == "delete" else (0.15, 0.0)

    _together(
        partial(_delete_month, uow_factory, client.id, "2026-04", 0.4, wait_delete),
        partial(_insert, uow_factory, client.id, date(2026, 3, 9), 0.4, wait_insert),
    )

    assert columns(uow_factory, client.id)[0] == "2026-03"


# -- the same answers as the queries over the notes and certificates -------------------------


def _old_certificados(uow_factory: UnitOfWorkFactory, gestor_id: int, w: Window) -> list[Any]:
    """The list's certificates as computed before migration 0018 (a join on certificate)."""
    uow = uow_factory()
    with uow:
        return [
            tuple(row)
            for row in uow.session.execute(
                select(Client.id, Certificate.fingerprint, Certificate.not_after)
                .join(Client, Client.id == Certificate.client_id)
                .where(
                    Client.gestor_id == gestor_id,
                    Client.status.in_(ACTIVE_STATUSES),
                    Certificate.not_after < w.cert_horizon,
                )
                .order_by(Certificate.not_after, Client.id)
            )
        ]


def _old_sem_notas(uow_factory: UnitOfWorkFactory, gestor_id: int, w: Window) -> list[int]:
    """Clients that issued in the month before and nothing in the month checked, from the
    notes themselves (as computed before migration 0018)."""

    def emitted(competencia: str) -> Any:
        return exists().where(
            FiscalDocument.client_id == Client.id,
            FiscalDocument.tipo == "emitida",
            FiscalDocument.competencia == competencia,
        )

    uow = uow_factory()
    with uow:
        return list(
            uow.session.scalars(
                select(Client.id)
                .where(
                    Client.gestor_id == gestor_id,
                    Client.status.in_(ACTIVE_STATUSES),
                    emitted(w.competencia_anterior),
                    ~emitted(w.competencia),
                )
                .order_by(Client.razao_social, Client.id)
            )
        )


def _busy_office(uow_factory: UnitOfWorkFactory, office: Office, base: int) -> None:
    """Every kind once (seed_each_kind), and around it the cases the columns must get right."""
    seed_each_kind(uow_factory, office, base=base)
    gestor = office.gestor

    def client(n: int, status: str = "efetivado") -> int:
        card = add_client(uow_factory, gestor, base + n, name=f"Cliente {n:02d} Ltda")
        set_status(uow_factory, card.id, status, sp(TODAY - timedelta(days=60)))
        return card.id

    february, march, january = date(2026, 2, 20), date(2026, 3, 3), date(2026, 1, 15)
    for n, months in enumerate(
        [(february,), (february, march), (january,), (january, march), (february, february)],
        start=20,
    ):
        client_id = client(n)
        for day in months:
            put_note(uow_factory, client_id, day)
    cancelled = client(30, "cancelado")
    put_note(uow_factory, cancelled, february)
    put_certificate(uow_factory, cancelled, TODAY - timedelta(days=1))
    blocked = client(31, "bloqueado")
    put_certificate(uow_factory, blocked, TODAY + timedelta(days=2))
    for n, days in enumerate((-40, 0, 1, 29, 30, 31, 90), start=40):
        put_certificate(uow_factory, client(n), TODAY + timedelta(days=days))
    replaced = client(50)
    put_certificate(uow_factory, replaced, TODAY + timedelta(days=5))
    put_certificate(uow_factory, replaced, TODAY + timedelta(days=300), tag="new")


def test_the_list_answers_what_the_queries_over_notes_and_certificates_answered(
    uow_factory: UnitOfWorkFactory,
) -> None:
    office, other = make_office(uow_factory, 1), make_office(uow_factory, 2)
    _busy_office(uow_factory, office, 0)
    _busy_office(uow_factory, other, 100)
    gestor_id = office.gestor.gestor_id
    for day in (TODAY, date(2026, 3, 5), date(2026, 3, 31)):
        w = pendencias.window(sp(day), PendenciaOptions())
        uow = uow_factory()
        with uow:
            certs = uow.pendencias.items(Kind.CERTIFICADO, gestor_id, w, limit=None)
            silent = uow.pendencias.items(Kind.SEM_NOTAS, gestor_id, w, limit=None)
            cert_group = uow.pendencias.group(Kind.CERTIFICADO, gestor_id, w)
            silent_group = uow.pendencias.group(Kind.SEM_NOTAS, gestor_id, w)

        old_certs = _old_certificados(uow_factory, gestor_id, w)
        assert [(r.client_id, r.detail, r.due) for r in certs] == old_certs
        assert cert_group.count == len(old_certs) >= 5
        assert cert_group.overdue == sum(1 for *_, ends in old_certs if ends < w.now)
        assert cert_group.first_due == old_certs[0][2]
        old_silent = _old_sem_notas(uow_factory, gestor_id, w)
        assert [r.client_id for r in silent] == old_silent
        assert silent_group.count == len(old_silent) >= 3


# -- the first days of a month ----------------------------------------------------------------


def test_before_the_grace_day_the_previous_month_is_the_one_checked(
    uow_factory: UnitOfWorkFactory,
) -> None:
    """On the 1st most clients have not issued yet: listing every client that issued last
    month would bury the real ones. Until PENDENCIAS_SEM_EMISSAO_DIA the list keeps showing
    the clients silent for the whole previous month; from that day, this month's."""
    office = make_office(uow_factory, 1)
    names = {"feb": "A Emitiu Fevereiro", "jan": "B Parou em Janeiro", "back": "C Voltou"}
    ids = {}
    for n, (key, name) in enumerate(names.items(), start=1):
        ids[key] = add_client(uow_factory, office.gestor, n, name=name).id
        set_status(uow_factory, ids[key], "efetivado", None)
    put_note(uow_factory, ids["feb"], date(2026, 2, 27))
    put_note(uow_factory, ids["jan"], date(2026, 1, 27))
    put_note(uow_factory, ids["back"], date(2026, 1, 27))
    put_note(uow_factory, ids["back"], date(2026, 3, 2))

    def silent(day: date, grace: int = 5) -> list[tuple[int, str | None]]:
        page = pendencias.list_page(
            uow_factory(),
            office.gestor,
            page_size=50,
            now=sp(day),
            options=PendenciaOptions(sem_emissao_dia=grace),
        )
        return [(i.client_id or 0, i.detail) for i in page.items if i.kind is Kind.SEM_NOTAS]

    assert silent(date(2026, 3, 1)) == [(ids["jan"], "2026-02")]
    assert silent(date(2026, 3, 4)) == [(ids["jan"], "2026-02")]
    assert silent(date(2026, 3, 5)) == [(ids["feb"], "2026-03")]
    assert silent(date(2026, 3, 1), grace=1) == [(ids["feb"], "2026-03")]
    assert silent(date(2026, 3, 2), grace=3) == [(ids["jan"], "2026-02")]


def test_the_grace_day_comes_from_the_settings() -> None:
    from bot.scheduler import pendencia_options
    from bot.settings import Settings

    settings = Settings(environment="test", pendencias_sem_emissao_dia=8, _env_file=None)
    assert pendencia_options(settings).sem_emissao_dia == 8


# -- the migration fills the columns from what is stored -------------------------------------


def test_the_migration_fills_both_columns_from_the_stored_notes_and_certificates(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    config = alembic_config(engine)
    command.upgrade(config, "0017")
    at = datetime(2026, 3, 10, 15, tzinfo=UTC).replace(tzinfo=None)  # as SQLite stores it
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO gestor (id, cnpj, razao_social, created_at) "
                "VALUES (1, '11222333000181', 'E', :at)"
            ),
            {"at": at},
        )
        software_id, plan_id = connection.execute(
            text("SELECT software_id, id FROM plan LIMIT 1")
        ).one()
        for n in (1, 2, 3):
            connection.execute(
                text(
                    "INSERT INTO client (id, gestor_id, documento, razao_social, busca, email,"
                    " telefone, cep, endereco, cidade, uf, software_id, plan_id, status, payer,"
                    " created_via, created_at, updated_at) VALUES (:n, 1, :doc, 'C', 'c',"
                    " 'c@e.com', '1', '1', 'e', 'c', 'SP', :s, :p, 'efetivado', 'gestor',"
                    " 'test', :at, :at)"
                ),
                {"n": n, "doc": f"{n:014d}", "s": software_id, "p": plan_id, "at": at},
            )
        for n, (client_id, tipo, competencia) in enumerate(
            [(1, "emitida", "2026-01"), (1, "emitida", "2026-02"), (2, "fornecedor", "2026-02")]
        ):
            connection.execute(
                text(
                    "INSERT INTO fiscal_document (client_id, tipo, modelo, chave, serie, numero,"
                    " emitida_em, emitida_offset_min, competencia, emitente_documento, valor,"
                    " situacao, recebida_em, recebida_via, xml_crc32, xml_size, xml_deflate,"
                    " resumo) VALUES (:c, :tipo, '55', :chave, 1, 1, :at, -180, :comp, '1',"
                    " 1, 'autorizada', :at, 'test', 0, 0, x'', 0)"
                ),
                {
                    "c": client_id,
                    "tipo": tipo,
                    "chave": f"{n:044d}",
                    "comp": competencia,
                    "at": at,
                },
            )
        connection.execute(
            text(
                "INSERT INTO certificate (client_id, subject_cn, holder_name, issuer_cn, serial,"
                " fingerprint, not_before, not_after, pfx_encrypted, password_encrypted,"
                " uploaded_at, uploaded_by) VALUES (2, 'S', 'H', 'I', '1', 'f', :at, :at,"
                " x'00', x'00', :at, 't')"
            ),
            {"at": at},
        )
    command.upgrade(config, "0018")
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT id, ultima_emissao, certificado_ate FROM client ORDER BY id")
        ).all()
    engine.dispose()
    assert [(r[0], r[1], r[2] is not None) for r in rows] == [
        (1, "2026-02", False),
        (2, None, True),
        (3, None, False),
    ]


class _Target:
    def __init__(self, client_id: int, documento: str) -> None:
        self.client_id = client_id
        self.documento = documento
