"""Durable jobs (services/jobs.py): the request is written with its step, any worker builds
it, a job whose worker died is taken over after its lease and sends only what was not sent,
pressing twice builds once, a worker that stops gives its job back, and two workers never
take the same job — on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import IO

import pytest
import time_machine
from click.testing import CliRunner
from sqlalchemy import update

from bot.app import App, build_app, build_runtime
from bot.cli import main as cli
from bot.jobs import default_workers
from bot.settings import Settings
from handlers import texts
from services import access, fiscal_exports, jobs
from services.clients import ClientCard
from services.files import FileRef
from services.fiscal_exports import danfe
from services.jobs import Finished, JobKind, JobRequest, JobRunner, RunningJob
from services.messages import Document, Text
from services.prepare_pool import PreparePool
from services.types import UnitOfWorkFactory
from storage.models_jobs import Job
from tests.support import Chat, add_client, make_office
from tests.unit.fiscal_chat.chat_support import (
    NOW,
    limit_uploads,
    open_gerenciar,
    store_emitted,
    unzip,
)

XML_ZIP = fiscal_exports.XML_ZIP


class Killed(BaseException):
    """Stands for the process dying: no `except Exception` of the job catches it."""


@pytest.fixture(autouse=True)
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(NOW, tick=True) as traveller:
        yield traveller


@pytest.fixture
def acme(uow_factory: UnitOfWorkFactory, chat: Chat) -> ClientCard:
    office = make_office(uow_factory, 1, identity_key=chat.identity_key)
    return add_client(uow_factory, office.gestor, 1, name="ACME Comércio Ltda")


@pytest.fixture
def held(app: App, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The ids of the jobs the steps queued, left for a worker (as `serve` does)."""
    ids: list[int] = []
    monkeypatch.setattr(app.conversation, "run_jobs", ids.extend)
    return ids


def runner(app: App) -> JobRunner:
    assert app.jobs is not None
    return app.jobs


def ask_for_the_zip(chat: Chat) -> None:
    open_gerenciar(chat, "ACME Comércio Ltda")
    chat.press(texts.XMLS_EMITIDOS)
    chat.press(texts.MES_ANTERIOR)
    chat.press(texts.NFE)


def sent_documents(chat: Chat) -> list[Document]:
    """The documents the jobs put in the outbox since the last look."""
    return [m for m in chat.drain() if isinstance(m, Document)]


def job_rows(uow_factory: UnitOfWorkFactory) -> list[Job]:
    """The jobs people asked for (not the DANFEs printed ahead after each ingest)."""
    with uow_factory() as uow:
        asked = uow.session.query(Job).filter(Job.identity_key.is_not(None)).order_by(Job.id)
        rows = list(uow.session.scalars(asked.statement))
        uow.session.expunge_all()
        return rows


def test_the_request_is_written_with_the_step_and_a_worker_builds_it(
    app: App, chat: Chat, acme: ClientCard, uow_factory: UnitOfWorkFactory, held: list[int]
) -> None:
    specs = store_emitted(uow_factory, acme, 4)
    ask_for_the_zip(chat)

    assert chat.documents() == []  # the step answered; nothing built yet
    [row] = job_rows(uow_factory)
    assert (row.id, row.kind, row.status) == (held[0], XML_ZIP, "pending")

    assert runner(app).run_next() == Finished(XML_ZIP, "done")

    [document] = sent_documents(chat)
    assert set(unzip(document)) == {f"{s.chave()}-nfe.xml" for s in specs}
    assert chat.last_text().text.startswith("📦 XMLs emitidos de ACME Comércio Ltda")
    [row] = job_rows(uow_factory)
    assert (row.status, row.attempts) == ("done", 1)
    assert runner(app).run_next() is None


