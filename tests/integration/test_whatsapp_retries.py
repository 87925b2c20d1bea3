"""An upload or send failing with an unexpected error is retried a bounded number of times,
each wait longer than the last, then recorded failed (never retried forever)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import IO

import pytest
import time_machine

from bot.app import App
from bot.sender import OutboxSender
from services import outbox
from services.files import FileStore
from services.messages import Document
from services.outbox import enqueue_to_returning
from storage.models import OutboxMessage
from tests.integration.whatsapp_graph import WA_ID
from tests.integration.whatsapp_person import KEY, Person, bind
from tests.support import cnpj


class BrokenDisk:
    """A file store whose reads fail in a way nobody planned for."""

    def __init__(self, store: FileStore) -> None:
        self.store = store
        self.opened = 0

    def open(self, key: str) -> IO[bytes]:
        self.opened += 1
        raise OSError("disco com defeito")

    def __getattr__(self, name: str) -> object:
        return getattr(self.store, name)


@pytest.fixture
async def person(app: App) -> AsyncIterator[Person]:
    built = Person(app)
    await bind(built, cnpj(4346))
    yield built
    await built.close()


def row(person: Person, message_id: int) -> OutboxMessage:
    uow = person.app.uow_factory()
    with uow:
        found = uow.session.get(OutboxMessage, message_id)
        assert found is not None
        uow.session.expunge(found)
        return found


async def test_an_upload_failing_unexpectedly_is_retried_with_backoff_then_failed(
    person: Person,
) -> None:
    broken = BrokenDisk(person.app.files)
    person.channel.sender.files = broken  # type: ignore[assignment]
    ref = person.app.files.put(b"PK zip")
    uow = person.app.uow_factory()
    with uow:
        document = Document("notas.zip", "application/zip", b"", None, ref)
        [message_id] = enqueue_to_returning(
            uow, "whatsapp", KEY, WA_ID, [document], datetime.now(UTC)
        )
        uow.commit()
    sender = OutboxSender(person.app.uow_factory, [person.channel])

    waits: list[timedelta] = []
    moment = datetime.now(UTC)
    for _ in range(outbox.MAX_ATTEMPTS + 3):
        with time_machine.travel(moment, tick=False):
            await sender.send_due()
        stored = row(person, message_id)
        if stored.status == "failed":
            break
        assert stored.status == "pending"
        waits.append(stored.not_before - moment)
        moment = stored.not_before + timedelta(seconds=1)

    assert stored.status == "failed"
    assert "OSError" in (stored.error or "")
    assert stored.attempts == outbox.MAX_ATTEMPTS
    assert broken.opened == outbox.MAX_ATTEMPTS
    assert waits == sorted(waits)
    assert waits[0] < waits[-1]
    assert not [s for s in person.graph.sent() if s["type"] == "document"]
