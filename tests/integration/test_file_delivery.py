"""Generated files go through the file store, never the outbox: a job writes the ZIP to the
store and enqueues a reference; the channels stream it from there at send time; a row queued
before the store (bytes in `blob`) still delivers; a file gone from the store fails its row
with the reason; the retention sweep expires old files."""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from pydantic import SecretStr
from sqlalchemy import insert, select
from telegram import Update

from bot.app import App
from bot.channels.console import ConsoleChannel
from bot.channels.telegram import TelegramChannel, from_settings
from bot.gateways.file_store import LocalFileStore
from bot.sender import OutboxSender
from handlers import texts
from services import outbox
from services.conversation import ConversationEngine, Outcome, Turn, enqueue_to
from services.files import FileMissing, FileRef
from services.messages import Document, Image
from services.retention import RetentionPolicy, sweep_retention
from services.types import UnitOfWorkFactory
from storage.conversation import ClaimedMessage
from storage.models import OutboxMessage
from tests.integration.fake_telegram import TOKEN, FakeBotApi, callback_update
from tests.integration.whatsapp_graph import BSUID, WA_ID
from tests.integration.whatsapp_support import wa_channel
from tests.support import Chat, add_client, make_office
from tests.unit.fiscal_chat.chat_support import NOW, open_gerenciar, store_emitted

USER = 111
ZIP_NAME = "ACME-Comercio-Ltda_2026-10_NFe.zip"
KEY = f"wa:{BSUID}"


@pytest.fixture(autouse=True)
def clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture
async def telegram(app: App) -> AsyncIterator[tuple[TelegramChannel, FakeBotApi]]:
    api = FakeBotApi()
    settings = app.settings.model_copy(update={"telegram_bot_token": SecretStr(TOKEN)})
    channel = from_settings(
        settings, app.conversation.handle, app.uow_factory, request=api, files=app.files
    )
    await channel.start()
    yield channel, api
    await channel.stop()


def rows(uow_factory: UnitOfWorkFactory) -> list[Any]:
    uow = uow_factory()
    with uow:
        query = select(OutboxMessage.__table__).order_by(OutboxMessage.id)
        return list(uow.session.execute(query).all())


def documents(uow_factory: UnitOfWorkFactory) -> list[Any]:
    return [row for row in rows(uow_factory) if row.payload["type"] == "document"]


def push(app: App, message: Document | Image, identity: str = f"tg:{USER}") -> None:
    channel, address = identity.split(":", 1)
    channel = {"tg": "telegram", "wa": "whatsapp"}.get(channel, channel)
    uow = app.uow_factory()
    with uow:
        enqueue_to(uow, channel, identity, address, [message], datetime.now(UTC))
        uow.commit()


async def test_a_zip_job_goes_to_telegram_streamed_from_the_store_and_the_row_has_no_bytes(
    app: App, telegram: tuple[TelegramChannel, FakeBotApi]
) -> None:
    channel, api = telegram
    chat = Chat(app.conversation, app.uow_factory, f"tg:{USER}", "telegram", files=app.files)
    office = make_office(app.uow_factory, 1, identity_key=chat.identity_key)
    acme = add_client(app.uow_factory, office.gestor, 1, name="ACME Comércio Ltda")
    specs = store_emitted(app.uow_factory, acme, 5)
    open_gerenciar(chat, "ACME Comércio Ltda")
    chat.press(texts.XMLS_EMITIDOS)
    chat.press(texts.MES_ANTERIOR)
    nfe = callback_update(900, USER, chat.button_id(texts.NFE), message_id=77)

    await channel.process(Update.de_json(nfe, channel.bot))  # the job runs after the commit
    await OutboxSender(app.uow_factory, [channel]).send_due()

    (row,) = documents(app.uow_factory)
    assert row.blob is None
    assert row.status == "sent"
    reference = row.payload["file"]
    assert row.payload["name"] == ZIP_NAME
    assert row.payload["mime"] == "application/zip"
    assert "ACME" not in reference["key"]  # the name travels in the payload, not in the key
    (sent,) = api.called("sendDocument")
    ((filename, content, mime),) = sent.files.values()
    assert (filename, mime) == (ZIP_NAME, "application/zip")
    assert sent.params["caption"] == row.payload["caption"]
    assert (reference["size"], reference["sha256"]) == (
        len(content),
        hashlib.sha256(content).hexdigest(),
    )
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        assert sorted(archive.namelist()) == sorted(f"{s.chave()}-nfe.xml" for s in specs)