def test_asking_again_while_the_zip_is_being_prepared_builds_it_once(
    app: App, chat: Chat, acme: ClientCard, uow_factory: UnitOfWorkFactory, held: list[int]
) -> None:
    store_emitted(uow_factory, acme, 3)
    ask_for_the_zip(chat)

    ask_for_the_zip(chat)  # the whole way again, while the first waits

    assert chat.last_text().text.startswith(f"⚠️ {jobs.JobAlreadyQueued.message}")
    assert len(job_rows(uow_factory)) == 1
    assert runner(app).run_next() == Finished(XML_ZIP, "done")
    assert len(sent_documents(chat)) == 1

    ask_for_the_zip(chat)  # once it is done, asking again builds it again
    assert runner(app).run_next() == Finished(XML_ZIP, "done")
    assert len(sent_documents(chat)) == 1
    assert [row.status for row in job_rows(uow_factory)] == ["done", "done"]


def test_a_job_whose_worker_died_is_taken_over_after_the_lease_and_sends_each_part_once(
    app: App,
    chat: Chat,
    acme: ClientCard,
    uow_factory: UnitOfWorkFactory,
    held: list[int],
    monkeypatch: pytest.MonkeyPatch,
    clock: time_machine.Traveller,
) -> None:
    specs = store_emitted(uow_factory, acme, 12)
    limit_uploads(chat, 12_000, monkeypatch)
    ask_for_the_zip(chat)
    real_put = app.files.put
    puts = []

    def dies_on_the_second_part(data: bytes | IO[bytes]) -> FileRef:
        puts.append(1)
        if len(puts) == 2:
            raise Killed()
        return real_put(data)

    monkeypatch.setattr(app.files, "put", dies_on_the_second_part)
    with pytest.raises(Killed):
        runner(app).run_next()
    first = sent_documents(chat)
    [row] = job_rows(uow_factory)
    assert (row.status, row.checkpoint, len(first)) == ("running", {"parts": 1}, 1)

    monkeypatch.setattr(app.files, "put", real_put)
    assert runner(app).run_next() is None  # its lease still holds
    clock.shift(runner(app).lease + timedelta(seconds=1))
    assert runner(app).run_next() == Finished(XML_ZIP, "done")

    documents = first + sent_documents(chat)
    names = [d.name for d in documents]
    assert len(names) >= 3
    assert names == [
        f"ACME-Comercio-Ltda_2026-10_NFe.part{n}.zip" for n in range(1, len(names) + 1)
    ]
    members: list[str] = []
    for document in documents:
        members += unzip(document)
    assert sorted(members) == sorted(f"{s.chave()}-nfe.xml" for s in specs)
    [row] = job_rows(uow_factory)
    assert (row.status, row.attempts) == ("done", 2)
    assert chat.last_text().text.startswith("📦 XMLs emitidos de ACME Comércio Ltda")


def test_a_job_no_worker_could_finish_gives_up_and_says_so(
    app: App, chat: Chat, acme: ClientCard, uow_factory: UnitOfWorkFactory, held: list[int]
) -> None:
    store_emitted(uow_factory, acme, 2)
    ask_for_the_zip(chat)
    chat.drain()
    long_ago = datetime.now(UTC) - timedelta(hours=1)
    with uow_factory() as uow:  # taken three times by workers that died
        uow.session.execute(
            update(Job).values(status="running", attempts=jobs.MAX_ATTEMPTS, claimed_at=long_ago)
        )
        uow.commit()

    assert runner(app).run_next() == Finished(XML_ZIP, "failed")

    fresh = chat.drain()
    assert not any(isinstance(m, Document) for m in fresh)
    texts_sent = [m.text for m in fresh if isinstance(m, Text)]
    assert any(t.startswith("⚠️ Não consegui gerar o arquivo.") for t in texts_sent)
    assert texts_sent[-1].startswith("📦 XMLs emitidos de ACME Comércio Ltda")  # go on from here
    [row] = job_rows(uow_factory)
    assert row.status == "failed"


