"""Telegram messages that are not text nor a document (photo, sticker, voice...) become neutral
media events and are answered in the chat; only a photo is downloaded (a step may read it:
Consultar nota reads a DANFE's barcode), the rest never."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import SecretStr
from telegram import Update

from bot.app import App
from bot.channels.telegram import TelegramChannel, from_settings, to_inbound
from bot.sender import OutboxSender
from handlers import texts
from services.messages import FileBody, MediaBody, MediaKind
from services.types import UnitOfWorkFactory
from tests.integration.fake_telegram import TOKEN, FakeBotApi, message_update
from tests.support import Office, make_office

USER = 111


def _file(file_id: str, **extra: Any) -> dict[str, Any]:
    return {"file_id": file_id, "file_unique_id": f"u-{file_id}", **extra}


# Message content as the Bot API sends it, by field.
CONTENT: dict[str, dict[str, Any]] = {
    "photo": {
        "photo": [
            _file("PHOTO-small", width=90, height=67, file_size=1_200),
            _file("PHOTO-big", width=1280, height=960, file_size=98_000),
        ],
        "caption": "nota fiscal",
    },
    "sticker": {
        "sticker": _file(
            "STICKER", type="regular", width=512, height=512, is_animated=False, is_video=False
        )
    },
    "voice": {"voice": _file("VOICE", duration=4, mime_type="audio/ogg", file_size=9_000)},
    "audio": {"audio": _file("AUDIO", duration=180, mime_type="audio/mpeg", title="Reunião")},
    "video": {"video": _file("VIDEO", width=640, height=360, duration=12)},
    "video_note": {"video_note": _file("ROUND", length=240, duration=5)},
    "animation": {
        # a GIF carries a `document` too; it is still not a file sent to us
        "animation": _file("GIF", width=320, height=240, duration=2),
        "document": _file("GIF", file_name="gif.mp4", mime_type="video/mp4"),
    },
    "location": {"location": {"latitude": -23.5614, "longitude": -46.6559}},
    "venue": {
        "location": {"latitude": -23.5614, "longitude": -46.6559},
        "venue": {
            "location": {"latitude": -23.5614, "longitude": -46.6559},
            "title": "Escritório",
            "address": "Av. Paulista, 1000",
        },
    },
    "contact": {
        "contact": {"phone_number": "+5511987654321", "first_name": "João", "user_id": 222}
    },
    "dice": {"dice": {"emoji": "🎲", "value": 4}},
}
EXPECTED = {
    "photo": MediaBody(MediaKind.IMAGE, "PHOTO-big"),
    "sticker": MediaBody(MediaKind.STICKER, "STICKER"),
    "voice": MediaBody(MediaKind.AUDIO, "VOICE"),
    "audio": MediaBody(MediaKind.AUDIO, "AUDIO"),
    "video": MediaBody(MediaKind.VIDEO, "VIDEO"),
    "video_note": MediaBody(MediaKind.VIDEO, "ROUND"),
    "animation": MediaBody(MediaKind.VIDEO, "GIF"),
    "location": MediaBody(MediaKind.LOCATION),
    "venue": MediaBody(MediaKind.LOCATION),
    "contact": MediaBody(MediaKind.CONTACT),
    "dice": MediaBody(MediaKind.OTHER),
}


def media_update(update_id: int, field: str) -> dict[str, Any]:
    update = message_update(update_id, USER, "x", message_id=20 + update_id)
    del update["message"]["text"]
    update["message"].update(CONTENT[field])
    return update


@pytest.fixture
def api() -> FakeBotApi:
    return FakeBotApi()


@pytest.fixture
async def channel(app: App, api: FakeBotApi) -> AsyncIterator[TelegramChannel]:
    settings = app.settings.model_copy(update={"telegram_bot_token": SecretStr(TOKEN)})
    channel = from_settings(settings, app.conversation.handle, app.uow_factory, request=api)
    await channel.start()
    yield channel
    await channel.stop()


@pytest.fixture
def office(uow_factory: UnitOfWorkFactory) -> Office:
    return make_office(uow_factory, 1, identity_key=f"tg:{USER}")


@pytest.mark.parametrize("field", list(CONTENT))
async def test_each_kind_of_message_becomes_a_media_event(
    channel: TelegramChannel, field: str
) -> None:
    event = to_inbound(Update.de_json(media_update(5, field), channel.bot))
    assert event is not None
    assert (event.identity_key, event.event_id, event.address) == ("tg:111", "5", "111")
    assert event.body == EXPECTED[field]


async def test_a_document_is_still_a_file(channel: TelegramChannel) -> None:
    update = message_update(6, USER, "x")
    del update["message"]["text"]
    update["message"]["document"] = _file("DOC", file_name="a.pfx", file_size=10)
    event = to_inbound(Update.de_json(update, channel.bot))
    assert event is not None
    assert event.body == FileBody("DOC", "a.pfx", "application/octet-stream", 10)


@pytest.mark.parametrize(
    ("field", "kind"),
    [
        ("photo", "image"),
        ("sticker", "sticker"),
        ("voice", "audio"),
        ("video_note", "video"),
        ("location", "location"),
        ("contact", "contact"),
    ],
)
async def test_at_the_menu_each_kind_is_answered_with_the_menu_and_nothing_is_downloaded(
    app: App, api: FakeBotApi, channel: TelegramChannel, office: Office, field: str, kind: str
) -> None:
    await channel.process(Update.de_json(message_update(1, USER, "/menu"), channel.bot))
    await channel.process(Update.de_json(media_update(2, field), channel.bot))
    await OutboxSender(app.uow_factory, [channel]).send_due()

    _menu, reply = api.called("sendMessage")
    assert reply.params["text"] == f"{texts.MEDIA_AT_MENU[kind]}\n\n{texts.MENU_TEXT}"
    assert [b["text"] for row in reply.params["reply_markup"]["inline_keyboard"] for b in row] == [
        texts.CLIENTES,
        texts.NOVO_CLIENTE,
        texts.CONSULTAR_NOTA,
        texts.MEUS_DADOS,
        texts.AJUDA,
        texts.PENDENCIAS_BUTTON.format(count=0),
    ]
    assert [c.params["file_id"] for c in api.called("getFile")] == (
        ["PHOTO-big"] if field == "photo" else []
    )
