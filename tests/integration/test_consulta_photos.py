"""Consultar nota with a chat photo: a Telegram photo (message.photo, the compressed image
Telegram keeps) and a WhatsApp image message reach the same barcode reader as an image sent
as a document. The DANFE is rendered, rasterized and shrunk to a chat photo's 1280 pixels."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import time_machine
from PIL import Image
from pydantic import SecretStr
from sqlalchemy import select
from telegram import Update

from bot.app import App, build_runtime
from bot.channels.telegram import TelegramChannel, from_settings
from bot.sender import OutboxSender
from domain.fiscal import Modelo
from handlers import texts
from services.messages import ChoiceBody, Inbound, TextBody
from storage.models import OutboxMessage
from tests.integration.fake_telegram import TOKEN, FakeBotApi, callback_update, message_update
from tests.integration.test_whatsapp_media import MESSAGES
from tests.integration.test_whatsapp_webhook import Harness
from tests.integration.whatsapp_graph import BSUID, GraphStandIn, fixture
from tests.integration.whatsapp_support import wa_settings
from tests.support import add_client, make_office
from tests.unit.fiscal_chat.chat_support import store
from tests.unit.fiscal_chat.factory import NotaSpec, nfe_proc_xml
from tests.unit.sefaz.test_consulta_chave import photo

USER = 111
CHAT_PHOTO_SIDE = 1280  # what Telegram and WhatsApp keep of a photo sent compressed


def chat_photo(spec: NotaSpec) -> bytes:
    """The note's DANFE photographed whole and compressed as a chat photo."""
    image = Image.open(io.BytesIO(photo(spec, Modelo.NFE)))
    image.thumbnail((CHAT_PHOTO_SIDE, CHAT_PHOTO_SIDE))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


def stored_note(app: App, n: int, identity_key: str) -> NotaSpec:
    """A note issued by a client of the office this identity belongs to."""
    office = make_office(app.uow_factory, 1, identity_key=identity_key)
    card = add_client(app.uow_factory, office.gestor, 7, name="ACME Comércio Ltda")
    spec = NotaSpec(
        numero=n, dh_emi=datetime(2026, 10, 15, 10, 30, tzinfo=UTC), emitente_cnpj=card.documento
    )
    store(app.uow_factory, card, [("nota.xml", nfe_proc_xml(spec))])
    return spec


# -- Telegram -------------------------------------------------------------------------------------


@pytest.fixture
def api() -> FakeBotApi:
    return FakeBotApi()


@pytest.fixture
async def channel(app: App, api: FakeBotApi) -> AsyncIterator[TelegramChannel]:
    settings = app.settings.model_copy(update={"telegram_bot_token": SecretStr(TOKEN)})
    channel = from_settings(
        settings,
        app.conversation.handle,
        app.uow_factory,
        request=api,
        wants_photo=app.conversation.wants_photo,  # as build_runtime wires it
    )
    await channel.start()
    yield channel
    await channel.stop()


def photo_update(update_id: int, sizes: list[tuple[str, int]]) -> dict[str, Any]:
    update = message_update(update_id, USER, "x", message_id=30 + update_id)
    del update["message"]["text"]
    update["message"]["photo"] = [
        {"file_id": file_id, "file_unique_id": f"u-{file_id}", "width": side, "height": side}
        for file_id, side in sizes
    ]
    return update


async def test_a_telegram_photo_of_a_danfe_at_consultar_nota_finds_the_note(
    app: App, api: FakeBotApi, channel: TelegramChannel
) -> None:
    spec = stored_note(app, 31, f"tg:{USER}")
    api.files["PH-small"] = b"not read"
    api.files["PH-big"] = chat_photo(spec)
    await channel.process(Update.de_json(message_update(1, USER, "/menu"), channel.bot))
    await channel.process(
        Update.de_json(callback_update(2, USER, "m:consulta", message_id=1), channel.bot)
    )
    await channel.process(
        Update.de_json(photo_update(3, [("PH-small", 90), ("PH-big", 1280)]), channel.bot)
    )
    await OutboxSender(app.uow_factory, [channel]).send_due()

    answer = api.called("sendMessage")[-1].params["text"]
    assert answer.startswith(f"🔎 Nota {spec.chave()}\nSituação: autorizada")
    assert [c.params["file_id"] for c in api.called("getFile")] == ["PH-big"]


async def test_a_telegram_photo_without_a_key_says_what_to_do_and_asks_again(
    app: App, api: FakeBotApi, channel: TelegramChannel
) -> None:
    make_office(app.uow_factory, 1, identity_key=f"tg:{USER}")
    blank = io.BytesIO()
    Image.new("RGB", (1280, 960), "white").save(blank, "JPEG")
    api.files["PH-blank"] = blank.getvalue()
    await channel.process(Update.de_json(message_update(1, USER, "/menu"), channel.bot))
    await channel.process(
        Update.de_json(callback_update(2, USER, "m:consulta", message_id=1), channel.bot)
    )
    await channel.process(Update.de_json(photo_update(3, [("PH-blank", 1280)]), channel.bot))
    await OutboxSender(app.uow_factory, [channel]).send_due()

    answer = api.called("sendMessage")[-1].params["text"]
    assert "Não encontrei a chave de acesso na foto" in answer
    assert texts.CONSULTA_ASK in answer