async def test_a_row_queued_before_the_store_still_delivers_its_bytes(
    app: App, telegram: tuple[TelegramChannel, FakeBotApi]
) -> None:
    channel, api = telegram
    uow = app.uow_factory()
    with uow:  # exactly what the old code wrote: the bytes in `blob`, no "file" in the payload
        old = {"type": "document", "name": "antigo.zip", "mime": "application/zip", "caption": "x"}
        uow.session.execute(
            insert(OutboxMessage),
            [
                {
                    "channel": "telegram",
                    "identity_key": f"tg:{USER}",
                    "address": str(USER),
                    "payload": old,
                    "blob": b"PK old bytes",
                    "status": "pending",
                    "attempts": 0,
                    "not_before": datetime.now(UTC),
                    "created_at": datetime.now(UTC),
                }
            ],
        )
        uow.commit()

    await OutboxSender(app.uow_factory, [channel]).send_due()

    (sent,) = api.called("sendDocument")
    assert next(iter(sent.files.values()))[:2] == ("antigo.zip", b"PK old bytes")
    (row,) = rows(app.uow_factory)
    assert (row.status, row.blob) == ("sent", None)


async def test_a_file_missing_from_the_store_fails_the_row_with_the_reason(
    app: App, telegram: tuple[TelegramChannel, FakeBotApi]
) -> None:
    channel, api = telegram
    ref = app.files.put(b"PK gone soon")
    app.files.delete(ref.key)
    push(app, Document("mes.zip", "application/zip", caption="Seu ZIP", file=ref))

    sender = OutboxSender(app.uow_factory, [channel])
    await sender.send_due()
    await sender.send_due()

    document, told = rows(app.uow_factory)
    assert document.status == "failed"
    assert ref.key in document.error
    assert "expirou ou foi apagado" in document.error
    assert not api.called("sendDocument")
    # the person is told, in place of the file, instead of waiting for it
    assert told.status == "sent"
    (said,) = api.called("sendMessage")
    assert said.params["text"] == outbox.FILE_GONE.format(name="mes.zip")


async def test_a_chart_from_the_store_goes_as_a_photo(
    app: App, telegram: tuple[TelegramChannel, FakeBotApi]
) -> None:
    channel, api = telegram
    png = b"\x89PNG\r\n\x1a\nchart"
    push(app, Image("grafico.png", "image/png", file=app.files.put(png)))

    await OutboxSender(app.uow_factory, [channel]).send_due()

    (sent,) = api.called("sendPhoto")
    assert next(iter(sent.files.values()))[:2] == ("grafico.png", png)
    (row,) = rows(app.uow_factory)
    assert (row.status, row.blob) == ("sent", None)


def test_the_console_copies_the_zip_from_the_store_to_its_downloads(
    app: App, tmp_path: Path
) -> None:
    office = make_office(app.uow_factory, 1, identity_key="console:ana")
    acme = add_client(app.uow_factory, office.gestor, 1, name="ACME Comércio Ltda")
    store_emitted(app.uow_factory, acme, 3)
    out = io.StringIO()
    downloads = tmp_path / "downloads"
    console = ConsoleChannel(
        "ana", app.conversation.handle, app.uow_factory, downloads, out=out, files=app.files
    )
    script = ["/menu", texts.CLIENTES, "ACME Comércio Ltda", texts.GERENCIAR,
              texts.XMLS_EMITIDOS, texts.MES_ANTERIOR, texts.NFE]  # fmt: skip

    console.run(script, interactive=False)

    (row,) = documents(app.uow_factory)
    assert row.blob is None
    copied = (downloads / ZIP_NAME).read_bytes()
    with app.files.open(row.payload["file"]["key"]) as stored:
        assert copied == stored.read()
    assert f"[documento] {ZIP_NAME} ({len(copied)} bytes)" in out.getvalue()


def test_the_console_says_when_a_file_is_gone_and_fails_the_row(app: App, tmp_path: Path) -> None:
    ref = FileRef("ab/" + "0" * 48, 10, "0" * 64)
    push(app, Document("mes.zip", "application/zip", file=ref), identity="console:ana")
    out = io.StringIO()
    console = ConsoleChannel(
        "ana", app.conversation.handle, app.uow_factory, tmp_path, out=out, files=app.files
    )

    console.drain()

    assert "(arquivo indisponível: arquivo ab/000" in out.getvalue()
    (row,) = rows(app.uow_factory)
    assert row.status == "failed"
    assert not (tmp_path / "mes.zip").exists()


