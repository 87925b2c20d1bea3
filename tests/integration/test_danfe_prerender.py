"""DANFEs printed ahead (services/fiscal_exports/prerender.py): storing issued notes asks once
per client and window for their DANFEs; a worker prints them into the file store's cache when
the window has passed, a slice at a time behind the jobs people wait for; `DANFEs do mês` then
prints nothing — on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import IO

import pytest
import time_machine
from sqlalchemy import select

from bot.app import App
from handlers import texts
from services import danfe_ahead, fiscal_exports
from services.clients import ClientCard
from services.files import FileStore
from services.fiscal_documents import CompressedXml, received_xmls
from services.fiscal_exports import danfe, prerender
from services.fiscal_prepare import TipoNota
from services.jobs import Finished, JobRunner
from services.types import UnitOfWorkFactory
from storage.models_jobs import Job
from tests.support import Chat, add_client, make_office
from tests.unit.fiscal_chat.chat_support import (
    NOW,
    open_gerenciar,
    store_emitted,
    store_supplier_notes,
    unzip,
)

PRERENDER = danfe_ahead.PRERENDER
WAIT = danfe_ahead.WINDOW + danfe_ahead.MARGIN + timedelta(seconds=1)


@pytest.fixture(autouse=True)
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(NOW, tick=True) as traveller:
        yield traveller


@pytest.fixture
def acme(uow_factory: UnitOfWorkFactory, chat: Chat) -> ClientCard:
    office = make_office(uow_factory, 1, identity_key=chat.identity_key)
    return add_client(uow_factory, office.gestor, 1, name="ACME Comércio Ltda")


@pytest.fixture
def printed(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Every XML the printer was given."""
    calls: list[bytes] = []
    real = danfe.render_danfe

    def counted(xml: bytes, *args: object, **kwargs: object) -> bytes:
        calls.append(xml)
        return real(xml, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(danfe, "render_danfe", counted)
    return calls


def runner(app: App) -> JobRunner:
    assert app.jobs is not None
    return app.jobs


def prerender_jobs(uow_factory: UnitOfWorkFactory) -> list[tuple[str, int]]:
    with uow_factory() as uow:
        rows = uow.session.execute(
            select(Job.status, Job.attempts).where(Job.kind == PRERENDER).order_by(Job.id)
        )
        return [(row.status, row.attempts) for row in rows]


def run_due(app: App) -> list[Finished]:
    finished = []
    while (done := runner(app).run_next()) is not None:
        finished.append(done)
    return finished


def ask_for_the_danfes(chat: Chat) -> None:
    open_gerenciar(chat, "ACME Comércio Ltda")
    chat.press(texts.RELATORIOS_FEATURE)
    chat.press(texts.MES_ANTERIOR)
    chat.press(texts.NFE)
    chat.press(texts.DANFES_DO_MES)


def test_issued_notes_stored_in_one_window_ask_once_for_their_danfes(
    app: App, acme: ClientCard, uow_factory: UnitOfWorkFactory, printed: list[bytes]
) -> None:
    with time_machine.travel(NOW, tick=False):  # the same instant: the same window
        store_emitted(uow_factory, acme, 3)
        store_emitted(uow_factory, acme, 2, seed=8)
        store_supplier_notes(uow_factory, acme, 2)

    assert prerender_jobs(uow_factory) == [("pending", 0)]
    assert runner(app).run_next() is None  # not before the window closed
    assert printed == []


def test_supplier_notes_alone_ask_for_nothing(
    acme: ClientCard, uow_factory: UnitOfWorkFactory
) -> None:
    store_supplier_notes(uow_factory, acme, 3)

    assert prerender_jobs(uow_factory) == []


def test_once_the_window_closed_a_worker_prints_them_and_the_month_prints_nothing(
    app: App,
    chat: Chat,
    acme: ClientCard,
    uow_factory: UnitOfWorkFactory,
    printed: list[bytes],
    clock: time_machine.Traveller,
) -> None:
    store_emitted(uow_factory, acme, 5, cancel=[2])
    clock.shift(WAIT)

    assert run_due(app) == [Finished(PRERENDER, "done")]
    assert len(printed) == 5
    assert prerender_jobs(uow_factory) == [("done", 1)]

    ask_for_the_danfes(chat)  # the month's job runs inline here

    assert len(printed) == 5  # every PDF came from the store
    members = unzip(chat.documents()[-1])
    assert len(members) == 5
    assert all(pdf.startswith(b"%PDF") for pdf in members.values())


def test_the_cancelled_note_is_printed_ahead_with_its_watermark(
    app: App,
    acme: ClientCard,
    uow_factory: UnitOfWorkFactory,
    clock: time_machine.Traveller,
) -> None:
    specs = store_emitted(uow_factory, acme, 2, cancel=[1])
    clock.shift(WAIT)
    run_due(app)

    members = {
        member.chave: member
        for member in _stored_members(uow_factory, acme)  # what the month's job will look up
    }
    assert {s.chave() for s in specs} == set(members)
    for member in members.values():
        assert app.files.exists(danfe.cache_key(member))
    cancelled = [m for m in members.values() if m.situacao.value == "cancelada"]
    assert len(cancelled) == 1


def test_a_big_batch_is_printed_a_slice_at_a_time_behind_what_a_person_asked_for(
    app: App,
    chat: Chat,
    acme: ClientCard,
    uow_factory: UnitOfWorkFactory,
    printed: list[bytes],
    clock: time_machine.Traveller,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(prerender, "SLICE", 3)
    store_emitted(uow_factory, acme, 7)
    clock.shift(WAIT)

    assert runner(app).run_next() == Finished(PRERENDER, "done")
    assert len(printed) == 3
    held: list[int] = []
    monkeypatch.setattr(app.conversation, "run_jobs", held.extend)
    open_gerenciar(chat, "ACME Comércio Ltda")  # a person asks for the month's XMLs meanwhile
    chat.press(texts.XMLS_EMITIDOS)
    chat.press(texts.MES_ANTERIOR)
    chat.press(texts.NFE)

    assert runner(app).run_next() == Finished(fiscal_exports.XML_ZIP, "done")  # theirs first
    assert run_due(app) == [Finished(PRERENDER, "done"), Finished(PRERENDER, "done")]
    assert len(printed) == 7
    assert len(set(printed)) == 7  # each note once
    assert [status for status, _ in prerender_jobs(uow_factory)] == ["done"] * 3


def test_a_note_already_in_the_cache_is_not_printed_again(
    app: App,
    chat: Chat,
    acme: ClientCard,
    uow_factory: UnitOfWorkFactory,
    printed: list[bytes],
    clock: time_machine.Traveller,
) -> None:
    store_emitted(uow_factory, acme, 4)
    ask_for_the_danfes(chat)  # the person got there first: printed on demand
    assert len(printed) == 4
    clock.shift(WAIT)

    assert run_due(app) == [Finished(PRERENDER, "done")]

    assert len(printed) == 4


def test_with_printing_ahead_off_the_job_prints_nothing(
    app: App,
    acme: ClientCard,
    uow_factory: UnitOfWorkFactory,
    printed: list[bytes],
    clock: time_machine.Traveller,
) -> None:
    exports = replace(_exports(app), prerender=False)
    store_emitted(uow_factory, acme, 3)
    clock.shift(WAIT)

    quiet = JobRunner(uow_factory, fiscal_exports.kinds(exports))
    assert quiet.run_next() == Finished(PRERENDER, "done")

    assert printed == []


def test_another_clients_notes_are_another_job(
    app: App, chat: Chat, acme: ClientCard, uow_factory: UnitOfWorkFactory, printed: list[bytes]
) -> None:
    office = make_office(uow_factory, 2)
    other = add_client(uow_factory, office.gestor, 2, name="Padaria do Outro")
    with time_machine.travel(NOW, tick=False):
        store_emitted(uow_factory, acme, 2)
        store_emitted(uow_factory, other, 2, seed=9)

    assert prerender_jobs(uow_factory) == [("pending", 0), ("pending", 0)]


class Remote:
    """The app's file store as if across the network: `read_ahead` reads in flight are worth
    it, and the first `together` reads of a cached DANFE only return once that many are."""

    def __init__(self, store: FileStore, read_ahead: int, together: int) -> None:
        self.store, self.read_ahead = store, read_ahead
        self.barrier = threading.Barrier(together, timeout=5)
        self.readers: list[str] = []

    def open(self, key: str) -> IO[bytes]:
        self.readers.append(threading.current_thread().name)
        if len(self.readers) <= self.barrier.parties:
            self.barrier.wait()  # BrokenBarrierError when they come one at a time
        return self.store.open(key)

    def __getattr__(self, name: str) -> object:
        return getattr(self.store, name)


@pytest.mark.parametrize("read_ahead", [4, 16], ids=["fewer than the notes", "more"])
def test_a_remote_stores_cached_danfes_are_read_several_at_once_and_come_in_order(
    app: App,
    acme: ClientCard,
    uow_factory: UnitOfWorkFactory,
    printed: list[bytes],
    clock: time_machine.Traveller,
    read_ahead: int,
) -> None:
    """On S3 each cache read is a request: one at a time, a month of 1,000 waited out 1,000
    latencies. The reads go ahead in parallel; the DANFEs still come in the notes' order, and
    a note not in the cache is printed in its place."""
    store_emitted(uow_factory, acme, 7)
    clock.shift(WAIT)
    run_due(app)  # printed ahead: every DANFE in the cache
    members = _stored_members(uow_factory, acme)
    app.files.delete(danfe.cache_key(members[5]))  # one of them lost from the cache
    printed.clear()
    remote = Remote(app.files, read_ahead, together=4)
    options = replace(_exports(app), files=remote, cpu=None)  # type: ignore[arg-type]

    got = list(danfe.printed_in_order(members, NOW, options))

    assert [p.chave for p in got] == [m.chave for m in members]
    assert all(p.entry is not None for p in got)
    assert len(printed) == 1  # only the lost one printed again
    assert len(remote.readers) == 7
    assert all(name.startswith("danfe-cache") for name in remote.readers)
    assert app.files.exists(danfe.cache_key(members[5]))  # and kept in the cache again


def test_a_local_stores_cached_danfes_are_read_on_the_jobs_own_thread(
    app: App, acme: ClientCard, uow_factory: UnitOfWorkFactory, clock: time_machine.Traveller
) -> None:
    store_emitted(uow_factory, acme, 3)
    clock.shift(WAIT)
    run_due(app)
    members = _stored_members(uow_factory, acme)
    local = Remote(app.files, read_ahead=1, together=1)
    options = replace(_exports(app), files=local, cpu=None)  # type: ignore[arg-type]

    got = list(danfe.printed_in_order(members, NOW, options))

    assert [p.chave for p in got] == [m.chave for m in members]
    assert local.readers == [threading.current_thread().name] * 3
    assert app.files.read_ahead == 1  # the local folder's own choice


def _exports(app: App) -> fiscal_exports.ExportOptions:
    return app.conversation.dialogue.config.exports  # type: ignore[attr-defined]


def _stored_members(uow_factory: UnitOfWorkFactory, card: ClientCard) -> list[CompressedXml]:
    everything = received_xmls(
        uow_factory(),
        card.id,
        tipo=TipoNota.EMITIDA,
        desde=datetime(2000, 1, 1, tzinfo=UTC),
        ate=datetime(2100, 1, 1, tzinfo=UTC),
    )
    return [member for _, member in everything]
