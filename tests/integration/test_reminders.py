"""Reminder sweeps (issue 7): certificates, faturas and idle links, each reminded once."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from bot.app import App, build_app
from services import notice_settings, notices
from services.reminders import ReminderOptions, SweepResult
from services.scheduler import UnknownJob, run_job
from services.types import UnitOfWorkFactory
from storage.models import OutboxMessage
from storage.models_reminders import ReminderSent
from tests.integration.reminder_support import (
    published,
    put_certificate,
    put_fatura,
    put_link,
    sp_noon,
)
from tests.support import add_client, make_office

TODAY = date(2026, 3, 2)
OPTIONS = ReminderOptions(digest_threshold=5)


def sweep(uow_factory: UnitOfWorkFactory, job: str, day: date, **options: object) -> SweepResult:
    """Run `job` with the clock frozen at noon of `day` in São Paulo."""
    with time_machine.travel(sp_noon(day), tick=False):
        result = run_job(
            uow_factory,
            job,
            now=datetime.now(UTC),
            options=ReminderOptions(**options) if options else OPTIONS,  # type: ignore[arg-type]
        )
    assert result is not None
    return result


def sent_count(uow_factory: UnitOfWorkFactory) -> int:
    uow = uow_factory()
    with uow:
        return uow.session.scalar(select(func.count()).select_from(ReminderSent)) or 0


def test_each_certificate_threshold_fires_once_on_its_day(app: App) -> None:
    office = make_office(app.uow_factory, 1)
    card = add_client(app.uow_factory, office.gestor, 1)
    put_certificate(app.uow_factory, card.id, TODAY + timedelta(days=31))

    fired: dict[int, list[int]] = {}
    for offset in range(0, 36):  # every day from 31 days before to 4 days after expiry
        day = TODAY + timedelta(days=offset)
        before = len(published(app.uow_factory))
        sweep(app.uow_factory, "certificados", day)
        sweep(app.uow_factory, "certificados", day)  # a second run the same day adds nothing
        fresh = published(app.uow_factory)[before:]
        if fresh:
            fired[offset] = [int(payload["days_left"]) for _, _, payload in fresh]

    assert fired == {1: [30], 16: [15], 24: [7], 30: [1], 31: [0], 32: [-1]}
    kinds = {kind for _, kind, _ in published(app.uow_factory)}
    assert kinds == {"certificado.vencendo"}
    assert sent_count(app.uow_factory) == 6


def test_a_sweep_missed_on_the_day_sends_that_threshold_the_day_after(app: App) -> None:
    office = make_office(app.uow_factory, 1)
    card = add_client(app.uow_factory, office.gestor, 1)
    put_certificate(app.uow_factory, card.id, TODAY + timedelta(days=14))  # the 15 was missed

    sweep(app.uow_factory, "certificados", TODAY)

    [(_, _, payload)] = published(app.uow_factory)
    assert payload["days_left"] == 14
    assert payload["valid_until"] == (TODAY + timedelta(days=14)).isoformat()


def test_a_new_certificate_starts_its_own_reminders(app: App) -> None:
    office = make_office(app.uow_factory, 1)
    card = add_client(app.uow_factory, office.gestor, 1)
    put_certificate(app.uow_factory, card.id, TODAY + timedelta(days=7))
    sweep(app.uow_factory, "certificados", TODAY)
    put_certificate(app.uow_factory, card.id, TODAY + timedelta(days=7), tag="renewed")
    sweep(app.uow_factory, "certificados", TODAY)

    assert len(published(app.uow_factory)) == 2


def test_a_restarted_app_on_the_same_database_sends_nothing_again(app: App) -> None:
    office = make_office(app.uow_factory, 1)
    for n in range(3):
        card = add_client(app.uow_factory, office.gestor, n + 1)
        put_certificate(app.uow_factory, card.id, TODAY + timedelta(days=n))
    first = sweep(app.uow_factory, "certificados", TODAY)

    restarted = build_app(app.settings, db=app.db)
    again = sweep(restarted.uow_factory, "certificados", TODAY)

    assert (first.notices, again.notices, again.reminders) == (3, 0, 0)
    assert len(published(app.uow_factory)) == 3


def test_a_reminder_recorded_twice_fails_and_takes_its_notice_with_it(app: App) -> None:
    office = make_office(app.uow_factory, 1)
    row = {
        "kind": "certificado",
        "subject": "abc",
        "threshold": "7",
        "gestor_id": office.gestor.gestor_id,
        "sent_at": datetime.now(UTC),
    }
    uow = app.uow_factory()
    with uow:
        uow.reminders.add_many([row])
        uow.commit()

    def publish_and_record_again() -> None:
        uow = app.uow_factory()
        with uow:
            notices.publish(uow, office.gestor.gestor_id, "certificado.vencendo", {})
            uow.reminders.add_many([row])
            uow.commit()

    with pytest.raises(IntegrityError):
        publish_and_record_again()

    assert published(app.uow_factory) == []
    assert sent_count(app.uow_factory) == 1


def test_many_certificates_of_one_gestor_become_one_digest(app: App) -> None:
    office = make_office(app.uow_factory, 1)
    other = make_office(app.uow_factory, 2)
    for n in range(6):
        card = add_client(app.uow_factory, office.gestor, n + 1)
        put_certificate(app.uow_factory, card.id, TODAY + timedelta(days=n % 3))
    lone = add_client(app.uow_factory, other.gestor, 50)
    put_certificate(app.uow_factory, lone.id, TODAY + timedelta(days=30))

    result = sweep(app.uow_factory, "certificados", TODAY)

    found = published(app.uow_factory)
    digest = [p for g, kind, p in found if kind == "certificado.resumo"]
    assert [(g, kind) for g, kind, _ in found] == [
        (office.gestor.gestor_id, "certificado.resumo"),
        (other.gestor.gestor_id, "certificado.vencendo"),
    ]
    assert [item["days_left"] for item in digest[0]["items"]] == [0, 0, 1, 1, 2, 2]
    assert (result.reminders, result.notices, result.digests) == (7, 2, 1)


def test_clients_get_an_email_when_smtp_is_configured(app: App) -> None:
    office = make_office(app.uow_factory, 1)
    card = add_client(app.uow_factory, office.gestor, 1)
    put_certificate(app.uow_factory, card.id, TODAY + timedelta(days=1))

    result = sweep(app.uow_factory, "certificados", TODAY, email=True)

    uow = app.uow_factory()
    with uow:
        [row] = uow.session.scalars(
            select(OutboxMessage).where(OutboxMessage.channel == "email")
        ).all()
        assert row.address == card.email
        assert card.razao_social in row.payload["subject"]
        assert "vence amanhã" in row.payload["text"]
    assert result.emails == 1


def test_no_email_is_queued_without_smtp(app: App) -> None:
    office = make_office(app.uow_factory, 1)
    card = add_client(app.uow_factory, office.gestor, 1)
    put_certificate(app.uow_factory, card.id, TODAY + timedelta(days=1))
    sweep(app.uow_factory, "certificados", TODAY)
    uow = app.uow_factory()
    with uow:
        count = uow.session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.channel == "email")
        )
    assert count == 0


def test_a_muted_kind_is_recorded_but_not_published(app: App) -> None:
    office = make_office(app.uow_factory, 1)
    card = add_client(app.uow_factory, office.gestor, 1)
    put_certificate(app.uow_factory, card.id, TODAY + timedelta(days=7))
    put_fatura(app.uow_factory, office.gestor.gestor_id, TODAY + timedelta(days=2))
    notice_settings.set_muted(app.uow_factory(), office.gestor, "certificados", muted=True)

    sweep(app.uow_factory, "certificados", TODAY)
    sweep(app.uow_factory, "faturas", TODAY)
    notice_settings.set_muted(app.uow_factory(), office.gestor, "certificados", muted=False)
    sweep(app.uow_factory, "certificados", TODAY)  # turned on again: the past is not replayed

    assert [kind for _, kind, _ in published(app.uow_factory)] == ["fatura.vencendo"]
    assert sent_count(app.uow_factory) == 2


def test_a_fatura_is_reminded_three_days_before_and_once_overdue(app: App) -> None:
    office = make_office(app.uow_factory, 1)
    fatura_id = put_fatura(app.uow_factory, office.gestor.gestor_id, TODAY + timedelta(days=5))
    put_fatura(  # paid: never reminded
        app.uow_factory, office.gestor.gestor_id, TODAY, status="paga", competencia="2026-01"
    )

    kinds_by_day = {}
    for offset in range(8):
        before = len(published(app.uow_factory))
        sweep(app.uow_factory, "faturas", TODAY + timedelta(days=offset))
        fresh = published(app.uow_factory)[before:]
        if fresh:
            kinds_by_day[offset] = [(kind, p["fatura_id"]) for _, kind, p in fresh]

    assert kinds_by_day == {
        2: [("fatura.vencendo", fatura_id)],
        6: [("fatura.vencida", fatura_id)],
    }


def test_a_link_opened_three_days_ago_and_not_completed_is_reminded_once(app: App) -> None:
    office = make_office(app.uow_factory, 1)
    now = sp_noon(TODAY)
    idle = put_link(app.uow_factory, office.gestor.gestor_id, now - timedelta(days=3, hours=1))
    put_link(app.uow_factory, office.gestor.gestor_id, now - timedelta(days=2), token="recent")
    put_link(
        app.uow_factory, office.gestor.gestor_id, now - timedelta(days=4), used=True, token="ok"
    )
    put_link(app.uow_factory, office.gestor.gestor_id, None, token="never")

    sweep(app.uow_factory, "links", TODAY)
    sweep(app.uow_factory, "links", TODAY + timedelta(days=1))

    [(gestor_id, kind, payload)] = published(app.uow_factory)
    assert (gestor_id, kind, payload["link_id"]) == (office.gestor.gestor_id, "link.parado", idle)


def test_an_unknown_job_is_refused(uow_factory: UnitOfWorkFactory) -> None:
    with pytest.raises(UnknownJob):
        run_job(uow_factory, "backup", now=datetime.now(UTC), options=OPTIONS)