async def test_whatsapp_uploads_the_file_from_the_store(app: App) -> None:
    graph, channel = wa_channel(app)
    make_office(app.uow_factory, 1, identity_key=KEY)  # wrote just now: window open
    stored = app.files.put(b"PK whatsapp zip")
    gone = app.files.put(b"PK expired")
    app.files.delete(gone.key)

    def claimed(message_id: int, ref: FileRef) -> ClaimedMessage:
        payload = {"type": "document", "name": "mes.zip", "mime": "application/zip",
                   "caption": None, "file": ref.to_json()}  # fmt: skip
        return ClaimedMessage(message_id, "whatsapp", KEY, WA_ID, payload, None, 0)

    sent = await channel.deliver(claimed(1, stored))
    missing = await channel.deliver(claimed(2, gone))
    await channel.stop()

    assert isinstance(sent, outbox.Delivered)
    assert list(graph.media.values()) == [(b"PK whatsapp zip", "application/zip")]
    assert isinstance(missing, outbox.Failed)
    assert gone.key in missing.error
    assert missing.file_gone  # the sender tells the person in its place


def test_the_retention_sweep_deletes_files_older_than_their_ttl(tmp_path: Path, app: App) -> None:
    store = LocalFileStore(tmp_path / "sweep")
    old = store.put(b"last week's ZIP")
    fresh = store.put(b"yesterday's ZIP")
    for ref, age in ((old, timedelta(days=8)), (fresh, timedelta(days=1))):
        written = (NOW - age).timestamp()
        os.utime(store.root / ref.key, (written, written))
    policy = RetentionPolicy(files=store, files_days=7, batch=1)

    result = sweep_retention(app.uow_factory, now=NOW, policy=policy)

    assert result.removed == 1
    with pytest.raises(FileMissing):
        store.open(old.key)
    with store.open(fresh.key) as kept:
        assert kept.read() == b"yesterday's ZIP"


def test_a_document_a_step_makes_goes_to_the_store_too(app: App) -> None:
    xml = b"<nfeProc>...</nfeProc>"

    def dialogue(turn: Turn) -> Outcome:
        return Outcome([Document("nota.xml", "application/xml", xml, caption="A nota")], None)

    engine = ConversationEngine(app.uow_factory, dialogue, files=app.files)
    chat = Chat(engine, app.uow_factory, files=app.files)

    (received,) = chat.say("Baixar XML")

    (row,) = documents(app.uow_factory)
    assert row.blob is None
    assert row.payload["file"]["size"] == len(xml)
    assert row.payload["file"]["sha256"] == hashlib.sha256(xml).hexdigest()
    assert received == Document(
        "nota.xml", "application/xml", xml, "A nota", FileRef.from_json(row.payload["file"])
    )


def test_a_button_pressed_after_the_file_expired_builds_it_anew_under_a_new_key(
    app: App, chat: Chat
) -> None:
    office = make_office(app.uow_factory, 1, identity_key=chat.identity_key)
    acme = add_client(app.uow_factory, office.gestor, 1, name="ACME Comércio Ltda")
    store_emitted(app.uow_factory, acme, 2)
    open_gerenciar(chat, "ACME Comércio Ltda")
    chat.press(texts.XMLS_EMITIDOS)
    chat.press(texts.MES_ANTERIOR)
    chat.press(texts.NFE)
    (first,) = chat.documents()
    assert first.file is not None
    app.files.delete(first.file.key)  # what the retention sweep does after FILE_TTL_DAYS

    chat.press(texts.NFE)  # the month question is asked again under the ZIP

    (_, second) = chat.documents()
    assert second.file is not None
    assert second.file.key != first.file.key
    assert second.data == first.data  # the same notes, zipped again (deterministic)


def test_the_reports_chart_pdf_and_table_are_all_references_in_the_outbox(
    app: App, chat: Chat
) -> None:
    office = make_office(app.uow_factory, 1, identity_key=chat.identity_key)
    acme = add_client(app.uow_factory, office.gestor, 1, name="ACME Comércio Ltda")
    store_emitted(app.uow_factory, acme, 3)
    open_gerenciar(chat, "ACME Comércio Ltda")
    chat.press(texts.RELATORIOS_FEATURE)
    chat.press(texts.MES_ANTERIOR)
    chat.press(texts.NFE)
    chat.press(texts.RELATORIO_CSV)

    files = [row for row in rows(app.uow_factory) if row.payload["type"] in ("document", "image")]
    assert [row.payload["name"].rsplit(".", 1)[-1] for row in files] == ["png", "pdf", "csv"]
    assert all(row.blob is None and row.payload["file"]["size"] > 0 for row in files)
    received = [m for m in chat.received if isinstance(m, Document | Image)]
    assert received[1].data.startswith(b"%PDF")  # read back from the store
