"""Enviar certificado over Telegram (Bot API fake): the file is fetched into memory, the
password message is deleted right after it is read, and the password is never logged."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr
from telegram import Update

from bot.app import App
from bot.channels.telegram import TelegramChannel, from_settings, to_inbound
from bot.sender import OutboxSender
from handlers import texts
from services import integration_keys
from services.types import UnitOfWorkFactory
from tests.integration.fake_telegram import (
    TOKEN,
    FakeBotApi,
    callback_update,
    document_update,
    message_update,
)
from tests.support import Office, add_client, make_office
from tests.unit.certificates.pfx_factory import PASSWORD
from tests.unit.configuracoes.helpers import pfx_for, stored_certificate

USER = 222


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


async def walk_to_file(channel: TelegramChannel, office: Office) -> int:
    """From /menu to the certificate upload's file question; the client's id."""
    client = add_client(channel.uow_factory, office.gestor, 1)
    await channel.process(Update.de_json(message_update(1, USER, "/menu"), channel.bot))
    for n, data in enumerate(
        ("m:clientes", f"c:{client.id}", "g:open", "a:config", "cfg:cert", "cert:send"), start=2
    ):
        payload = callback_update(n, USER, data, message_id=500)
        await channel.process(Update.de_json(payload, channel.bot))
    return client.id


async def walk_to_password(
    app: App, channel: TelegramChannel, api: FakeBotApi, office: Office, pfx: bytes
) -> int:
    client_id = await walk_to_file(channel, office)
    api.files["FILE-abc"] = pfx
    payload = document_update(
        20, USER, name="empresa.pfx", mime="application/x-pkcs12", size=len(pfx)
    )
    await channel.process(Update.de_json(payload, channel.bot))
    await OutboxSender(app.uow_factory, [channel]).send_due()
    return client_id


async def test_the_password_message_is_deleted_right_after_it_is_read_and_never_logged(
    app: App,
    api: FakeBotApi,
    channel: TelegramChannel,
    office: Office,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    client_id = await walk_to_password(app, channel, api, office, pfx_for(1))
    prompt = api.called("sendMessage")[-1].params["text"]
    assert prompt == texts.CERT_PROMPT_DELETES.format(name="empresa.pfx")
    assert not api.called("deleteMessage")

    typed = message_update(90, USER, PASSWORD, message_id=4321)
    await channel.process(Update.de_json(typed, channel.bot))
    await OutboxSender(app.uow_factory, [channel]).send_due()

    (deleted,) = api.called("deleteMessage")
    assert deleted.params == {"chat_id": USER, "message_id": 4321}
    assert api.calls.index(deleted) < api.calls.index(api.called("sendMessage")[-1])
    assert stored_certificate(app.uow_factory, client_id) is not None
    assert PASSWORD not in caplog.text
    assert all(PASSWORD not in str(call.params) for call in api.calls if call.method != "getFile")


async def test_a_wrong_password_message_is_deleted_too(
    app: App, api: FakeBotApi, channel: TelegramChannel, office: Office
) -> None:
    await walk_to_password(app, channel, api, office, pfx_for(1))

    typed = message_update(91, USER, "senha-errada", message_id=4400)
    await channel.process(Update.de_json(typed, channel.bot))
    await OutboxSender(app.uow_factory, [channel]).send_due()

    assert [c.params["message_id"] for c in api.called("deleteMessage")] == [4400]
    assert api.called("sendMessage")[-1].params["text"].endswith("Tentativa 2 de 3.")


async def test_a_password_telegram_refuses_to_delete_is_followed_by_a_request_to_delete_it(
    app: App, api: FakeBotApi, channel: TelegramChannel, office: Office
) -> None:
    client_id = await walk_to_password(app, channel, api, office, pfx_for(1))
    api.fail_next("deleteMessage", 400, "Bad Request: message can't be deleted")

    typed = message_update(92, USER, PASSWORD, message_id=4500)
    await channel.process(Update.de_json(typed, channel.bot))
    await OutboxSender(app.uow_factory, [channel]).send_due()

    (refused,) = api.called("deleteMessage")
    assert refused.params == {"chat_id": USER, "message_id": 4500}
    after = api.calls[api.calls.index(refused) + 1]
    assert after.method == "sendMessage"
    assert after.params["text"] == texts.APAGUE_A_SENHA  # at once, before anything else
    assert "apague a mensagem com a senha" in after.params["text"]
    assert stored_certificate(app.uow_factory, client_id) is not None


async def test_text_typed_instead_of_the_file_is_deleted_as_it_may_be_the_password(
    app: App, api: FakeBotApi, channel: TelegramChannel, office: Office
) -> None:
    await walk_to_file(channel, office)

    typed = message_update(30, USER, PASSWORD, message_id=4600)
    await channel.process(Update.de_json(typed, channel.bot))
    await OutboxSender(app.uow_factory, [channel]).send_due()

    (deleted,) = api.called("deleteMessage")
    assert deleted.params == {"chat_id": USER, "message_id": 4600}
    texts_sent = [c.params["text"] for c in api.called("sendMessage")]
    assert texts.CERT_TEXT_INSTEAD_OF_FILE not in texts_sent
    assert texts_sent[-2] == f"⚠️ {texts.CERT_FILE_EXPECTED}"
    assert all(PASSWORD not in str(call.params) for call in api.calls)


async def test_text_instead_of_the_file_that_cannot_be_deleted_is_followed_by_a_request(
    app: App, api: FakeBotApi, channel: TelegramChannel, office: Office
) -> None:
    await walk_to_file(channel, office)
    api.fail_next("deleteMessage", 400, "Bad Request: message can't be deleted")

    typed = message_update(31, USER, "/" + PASSWORD, message_id=4601)
    await channel.process(Update.de_json(typed, channel.bot))
    await OutboxSender(app.uow_factory, [channel]).send_due()

    (refused,) = api.called("deleteMessage")
    after = api.calls[api.calls.index(refused) + 1]
    assert after.params["text"] == texts.CERT_TEXT_INSTEAD_OF_FILE
    assert "apague a mensagem com a senha" in after.params["text"]
    assert all(PASSWORD not in str(call.params) for call in api.calls)  # no command echoed


async def test_a_new_integration_key_goes_as_code_that_one_tap_copies(
    app: App, api: FakeBotApi, channel: TelegramChannel, office: Office
) -> None:
    client = add_client(app.uow_factory, office.gestor, 1)
    await channel.process(Update.de_json(message_update(1, USER, "/menu"), channel.bot))
    steps = ("m:clientes", f"c:{client.id}", "g:open", "a:config", "cfg:chave", "key:new")
    for n, data in enumerate((*steps, "key:confirm"), start=2):
        payload = callback_update(n, USER, data, message_id=500)
        await channel.process(Update.de_json(payload, channel.bot))
    await OutboxSender(app.uow_factory, [channel]).send_due()

    (shown,) = [c for c in api.calls if "Nova chave" in str(c.params.get("text", ""))]
    assert shown.params["parse_mode"] == "HTML"
    key = re.fullmatch(r"(?s).*\n<code>([^<]+)</code>", shown.params["text"])
    assert key is not None
    assert integration_keys.authenticate(app.uow_factory(), key[1]).client_id == client.id


async def test_a_typed_text_carries_its_own_message_id(channel: TelegramChannel) -> None:
    event = to_inbound(Update.de_json(message_update(5, USER, "oi", message_id=77), channel.bot))

    assert event is not None
    assert event.message_ref == "77"


async def test_a_file_over_the_download_cap_reaches_the_dialogue_without_bytes(
    app: App, api: FakeBotApi, channel: TelegramChannel, office: Office
) -> None:
    await walk_to_file(channel, office)
    payload = document_update(
        20, USER, name="grande.pfx", mime="application/x-pkcs12", size=50 * 1024 * 1024
    )

    await channel.process(Update.de_json(payload, channel.bot))
    await OutboxSender(app.uow_factory, [channel]).send_due()

    assert not api.called("getFile")
    warning = texts.CERT_TOO_BIG_TO_FETCH.format(name="grande.pfx")
    assert api.called("sendMessage")[-1].params["text"].startswith(f"⚠️ {warning}")


def test_debug_logging_never_lets_the_telegram_library_log_updates_or_call_parameters() -> None:
    from bot.app import configure_logging

    root = logging.getLogger()
    saved = (root.level, logging.getLogger("telegram").level)
    try:
        root.setLevel(logging.DEBUG)  # basicConfig is a no-op under pytest's handlers
        configure_logging("DEBUG")
        assert root.isEnabledFor(logging.DEBUG)
        assert not logging.getLogger("telegram.Bot").isEnabledFor(logging.DEBUG)
        assert logging.getLogger("telegram.Bot").isEnabledFor(logging.INFO)
    finally:
        root.setLevel(saved[0])
        logging.getLogger("telegram").setLevel(saved[1])