async def test_a_telegram_photo_where_no_step_reads_one_is_answered_without_downloading_it(
    app: App, api: FakeBotApi, channel: TelegramChannel
) -> None:
    make_office(app.uow_factory, 1, identity_key=f"tg:{USER}")
    api.files["PH-big"] = b"never fetched"
    await channel.process(Update.de_json(message_update(1, USER, "/menu"), channel.bot))
    await channel.process(Update.de_json(photo_update(3, [("PH-big", 1280)]), channel.bot))
    await OutboxSender(app.uow_factory, [channel]).send_due()

    assert api.called("getFile") == []
    assert api.called("sendMessage")[-1].params["text"].startswith(texts.MEDIA_AT_MENU["image"])


async def test_serve_wires_the_channels_to_download_photos_only_where_a_step_reads_them(
    app: App,
) -> None:
    wa_settings(app)
    app.settings = app.settings.model_copy(update={"telegram_bot_token": SecretStr(TOKEN)})
    async with httpx.AsyncClient(transport=httpx.MockTransport(GraphStandIn().handler)) as wa:
        runtime = build_runtime(app, telegram_request=FakeBotApi(), whatsapp_session=wa)
        assert runtime.telegram is not None
        assert runtime.whatsapp is not None
        assert runtime.telegram.wants_photo == app.conversation.wants_photo
        assert runtime.whatsapp.wants_photo == app.conversation.wants_photo


def test_a_conversation_wants_a_photo_only_at_a_live_step_that_reads_one(app: App) -> None:
    key = f"tg:{USER}"
    make_office(app.uow_factory, 1, identity_key=key)
    engine = app.conversation
    assert not engine.wants_photo(key)  # no conversation yet
    at = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)
    for n, (choice, wanted) in enumerate(
        [("/menu", False), ("m:consulta", True), ("nav:menu", False)], start=1
    ):
        body: TextBody | ChoiceBody = (
            TextBody(choice) if choice.startswith("/") else ChoiceBody(choice)
        )
        with time_machine.travel(at, tick=False):
            engine.handle(Inbound("telegram", key, f"ev{n}", str(USER), body, at, message_ref="1"))
            assert engine.wants_photo(key) is wanted
    engine.handle(Inbound("telegram", key, "ev9", str(USER), ChoiceBody("m:consulta"), at))
    with time_machine.travel(at + timedelta(days=30)):  # the step's state expired
        assert not engine.wants_photo(key)


# -- WhatsApp -------------------------------------------------------------------------------------


@pytest.fixture
async def live(app: App) -> AsyncIterator[Harness]:
    harness = Harness(app, record_only=False)
    harness.channel.wants_photo = app.conversation.wants_photo  # as build_runtime wires it
    yield harness
    await harness.close()


# The fixtures were sent a few minutes before this (a /menu over 10 minutes old is ignored).
SENT = time_machine.travel(datetime.fromtimestamp(1795800400, UTC), tick=True)


def press_consultar() -> bytes:
    body = json.loads(fixture("button_reply"))
    message = body["entry"][0]["changes"][0]["value"]["messages"][0]
    message["id"] = "wamid.PRESS"
    message["interactive"]["button_reply"]["id"] = "m:consulta"
    return json.dumps(body).encode()


def image(media_id: str) -> bytes:
    """The Cloud API's image message (as test_whatsapp_media has it) with this media id."""
    fields = json.loads(json.dumps(MESSAGES["image"]))
    fields["image"]["id"] = media_id
    body = json.loads(fixture("text"))
    message = body["entry"][0]["changes"][0]["value"]["messages"][0]
    del message["text"]
    message.update(fields, id="wamid.IMAGE")
    return json.dumps(body).encode()


def replies(harness: Harness) -> list[str]:
    uow = harness.app.uow_factory()
    with uow:
        rows = uow.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        return [row.payload.get("text", "") for row in rows]


@SENT
async def test_a_whatsapp_image_of_a_danfe_at_consultar_nota_finds_the_note(
    app: App, live: Harness
) -> None:
    spec = stored_note(app, 32, f"wa:{BSUID}")
    live.graph.add_media("5550001", chat_photo(spec), "image/jpeg")
    await live.post(fixture("text"))  # /menu
    await live.post(press_consultar())
    assert replies(live)[-1].startswith(texts.CONSULTA_ASK)
    await live.post(image("5550001"))

    assert replies(live)[-1].startswith(f"🔎 Nota {spec.chave()}\nSituação: autorizada")


@SENT
async def test_a_whatsapp_image_that_could_not_be_fetched_asks_to_send_it_again(
    app: App, live: Harness
) -> None:
    make_office(app.uow_factory, 1, identity_key=f"wa:{BSUID}")
    await live.post(fixture("text"))  # /menu
    await live.post(press_consultar())
    await live.post(image("5550404"))

    said = texts.FILE_UNAVAILABLE.format(name="foto.jpg")
    assert replies(live)[-1] == f"{said}\n\n{texts.CONSULTA_ASK}"


@SENT
async def test_a_whatsapp_image_where_no_step_reads_one_is_answered_without_fetching_it(
    app: App, live: Harness
) -> None:
    make_office(app.uow_factory, 1, identity_key=f"wa:{BSUID}")
    live.graph.add_media("5550002", b"never fetched", "image/jpeg")
    await live.post(fixture("text"))  # /menu
    await live.post(image("5550002"))

    assert not [call for call in live.graph.calls if "5550002" in call.path]
    assert replies(live)[-1].startswith(texts.MEDIA_AT_MENU["image"])