def test_a_worker_that_lost_its_lease_can_no_longer_write(
    app: App, acme: ClientCard, uow_factory: UnitOfWorkFactory, clock: time_machine.Traveller
) -> None:
    request = JobRequest("test.nothing", "test:ana", ("a",), {})
    with uow_factory() as uow:
        job_id = jobs.queue(uow, request, datetime.now(UTC))
        uow.commit()
    lease = timedelta(seconds=60)
    with uow_factory() as uow:
        first = uow.jobs.claim(datetime.now(UTC), lease)
        uow.commit()
    clock.shift(lease + timedelta(seconds=1))
    with uow_factory() as uow:
        second = uow.jobs.claim(datetime.now(UTC), lease)
        uow.commit()
    assert first is not None
    assert second is not None
    assert (first.id, second.id, first.attempts, second.attempts) == (job_id, job_id, 1, 2)

    with uow_factory() as uow:
        assert not uow.jobs.renew(job_id, first.attempts, datetime.now(UTC))
        assert not uow.jobs.finish(job_id, first.attempts, datetime.now(UTC), failed=False)
        assert uow.jobs.finish(job_id, second.attempts, datetime.now(UTC), failed=False)
        uow.commit()


def test_a_stopping_worker_gives_its_job_back_for_another(
    app: App, chat: Chat, acme: ClientCard, uow_factory: UnitOfWorkFactory, held: list[int]
) -> None:
    store_emitted(uow_factory, acme, 3)
    ask_for_the_zip(chat)
    stopping = threading.Event()
    stopping.set()

    assert runner(app).run_next(stopping=stopping) == Finished(XML_ZIP, "released")
    assert sent_documents(chat) == []
    assert [row.status for row in job_rows(uow_factory)] == ["pending"]

    assert runner(app).run_next() == Finished(XML_ZIP, "done")
    assert len(sent_documents(chat)) == 1


def test_a_job_for_someone_unbound_meanwhile_sends_nothing(
    app: App, chat: Chat, acme: ClientCard, uow_factory: UnitOfWorkFactory, held: list[int]
) -> None:
    store_emitted(uow_factory, acme, 3)
    ask_for_the_zip(chat)
    chat.drain()
    with uow_factory() as uow:
        access.deactivate_identity(uow, chat.identity_key)
        uow.commit()

    assert runner(app).run_next() == Finished(XML_ZIP, "done")

    fresh = chat.drain()
    assert not any(isinstance(m, Document) for m in fresh)
    assert any(isinstance(m, Text) and m.text.startswith("⚠️ Seu acesso mudou") for m in fresh)


def test_workers_racing_for_jobs_take_each_one_once(uow_factory: UnitOfWorkFactory) -> None:
    ran: list[int] = []
    lock = threading.Lock()

    def count(job: RunningJob) -> None:
        with lock:
            ran.append(job.id)

    kinds = {"test.count": JobKind(count, lambda job: None)}
    with uow_factory() as uow:
        ids = [
            jobs.queue(uow, JobRequest("test.count", "test:ana", (str(n),), {}), datetime.now(UTC))
            for n in range(40)
        ]
        uow.commit()
    racing = JobRunner(uow_factory, kinds)
    barrier = threading.Barrier(4)

    def worker() -> None:
        barrier.wait()
        while racing.run_next() is not None:
            pass

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(ran) == ids
    with uow_factory() as uow:
        assert uow.jobs.counts() == {"done": 40}


def test_danfes_printed_in_worker_processes_are_the_bytes_printed_here(
    app: App, chat: Chat, acme: ClientCard, uow_factory: UnitOfWorkFactory, held: list[int]
) -> None:
    store_emitted(uow_factory, acme, 6)
    exports = chat.engine.dialogue.config.exports  # type: ignore[attr-defined]
    zips = []
    for cpu in (PreparePool(2), None):
        held.clear()
        with time_machine.travel(NOW, tick=False):
            open_gerenciar(chat, "ACME Comércio Ltda")
            chat.press(texts.RELATORIOS_FEATURE)
            chat.press(texts.MES_ANTERIOR)
            chat.press(texts.NFE)
            chat.press(texts.DANFES_DO_MES)
        with_pool = JobRunner(uow_factory, fiscal_exports.kinds(_with_cpu(exports, cpu)))
        assert with_pool.run_next() == Finished(fiscal_exports.DANFE_ZIP, "done")
        [document] = sent_documents(chat)
        zips.append(document.data)

    assert len(unzip_bytes(zips[0])) == 6
    assert zips[0] == zips[1]
    assert danfe.print_danfe.__module__ == "services.fiscal_exports.danfe"  # picklable by name


