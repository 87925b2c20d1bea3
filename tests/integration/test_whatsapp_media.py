"""WhatsApp messages that are not text, a button nor a document (image, voice note, sticker,
location, contacts, reaction, unsupported) become neutral media events, are answered, and their
media is never fetched. Signed payloads through the webhook, as test_whatsapp_webhook does."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from sqlalchemy import select

from handlers import texts
from services.messages import MediaBody, MediaKind
from storage.models import OutboxMessage, ProcessedEvent
from tests.integration.whatsapp_graph import BSUID, WA_ID, fixture
from tests.integration.whatsapp_support import Harness
from tests.support import make_office

_UNKNOWN_TYPE = [
    {
        "code": 131051,
        "title": "Message type unknown",
        "message": "Message type unknown",
        "error_data": {"details": "Message type is currently not supported."},
    }
]

# The message fields of each type, as the Cloud API sends them.
MESSAGES: dict[str, dict[str, Any]] = {
    "image": {
        "type": "image",
        "image": {
            "caption": "nota do fornecedor",
            "mime_type": "image/jpeg",
            "sha256": "4bC6nW1kMm8mQ0Cw3jz0l3v7Jk1yQvH0rJp0cQ1c2mE=",
            "id": "1479537139650973",
        },
    },
    "voice": {
        "type": "audio",
        "audio": {
            "mime_type": "audio/ogg; codecs=opus",
            "sha256": "Zk2nP0Jk5pS7bT1vC9sQ2oN8aL4dE6fG3hI5jK7lM9o=",
            "id": "1003383421387256",
            "voice": True,
        },
    },
    "video": {
        "type": "video",
        "video": {
            "mime_type": "video/mp4",
            "sha256": "p1Q2r3S4t5U6v7W8x9Y0z1A2b3C4d5E6f7G8h9I0j1K=",
            "id": "1216453966101473",
        },
    },
    "sticker": {
        "type": "sticker",
        "sticker": {
            "mime_type": "image/webp",
            "sha256": "lRvwJyiYxF5p8Q0mK3a9Bc7dE1fG2hI4jK6lM8nO0pQ=",
            "id": "2213445899097612",
            "animated": False,
        },
    },
    "location": {
        "type": "location",
        "location": {
            "latitude": -23.5614,
            "longitude": -46.6559,
            "name": "Escritório",
            "address": "Av. Paulista, 1000",
        },
    },
    "contacts": {
        "type": "contacts",
        "contacts": [
            {
                "name": {"formatted_name": "João Silva", "first_name": "João"},
                "phones": [{"phone": "+55 11 91234-5678", "wa_id": "5511912345678"}],
            }
        ],
    },
    "reaction": {
        "type": "reaction",
        "reaction": {"message_id": "wamid.OUT1", "emoji": "\U0001f44d"},
    },
    "unsupported": {"type": "unsupported", "errors": _UNKNOWN_TYPE},
    "unknown": {"type": "unknown", "errors": _UNKNOWN_TYPE},
}
EXPECTED = {
    "image": MediaBody(MediaKind.IMAGE, "1479537139650973"),
    "voice": MediaBody(MediaKind.AUDIO, "1003383421387256"),
    "video": MediaBody(MediaKind.VIDEO, "1216453966101473"),
    "sticker": MediaBody(MediaKind.STICKER, "2213445899097612"),
    "location": MediaBody(MediaKind.LOCATION),
    "contacts": MediaBody(MediaKind.CONTACT),
    "reaction": MediaBody(MediaKind.REACTION),
    "unsupported": MediaBody(MediaKind.OTHER),
    "unknown": MediaBody(MediaKind.OTHER),
}


def payload(name: str, *, shape: str = "text", wamid: str = "wamid.MEDIA1") -> bytes:
    """The text fixture (current shape, or the older one without user_id) carrying another
    kind of message."""
    body = json.loads(fixture(shape))
    message = body["entry"][0]["changes"][0]["value"]["messages"][0]
    del message["text"]
    message.update(json.loads(json.dumps(MESSAGES[name])), id=wamid)
    return json.dumps(body).encode()


@pytest.mark.parametrize("shape", ["text", "text_without_user_id"])
@pytest.mark.parametrize("name", list(MESSAGES))
async def test_each_message_type_becomes_a_media_event_only_an_image_is_fetched(
    recorder: Harness, caplog: pytest.LogCaptureFixture, name: str, shape: str
) -> None:
    caplog.set_level("INFO", logger="bot.channels.whatsapp")
    assert (await recorder.post(payload(name, shape=shape))).status_code == 200

    [event] = recorder.events
    key = f"wa:{BSUID}" if shape == "text" else f"wa:{WA_ID}"
    assert (event.identity_key, event.event_id, event.address) == (key, "wamid.MEDIA1", WA_ID)
    assert event.body == EXPECTED[name]
    fetched = [c.path.rsplit("/", 1)[-1] for c in recorder.graph.calls if c.method == "GET"]
    # an image may be a DANFE to read: its bytes are asked for (this one is unknown to the
    # Graph stand-in, so it comes marked unavailable); other media are never fetched
    assert fetched == (["1479537139650973"] if name == "image" else [])
    assert isinstance(event.body, MediaBody)
    assert (event.body.photo is not None) is (name == "image")
    # pywa reads the current shape; our parser the older one
    assert ("raw fallback" in caplog.text) is (shape != "text")
    assert "could not map" not in caplog.text
    uow = recorder.app.uow_factory()
    with uow:
        assert uow.whatsapp.raw_updates() == []  # read, not stored as not understood


def replies(harness: Harness) -> list[str]:
    uow = harness.app.uow_factory()
    with uow:
        rows = uow.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        return [row.payload["text"] for row in rows]


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("image", "image"),
        ("voice", "audio"),
        ("video", "video"),
        ("sticker", "sticker"),
        ("location", "location"),
        ("contacts", "contact"),
        ("unsupported", "other"),
    ],
)
async def test_each_type_is_answered_with_what_to_do_instead(
    live: Harness, name: str, kind: str
) -> None:
    make_office(live.app.uow_factory, 1, identity_key=f"wa:{BSUID}")

    await live.post(payload(name))

    # the menu shows as a list on WhatsApp: "toque em Ver opções", not "use os botões"
    note = texts.MEDIA_AT_MENU[kind].replace("use os botões", "toque em Ver opções")
    assert replies(live) == [f"{note}\n\n{texts.MENU_TEXT}"]


async def test_a_reaction_is_taken_in_silence(live: Harness) -> None:
    make_office(live.app.uow_factory, 1, identity_key=f"wa:{BSUID}")

    await live.post(payload("reaction"))

    assert replies(live) == []
    assert live.count(ProcessedEvent) == 1


# The fixtures were sent a few minutes before this (a /menu over 10 minutes old is ignored).
@time_machine.travel(datetime.fromtimestamp(1795800400, UTC), tick=True)
async def test_a_photo_in_the_middle_of_novo_cadastro_asks_the_same_question_again(
    live: Harness,
) -> None:
    make_office(live.app.uow_factory, 1, identity_key=f"wa:{BSUID}")
    await live.post(fixture("text"))  # /menu
    for n, choice in enumerate(["m:novo", "n:cadastro"]):
        body = json.loads(fixture("button_reply"))
        message = body["entry"][0]["changes"][0]["value"]["messages"][0]
        message["id"] = f"wamid.PRESS{n}"
        message["interactive"]["button_reply"]["id"] = choice
        await live.post(json.dumps(body).encode())
    assert replies(live)[-1] == texts.ASK_PAYER

    await live.post(payload("image"))

    note = texts.MEDIA_WANTS_BUTTON.format(what=texts.MEDIA_NAMES["image"])
    assert replies(live)[-1] == f"{note}\n\n{texts.ASK_PAYER}"
    uow = live.app.uow_factory()
    with uow:
        state = uow.conversations.load(f"wa:{BSUID}")
    assert state is not None
    assert (state.flow, state.step) == ("cadastro", "pagador")


@pytest.mark.parametrize(
    "message",
    [
        {"type": "request_welcome"},
        {
            "type": "system",
            "system": {
                "body": "User A changed from 5511987654321 to 5511912345678",
                "wa_id": "5511912345678",
                "type": "user_changed_number",
            },
        },
    ],
    ids=["request_welcome", "system"],
)
async def test_what_nobody_wrote_stays_unanswered(
    recorder: Harness, message: dict[str, Any]
) -> None:
    body = json.loads(fixture("text"))
    sent = body["entry"][0]["changes"][0]["value"]["messages"][0]
    del sent["text"]
    sent.update(message)

    assert (await recorder.post(json.dumps(body).encode())).status_code == 200

    assert recorder.events == []
