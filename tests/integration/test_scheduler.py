"""The scheduler: the database lease, APScheduler inside serve, `scheduler run-once`."""

from __future__ import annotations

import asyncio
import threading
import time as time_module
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from click.testing import CliRunner
from pydantic import SecretStr
from sqlalchemy import Engine

from bot.app import App
from bot.cli import main
from bot.scheduler import ReminderScheduler, from_settings
from services.reminders import SAO_PAULO, ReminderOptions
from services.scheduler import run_job, take_lease
from services.sefaz_capture import CaptureReport, ClientCapture
from services.types import UnitOfWorkFactory
from storage.db import make_engine, make_session_factory
from tests.integration.fake_telegram import TOKEN, FakeBotApi
from tests.integration.reminder_support import published, put_certificate, sp_noon
from tests.integration.test_serve import USER, polling_serve
from tests.support import add_client, make_office

TODAY = date(2026, 3, 2)
OPTIONS = ReminderOptions()


def at_once(work: list[Callable[[], Any]]) -> list[Any]:
    """Run each callable in its own thread, released together; results or exceptions."""
    barrier = threading.Barrier(len(work))
    results: list[Any] = [None] * len(work)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work[i]()
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(work))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_the_lease_is_held_until_it_expires_then_another_instance_takes_it(
    uow_factory: UnitOfWorkFactory,
) -> None:
    now = sp_noon(TODAY)
    assert take_lease(uow_factory, "certificados", "a", now=now, ttl=timedelta(minutes=10))
    assert not take_lease(uow_factory, "certificados", "b", now=now + timedelta(minutes=9))
    assert take_lease(uow_factory, "certificados", "a", now=now + timedelta(minutes=9))
    assert take_lease(uow_factory, "faturas", "b", now=now)  # one lease per job
    later = now + timedelta(minutes=40)
    assert take_lease(uow_factory, "certificados", "b", now=later)
    assert not take_lease(uow_factory, "certificados", "a", now=later)


def test_two_scheduler_instances_on_the_same_database_fire_a_job_once(
    app: App, db_engine: Engine
) -> None:
    office = make_office(app.uow_factory, 1)
    card = add_client(app.uow_factory, office.gestor, 1)
    put_certificate(app.uow_factory, card.id, TODAY + timedelta(days=7))
    url = db_engine.url.render_as_string(hide_password=False)
    engines = [make_engine(url), make_engine(url)]
    factories = [UnitOfWorkFactory(make_session_factory(engine)) for engine in engines]
    now = sp_noon(TODAY)
    try:

        def instance(factory: UnitOfWorkFactory, holder: str) -> Callable[[], Any]:
            return lambda: run_job(
                factory, "certificados", now=now, options=OPTIONS, holder=holder
            )

        results = at_once(
            [instance(factories[0], "instance-a"), instance(factories[1], "instance-b")]
        )
    finally:
        for engine in engines:
            engine.dispose()

    assert not [r for r in results if isinstance(r, Exception)]
    fired = [r for r in results if r is not None]
    assert len(fired) == 1
    assert fired[0].notices == 1
    assert len(published(app.uow_factory)) == 1


def test_the_scheduler_fires_each_job_daily_at_its_sao_paulo_time(app: App) -> None:
    scheduler = from_settings(app.settings, app.uow_factory, on_done=lambda: None)
    assert scheduler.times == {
        "certificados": time(8, 0),
        "faturas": time(9, 0),
        "links": time(9, 0),
        "limpeza": time(3, 30),
        "pendencias": time(8, 0),
        "pacote": time(6, 0),  # daily; it packs only on PACOTE_DIA
    }


async def test_a_started_scheduler_catches_up_on_a_time_missed_today_only(app: App) -> None:
    scheduler = ReminderScheduler(
        app.uow_factory, {"certificados": time(8), "links": time(23)}, OPTIONS, holder="me"
    )
    now = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # 09:00 in São Paulo
    scheduler.start(now=now)
    try:
        jobs = sorted(scheduler.jobs())
    finally:
        scheduler.shutdown()
    assert jobs == ["certificados", "certificados:catch-up", "links"]


async def test_a_catch_up_and_a_capture_the_loop_reaches_late_still_run(app: App) -> None:
    """A loop busy at start-up (other sweeps, a burst of webhooks) reaches the firings due
    then more than a second late: APScheduler's default would drop them."""
    captured: list[datetime] = []

    def capture(*, now: datetime, holder: str) -> CaptureReport:
        captured.append(now)
        return CaptureReport()

    scheduler = ReminderScheduler(
        app.uow_factory, {"links": time(0, 0)}, OPTIONS, holder="me", capture=capture
    )
    scheduler.start()  # 00:00 in São Paulo has passed: a catch-up, due now
    try:
        assert "links:catch-up" in scheduler.jobs()
        time_module.sleep(1.5)  # noqa: ASYNC251 - the loop, busy: that is the point
        for _ in range(200):
            if captured and not scheduler.missed_today("links", datetime.now(UTC)):
                break
            await asyncio.sleep(0.05)
    finally:
        scheduler.shutdown()
    assert len(captured) == 1
    assert not scheduler.missed_today("links", datetime.now(UTC))  # it ran