def test_a_danfe_is_printed_once_and_comes_from_the_file_store_after(
    app: App,
    chat: Chat,
    acme: ClientCard,
    uow_factory: UnitOfWorkFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store_emitted(uow_factory, acme, 5)
    printed: list[bytes] = []
    real = danfe.render_danfe

    def counted(xml: bytes, *args: object, **kwargs: object) -> bytes:
        printed.append(xml)
        return real(xml, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(danfe, "render_danfe", counted)
    zips = []
    for _ in range(2):
        with time_machine.travel(NOW, tick=False):
            open_gerenciar(chat, "ACME Comércio Ltda")
            chat.press(texts.RELATORIOS_FEATURE)
            chat.press(texts.MES_ANTERIOR)
            chat.press(texts.NFE)
            chat.press(texts.DANFES_DO_MES)
        zips.append(chat.documents()[-1].data)  # jobs run inline here

    assert len(printed) == 5  # the second time, every PDF came from the store
    assert zips[0] == zips[1]
    assert len(unzip_bytes(zips[1])) == 5


def _with_cpu(
    exports: fiscal_exports.ExportOptions, cpu: PreparePool | None
) -> fiscal_exports.ExportOptions:
    from dataclasses import replace

    return replace(exports, cpu=cpu)


def unzip_bytes(data: bytes) -> dict[str, bytes]:
    return unzip(Document("x.zip", "application/zip", data))


def test_serve_runs_as_many_job_workers_as_asked(tmp_path: object) -> None:
    settings = Settings(
        environment="test",
        database_url="sqlite://",
        file_store_url=str(tmp_path),
        job_workers=3,
        quick_job_workers=5,
        _env_file=None,
    )
    background = build_app(settings, background_jobs=True)
    inline = build_app(settings)
    try:
        workers = build_runtime(background).job_workers
        assert workers is not None
        assert (workers.count, workers.quick) == (3, 5)
        assert build_runtime(inline).job_workers is None
        unset = build_app(
            Settings(
                environment="test",
                database_url="sqlite://",
                file_store_url=str(tmp_path),
                _env_file=None,
            ),
            background_jobs=True,
        )
        default = build_runtime(unset).job_workers
        assert default is not None
        assert (default.count, default.quick) == (default_workers(), 2)
    finally:
        background.close()
        inline.close()

    help_text = CliRunner().invoke(cli, ["serve", "--help"]).output
    assert "--workers" in help_text
    refused = CliRunner().invoke(cli, ["serve", "--workers", "0"])
    assert refused.exit_code == 2


def test_a_quick_job_is_taken_while_every_worker_builds_a_long_one(
    uow_factory: UnitOfWorkFactory,
) -> None:
    from bot.jobs import JobWorkers

    building, let_go = threading.Event(), threading.Event()
    ran: list[str] = []

    def long(job: RunningJob) -> None:
        ran.append(f"long {job.spec['n']} started")
        building.set()
        let_go.wait(10)
        ran.append(f"long {job.spec['n']} done")

    def quick(job: RunningJob) -> None:
        ran.append("quick")

    kinds = {
        "test.long": JobKind(long, lambda job: None),
        "test.quick": JobKind(quick, lambda job: None, quick=True),
    }
    runner = JobRunner(uow_factory, kinds)
    assert runner.quick_kinds == ["test.quick"]
    workers = JobWorkers(runner, 1, poll=0.05)

    def queue(kind: str, n: int) -> None:
        with uow_factory() as uow:
            jobs.queue(uow, JobRequest(kind, "test:ana", (str(n),), {"n": n}), datetime.now(UTC))
            uow.commit()
        workers.wake()

    def statuses() -> dict[str, int]:
        with uow_factory() as uow:
            return uow.jobs.counts()

    workers.start()
    try:
        queue("test.long", 1)
        assert building.wait(5)
        queue("test.long", 2)  # the only general worker is busy: this one waits
        queue("test.quick", 3)
        for _ in range(200):
            if "quick" in ran:
                break
            time.sleep(0.02)
        assert ran == ["long 1 started", "quick"]  # not behind the month's DANFEs
        time.sleep(0.3)  # the quick worker, idle again, leaves the long job alone
        assert statuses().get("pending") == 1
        let_go.set()
        for _ in range(250):
            if statuses().get("done") == 3:
                break
            time.sleep(0.02)
        assert ran == ["long 1 started", "quick", "long 1 done", "long 2 started", "long 2 done"]
    finally:
        let_go.set()
        workers.stop(grace=5)


def test_two_quick_jobs_run_at_once_while_the_general_workers_build_long_ones(
    uow_factory: UnitOfWorkFactory,
) -> None:
    """Two gestores' SEFAZ requests at once: each waits on the SEFAZ, neither behind the
    other, while the only general worker builds a month's DANFEs."""
    from bot.jobs import JobWorkers

    building, let_go = threading.Event(), threading.Event()
    answering = threading.Barrier(3, timeout=5)  # both quick jobs in flight, and the test

    def long(job: RunningJob) -> None:
        building.set()
        let_go.wait(10)

    def quick(job: RunningJob) -> None:
        answering.wait()  # held until the other one is running too

    kinds = {
        "test.long": JobKind(long, lambda job: None),
        "test.quick": JobKind(quick, lambda job: None, quick=True),
    }
    runner = JobRunner(uow_factory, kinds)
    workers = JobWorkers(runner, 1, quick=2, poll=0.05)
    workers.start()
    try:
        with uow_factory() as uow:
            jobs.queue(uow, JobRequest("test.long", "test:ana", ("1",), {}), datetime.now(UTC))
            uow.commit()
        workers.wake()
        assert building.wait(5)
        for n, who in ((2, "test:ana"), (3, "test:bia")):
            with uow_factory() as uow:
                jobs.queue(uow, JobRequest("test.quick", who, (str(n),), {}), datetime.now(UTC))
                uow.commit()
            workers.wake()
        answering.wait()  # would break (BrokenBarrierError) with one quick worker
        assert sorted(t.name for t in threading.enumerate() if t.name.startswith("job-")) == [
            "job-1",
            "job-quick-1",
            "job-quick-2",
        ]
    finally:
        let_go.set()
        workers.stop(grace=5)


def test_the_sefaz_requests_a_person_waits_for_are_the_quick_kinds(app: App) -> None:
    from services import sefaz_consulta, sefaz_download, sefaz_manifest

    assert app.jobs is not None
    assert app.jobs.quick_kinds == sorted(
        [sefaz_consulta.CONSULTAR, sefaz_download.BAIXAR, sefaz_manifest.MANIFESTAR]
    )


def test_a_request_job_no_worker_could_finish_tells_the_asker_it_failed(
    uow_factory: UnitOfWorkFactory,
) -> None:
    from services.errors import ServiceError
    from services.job_progress import request_kind
    from services.outbox import claim

    ran: list[int] = []
    kind = request_kind(lambda job: ran.append(job.id))
    to = {"channel": "test", "identity_key": "test:ana", "address": "ana"}
    job = RunningJob(1, {"to": to}, None, uow_factory, 4)  # type: ignore[arg-type]
    kind.give_up(job)
    assert kind.quick
    assert ran == []
    (message,) = claim(uow_factory, identity_key="test:ana")
    assert message.payload["text"] == ServiceError().message
