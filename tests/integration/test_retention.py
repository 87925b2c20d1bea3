"""The retention sweep: old processed-event ids, delivered outbox rows and unreadable WhatsApp
updates go, in batches; everything recent, and every message still to send, stays."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select

from bot.gateways.file_store import file_store
from services import outbox
from services.conversation import enqueue_to
from services.files import content_key, content_prefix
from services.fiscal_exports import DANFE_CACHE
from services.messages import Text
from services.reminders import ReminderOptions
from services.retention import RetentionPolicy, sweep_retention
from services.scheduler import run_job, take_lease
from services.types import UnitOfWorkFactory
from storage.models import OutboxMessage, ProcessedEvent
from storage.models_whatsapp import WhatsAppRawUpdate

NOW = datetime(2026, 12, 6, 6, 30, tzinfo=UTC)
POLICY = RetentionPolicy(events_days=30, outbox_days=30, whatsapp_raw_days=7, batch=7)


def count(uow_factory: UnitOfWorkFactory, model: type) -> int:
    uow = uow_factory()
    with uow:
        return uow.session.scalar(select(func.count()).select_from(model)) or 0


def seed(uow_factory: UnitOfWorkFactory) -> None:
    uow = uow_factory()
    with uow:
        events = [
            {
                "channel": "telegram",
                "event_id": f"old-{n}",
                "processed_at": NOW - timedelta(days=31),
            }
            for n in range(20)
        ] + [
            {
                "channel": "telegram",
                "event_id": f"new-{n}",
                "processed_at": NOW - timedelta(days=29),
            }
            for n in range(5)
        ]
        uow.session.execute(insert(ProcessedEvent), events)
        for n in range(12):  # old: 12 messages, of which 4 still pending
            enqueue_to(uow, "telegram", "tg:1", "1", [Text(f"old {n}")], NOW - timedelta(days=40))
        enqueue_to(uow, "telegram", "tg:1", "1", [Text("recent")], NOW - timedelta(days=2))
        raws = [
            {"received_at": NOW - timedelta(days=days), "reason": "x", "payload": {"n": days}}
            for days in (8, 9, 10, 6)
        ]
        uow.session.execute(insert(WhatsAppRawUpdate), raws)
        uow.commit()
    # deliver 6 and fail 2 of the old ones; 4 stay pending, and the recent one is sent
    claimed = outbox.claim(uow_factory, limit=100)
    fates: list[outbox.Fate] = [outbox.Delivered(m.id, None) for m in claimed[:6]]
    fates += [outbox.Failed(m.id, "bloqueado") for m in claimed[6:8]]
    fates.append(outbox.Delivered(claimed[-1].id, None))
    outbox.record(uow_factory, fates)
    uow = uow_factory()
    with uow:
        for message in claimed[8:12]:
            uow.outbox.retry_later(message.id, NOW, "tentar de novo")
        uow.commit()


def test_the_sweep_deletes_only_what_is_past_its_retention(uow_factory: UnitOfWorkFactory) -> None:
    seed(uow_factory)

    result = run_job(uow_factory, "limpeza", now=NOW, options=ReminderOptions(), retention=POLICY)

    assert result is not None
    assert result.removed == 20 + 8 + 3
    assert count(uow_factory, ProcessedEvent) == 5
    uow = uow_factory()
    with uow:
        left = uow.session.execute(select(OutboxMessage.status, OutboxMessage.payload)).all()
    assert sorted(status for status, _ in left) == ["pending"] * 4 + ["sent"]
    assert count(uow_factory, WhatsAppRawUpdate) == 1


def test_running_it_again_finds_nothing_more(uow_factory: UnitOfWorkFactory) -> None:
    seed(uow_factory)
    run_job(uow_factory, "limpeza", now=NOW, options=ReminderOptions(), retention=POLICY)

    again = run_job(uow_factory, "limpeza", now=NOW, options=ReminderOptions(), retention=POLICY)

    assert again is not None
    assert again.removed == 0


def test_the_sweep_fires_on_one_instance_only(uow_factory: UnitOfWorkFactory) -> None:
    seed(uow_factory)
    assert take_lease(uow_factory, "limpeza", "outra-instancia", now=NOW)

    skipped = run_job(
        uow_factory, "limpeza", now=NOW, options=ReminderOptions(), holder="esta", retention=POLICY
    )

    assert skipped is None
    assert count(uow_factory, ProcessedEvent) == 25


def test_printed_danfes_outlive_the_other_files_until_their_own_lifetime(
    uow_factory: UnitOfWorkFactory, tmp_path: Path
) -> None:
    store = file_store(str(tmp_path / "files"))
    prefix = content_prefix(DANFE_CACHE)
    ages = {  # days old
        store.put(b"a ZIP of last week").key: 8,
        store.put(b"a ZIP of yesterday").key: 1,
        store.put_at(content_key(DANFE_CACHE, "a1" * 32), b"%PDF of last month").key: 40,
        store.put_at(content_key(DANFE_CACHE, "b2" * 32), b"%PDF of 3 months ago").key: 90,
    }
    for key, days in ages.items():
        moment = (NOW - timedelta(days=days)).timestamp()
        os.utime(tmp_path / "files" / key, (moment, moment))
    policy = RetentionPolicy(files=store, files_days=7, cache_days={prefix: 62}, batch=1)

    sweep_retention(uow_factory, now=NOW, policy=policy)

    left = {key for key in ages if store.exists(key)}
    assert left == {key for key, days in ages.items() if days in (1, 40)}