async def test_a_job_run_today_is_not_caught_up_again_after_a_restart(app: App) -> None:
    scheduler = ReminderScheduler(app.uow_factory, {"certificados": time(8)}, OPTIONS)
    nine = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    with time_machine.travel(nine, tick=False):
        assert await scheduler.fire("certificados") is not None
    assert not scheduler.missed_today("certificados", nine + timedelta(hours=1))
    assert scheduler.missed_today("certificados", nine + timedelta(days=1))


async def test_fire_sweeps_and_wakes_the_delivery_when_it_published(app: App) -> None:
    office = make_office(app.uow_factory, 1)
    card = add_client(app.uow_factory, office.gestor, 1)
    put_certificate(app.uow_factory, card.id, TODAY + timedelta(days=1))
    woken: list[str] = []
    scheduler = ReminderScheduler(
        app.uow_factory, {"certificados": time(8)}, OPTIONS, on_done=lambda: woken.append("x")
    )
    other = ReminderScheduler(app.uow_factory, {"certificados": time(8)}, OPTIONS)
    with time_machine.travel(sp_noon(TODAY), tick=False):
        result = await scheduler.fire("certificados")
        skipped = await other.fire("certificados")

    assert result is not None
    assert result.notices == 1
    assert skipped is None  # the other instance finds the lease held
    assert woken == ["x"]


def test_run_once_runs_a_job_as_of_the_given_time_and_is_idempotent(
    app: App, db_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    office = make_office(app.uow_factory, 1)
    card = add_client(app.uow_factory, office.gestor, 1)
    put_certificate(app.uow_factory, card.id, TODAY + timedelta(days=15))
    runner = CliRunner(env={"DATABASE_URL": db_engine.url.render_as_string(hide_password=False)})
    args = ["scheduler", "run-once", "certificados", "--now", f"{TODAY.isoformat()}T08:00"]

    first = runner.invoke(main, args, catch_exceptions=False)
    second = runner.invoke(main, args, catch_exceptions=False)
    bad = runner.invoke(main, ["scheduler", "run-once", "certificados", "--now", "ontem"])

    assert first.exit_code == 0, first.output
    assert "certificados: 1 lembrete(s) novo(s), 1 aviso(s) publicado(s)" in first.output
    assert "certificados: 0 lembrete(s) novo(s), 0 aviso(s)" in second.output
    assert bad.exit_code == 1
    assert "--now inválido" in bad.output
    [(_, _, payload)] = published(app.uow_factory)
    assert payload["days_left"] == 15


async def test_serve_runs_a_sweep_missed_today_and_the_reminder_reaches_telegram(
    app: App,
) -> None:
    office = make_office(app.uow_factory, 1, identity_key=f"tg:{USER}")
    uow = app.uow_factory()
    with uow:  # make_office names the channel after the key's prefix
        identity = uow.identities.by_key(f"tg:{USER}")
        assert identity is not None
        identity.channel = "telegram"
        uow.commit()
    card = add_client(app.uow_factory, office.gestor, 1)
    today = datetime.now(UTC).astimezone(SAO_PAULO).date()
    put_certificate(app.uow_factory, card.id, today + timedelta(days=7))
    app.settings = app.settings.model_copy(
        update={
            "telegram_bot_token": SecretStr(TOKEN),
            "telegram_poll_timeout": 5,
            "cert_sweep_time": "00:00",  # already past today: caught up at start-up
        }
    )
    api = FakeBotApi()
    stop = asyncio.Event()
    running = polling_serve(app, api, stop)
    try:
        # other sweeps caught up at start-up (the Pendências digest) may speak first
        reminder = await api.wait_for_text(card.razao_social, timeout=15)
    finally:
        stop.set()
        await asyncio.wait_for(running, timeout=10)

    assert card.razao_social in reminder.params["text"]
    assert "vence em 7 dias" in reminder.params["text"]
    assert "Enviar certificado" in str(reminder.params["reply_markup"])


async def test_the_sefaz_capture_fires_on_one_instance_per_interval(app: App) -> None:
    runs: list[str] = []
    report = CaptureReport()

    def capture(*, now: datetime, holder: str) -> CaptureReport:
        runs.append(holder)
        return report

    first, second = (
        ReminderScheduler(app.uow_factory, {}, OPTIONS, holder=h, capture=capture)
        for h in ("a", "b")
    )
    assert await first.fire_capture() is report
    assert await second.fire_capture() is None  # the lease is held for half the interval
    assert runs == ["a"]


@pytest.mark.parametrize(
    ("notas", "avisado", "wakes"), [(0, False, 0), (2, False, 0), (2, True, 1)]
)
async def test_a_capture_wakes_the_sender_and_the_notices_only_when_it_published_a_notice(
    app: App, notas: int, avisado: bool, wakes: int
) -> None:
    """A capture that published nothing (no new notes, or their notice muted) has nothing to
    send: a wake would only make the next events' replies wait for a claim round instead of
    being handed to the sender."""
    found = ClientCapture(1, "11222333000181", "Loja", notas=notas, avisado=avisado)
    woken: list[str] = []
    scheduler = ReminderScheduler(
        app.uow_factory,
        {},
        OPTIONS,
        on_done=lambda: woken.append("wake"),
        capture=lambda **_: CaptureReport([found]),
    )
    await scheduler.fire_capture()
    assert len(woken) == wakes
