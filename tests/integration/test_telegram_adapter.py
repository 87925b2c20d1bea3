"""The Telegram channel through a Bot API fake (a PTB BaseRequest): no sockets, the real core."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from pydantic import SecretStr
from sqlalchemy import Row, select
from telegram import Update

from bot.app import App
from bot.channels.telegram import (
    CallbackDataTooLong,
    TelegramChannel,
    from_settings,
    keyboard,
    read_plain,
    to_inbound,
)
from bot.sender import OutboxSender
from handlers.core import new_token, stamped, unstamped
from services.conversation import enqueue_to
from services.messages import (
    Choice,
    ChoiceBody,
    ClearButtons,
    DeleteMessage,
    Document,
    FileBody,
    Image,
    Outbound,
    Text,
    TextBody,
)
from services.types import UnitOfWorkFactory
from storage.models import OutboxMessage, ProcessedEvent
from tests.integration.fake_telegram import (
    TOKEN,
    FakeBotApi,
    callback_update,
    document_update,
    message_update,
)
from tests.support import Office, add_client, make_office

USER = 111
MENU_KEYBOARD = {
    "inline_keyboard": [
        [
            {"text": "Clientes", "callback_data": "m:clientes"},
            {"text": "Novo cliente", "callback_data": "m:novo"},
        ],
        [{"text": "Consultar nota", "callback_data": "m:consulta"}],
        [
            {"text": "Meus dados", "callback_data": "m:dados"},
            {"text": "Ajuda", "callback_data": "m:ajuda"},
        ],
        [{"text": "Pendências (0)", "callback_data": "m:pend"}],
    ]
}


@pytest.fixture
def api() -> FakeBotApi:
    return FakeBotApi()


@pytest.fixture
async def channel(app: App, api: FakeBotApi) -> AsyncIterator[TelegramChannel]:
    settings = app.settings.model_copy(update={"telegram_bot_token": SecretStr(TOKEN)})
    channel = from_settings(
        settings, app.conversation.handle, app.uow_factory, request=api, files=app.files
    )
    await channel.start()
    yield channel
    await channel.stop()


@pytest.fixture
def office(uow_factory: UnitOfWorkFactory) -> Office:
    return make_office(uow_factory, 1, identity_key=f"tg:{USER}")


async def send_outbox(app: App, channel: TelegramChannel) -> int:
    return await OutboxSender(app.uow_factory, [channel]).send_due()


def outbox_rows(uow_factory: UnitOfWorkFactory) -> list[Row[Any]]:
    """The outbox as stored (plain rows: they outlive the unit of work)."""
    uow = uow_factory()
    with uow:
        query = select(OutboxMessage.__table__).order_by(OutboxMessage.id)
        return list(uow.session.execute(query).all())


def is_active(uow_factory: UnitOfWorkFactory, key: str) -> bool:
    uow = uow_factory()
    with uow:
        found = uow.identities.by_key(key)
        assert found is not None
        return found.active


def push(uow_factory: UnitOfWorkFactory, *messages: Outbound, edit_ref: str | None = None) -> None:
    uow = uow_factory()
    with uow:
        enqueue_to(uow, "telegram", f"tg:{USER}", str(USER), messages, datetime.now(UTC), edit_ref)
        uow.commit()


def parse(payload: dict[str, object], channel: TelegramChannel) -> Update:
    return Update.de_json(payload, channel.bot)


def plain(markup: dict[str, Any]) -> dict[str, Any]:
    """The keyboard with its buttons' ids as the dialogue wrote them, after checking that they
    all carry one prompt token."""
    pressed = [unstamped(b["callback_data"]) for row in markup["inline_keyboard"] for b in row]
    assert len({token for token, _ in pressed}) == 1
    assert None not in {token for token, _ in pressed}
    ids = iter(plain_id for _, plain_id in pressed)
    rows = markup["inline_keyboard"]
    return {"inline_keyboard": [[{**b, "callback_data": next(ids)} for b in row] for row in rows]}


async def test_start_command_greets_and_sends_the_menu_as_an_inline_keyboard(
    app: App, api: FakeBotApi, channel: TelegramChannel, office: Office
) -> None:
    await channel.process(parse(message_update(1, USER, "/start"), channel))
    assert await send_outbox(app, channel) == 2

    welcome, menu = api.called("sendMessage")
    assert welcome.params == {"chat_id": USER, "text": welcome.params["text"]}
    assert welcome.params["text"].startswith("Olá, Escritório 1 Ltda!")
    assert menu.params["chat_id"] == USER
    assert menu.params["text"].startswith("O que você quer fazer?")
    assert plain(menu.params["reply_markup"]) == MENU_KEYBOARD
    assert [row.status for row in outbox_rows(app.uow_factory)] == ["sent", "sent"]
    assert outbox_rows(app.uow_factory)[1].external_ref == "501"


async def test_setup_publishes_the_commands_and_drops_any_webhook_when_polling(
    api: FakeBotApi, channel: TelegramChannel
) -> None:
    (commands,) = api.called("setMyCommands")
    assert [c["command"] for c in commands.params["commands"]] == ["menu", "cancelar", "ajuda"]
    assert api.called("deleteWebhook")
    assert not api.called("setWebhook")


async def test_a_text_message_becomes_a_text_event_and_is_answered(
    app: App, api: FakeBotApi, channel: TelegramChannel, office: Office
) -> None:
    update = parse(message_update(7, USER, "bom dia"), channel)
    event = to_inbound(update)
    assert event is not None
    assert (event.channel, event.identity_key, event.event_id, event.address) == (
        "telegram",
        "tg:111",
        "7",
        "111",
    )
    assert event.body == TextBody("bom dia")
    assert event.display_name == "Ana Souza"

    await channel.process(parse(message_update(6, USER, "/menu"), channel))
    await channel.process(update)
    await send_outbox(app, channel)
    _menu, reply = api.called("sendMessage")
    assert reply.params["text"].startswith("Para seguir, toque em um dos botões abaixo")
    assert plain(reply.params["reply_markup"]) == MENU_KEYBOARD


async def test_a_button_press_answers_the_callback_and_edits_the_pressed_message(
    app: App, api: FakeBotApi, channel: TelegramChannel, office: Office
) -> None:
    add_client(app.uow_factory, office.gestor, 1, name="Padaria Central Ltda")
    await channel.process(parse(message_update(1, USER, "/menu"), channel))
    await send_outbox(app, channel)
    (menu,) = api.called("sendMessage")
    menu_id = int(outbox_rows(app.uow_factory)[-1].external_ref or 0)
    clientes = menu.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]

    await channel.process(parse(callback_update(2, USER, clientes, message_id=menu_id), channel))
    await send_outbox(app, channel)

    assert [c.params["callback_query_id"] for c in api.called("answerCallbackQuery")] == ["cq2"]
    (edit,) = api.called("editMessageText")
    assert edit.params["message_id"] == menu_id
    assert edit.params["chat_id"] == USER
    assert "Padaria Central Ltda" in edit.params["text"]
    assert len(api.called("sendMessage")) == 1  # edited in place, nothing new sent
    assert not api.called("editMessageReplyMarkup")  # the edit brought the new buttons
    assert outbox_rows(app.uow_factory)[-1].external_ref == str(menu_id)


async def test_when_the_flow_moves_on_the_previous_prompt_loses_its_buttons(
    app: App, api: FakeBotApi, channel: TelegramChannel, office: Office
) -> None:
    await channel.process(parse(message_update(1, USER, "/menu"), channel))
    await send_outbox(app, channel)
    menu_id = int(outbox_rows(app.uow_factory)[-1].external_ref or 0)

    await channel.process(parse(message_update(2, USER, "bom dia"), channel))
    await send_outbox(app, channel)

    (clear,) = api.called("editMessageReplyMarkup")
    assert clear.params == {"chat_id": USER, "message_id": menu_id}  # no reply_markup: none
    _menu, again = api.called("sendMessage")
    assert again.params["reply_markup"]["inline_keyboard"]  # the new prompt has the buttons
    last = outbox_rows(app.uow_factory)[-1]
    assert (last.payload["type"], last.status) == ("clear_buttons", "sent")


async def test_a_prompt_not_delivered_yet_keeps_its_buttons(
    app: App, api: FakeBotApi, channel: TelegramChannel, office: Office
) -> None:
    await channel.process(parse(message_update(1, USER, "/menu"), channel))
    await channel.process(parse(message_update(2, USER, "bom dia"), channel))
    await send_outbox(app, channel)

    assert len(api.called("sendMessage")) == 2
    assert not api.called("editMessageReplyMarkup")


async def test_buttons_telegram_no_longer_lets_us_edit_count_as_taken_off(
    app: App, api: FakeBotApi, channel: TelegramChannel
) -> None:
    api.fail_next("editMessageReplyMarkup", 400, "Bad Request: message can't be edited")
    push(app.uow_factory, ClearButtons("42"))
    await send_outbox(app, channel)
    (row,) = outbox_rows(app.uow_factory)
    assert row.status == "sent"


async def test_an_edit_telegram_refuses_is_sent_as_a_new_message(
    app: App, api: FakeBotApi, channel: TelegramChannel
) -> None:
    api.fail_next("editMessageText", 400, "Bad Request: message can't be edited")
    push(app.uow_factory, Text("Lista", edit=True), edit_ref="42")
    await send_outbox(app, channel)
    (sent,) = api.called("sendMessage")
    assert sent.params["text"] == "Lista"
    assert outbox_rows(app.uow_factory)[0].status == "sent"


async def test_an_edit_that_changes_nothing_counts_as_delivered(
    app: App, api: FakeBotApi, channel: TelegramChannel
) -> None:
    api.fail_next("editMessageText", 400, "Bad Request: message is not modified")
    push(app.uow_factory, Text("Lista", edit=True), edit_ref="42")
    await send_outbox(app, channel)
    assert not api.called("sendMessage")
    (row,) = outbox_rows(app.uow_factory)
    assert (row.status, row.external_ref) == ("sent", "42")


async def test_a_document_message_becomes_a_file_event(
    app: App, channel: TelegramChannel, office: Office
) -> None:
    update = parse(
        document_update(5, USER, name="cert.pfx", mime="application/x-pkcs12", size=2048),
        channel,
    )
    event = to_inbound(update)
    assert event is not None
    assert event.body == FileBody("FILE-abc", "cert.pfx", "application/x-pkcs12", 2048)

    await channel.process(update)
    uow = app.uow_factory()
    with uow:
        processed = uow.session.scalars(select(ProcessedEvent.event_id)).all()
    assert list(processed) == ["5"]


async def test_the_bytes_of_a_file_the_person_sent_can_be_fetched(
    api: FakeBotApi, channel: TelegramChannel
) -> None:
    api.files["FILE-abc"] = b"\x30\x82 pfx bytes"
    assert await channel.download("FILE-abc") == b"\x30\x82 pfx bytes"


async def test_a_callback_event_carries_the_pressed_message_as_its_reference(
    channel: TelegramChannel,
) -> None:
    event = to_inbound(parse(callback_update(3, USER, "m:novo", message_id=77), channel))
    assert event is not None
    assert event.body == ChoiceBody("m:novo")
    assert event.message_ref == "77"
    assert event.address == str(USER)


async def test_updates_without_anything_to_act_on_are_ignored(
    app: App, channel: TelegramChannel, office: Office
) -> None:
    pinned = message_update(9, USER, "x")
    del pinned["message"]["text"]
    pinned["message"]["pinned_message"] = message_update(8, USER, "oi", message_id=3)["message"]
    edited = {"update_id": 10, "edited_message": message_update(10, USER, "oi")["message"]}
    for payload in (pinned, edited):
        update = parse(payload, channel)
        assert to_inbound(update) is None
        await channel.process(update)
    assert outbox_rows(app.uow_factory) == []


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_flood_control_defers_by_the_delay_telegram_asks_then_delivers(
    app: App, api: FakeBotApi, channel: TelegramChannel
) -> None:
    api.fail_next("sendMessage", 429, "Too Many Requests: retry after 7", {"retry_after": 7})
    push(app.uow_factory, Text("Olá"))
    before = datetime.now(UTC)
    await send_outbox(app, channel)

    (row,) = outbox_rows(app.uow_factory)
    assert row.status == "pending"
    assert before + timedelta(seconds=6) < row.not_before < before + timedelta(seconds=9)
    assert await send_outbox(app, channel) == 0  # not due yet

    with time_machine.travel(before + timedelta(seconds=8), tick=True):
        assert await send_outbox(app, channel) == 1
    (row,) = outbox_rows(app.uow_factory)
    assert (row.status, row.external_ref) == ("sent", "500")
    assert len(api.called("sendMessage")) == 2


async def test_a_network_error_defers_with_backoff(
    app: App, api: FakeBotApi, channel: TelegramChannel
) -> None:
    api.fail_next("sendMessage", 502, "Bad Gateway")
    push(app.uow_factory, Text("Olá"))
    before = datetime.now(UTC)
    await send_outbox(app, channel)
    (row,) = outbox_rows(app.uow_factory)
    assert row.status == "pending"
    assert row.not_before > before + timedelta(seconds=1)
    assert "NetworkError" in (row.error or "")


async def test_a_bot_blocked_by_the_user_fails_and_marks_the_identity_inactive(
    app: App, api: FakeBotApi, channel: TelegramChannel, office: Office
) -> None:
    api.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
    push(app.uow_factory, Text("Olá"))
    await send_outbox(app, channel)

    (row,) = outbox_rows(app.uow_factory)
    assert row.status == "failed"
    assert "blocked" in (row.error or "")
    assert is_active(app.uow_factory, f"tg:{USER}") is False


async def test_a_bad_request_fails_with_telegrams_reason(
    app: App, api: FakeBotApi, channel: TelegramChannel
) -> None:
    api.fail_next("sendMessage", 400, "Bad Request: chat not found")
    push(app.uow_factory, Text("Olá"))
    await send_outbox(app, channel)
    (row,) = outbox_rows(app.uow_factory)
    assert row.status == "failed"
    assert row.error == "bad request: Chat not found"


def test_the_longest_choice_id_with_its_prompt_token_fits_the_callback_data() -> None:
    note = Choice(f"n:{'3' * 44}", "Nota 1")  # a supplier note: "n:" and its access key
    markup = keyboard(stamped(((note,),), new_token()))
    assert markup is not None
    [[button]] = markup.inline_keyboard
    assert unstamped(str(button.callback_data))[1] == note.id


def test_callback_data_over_64_bytes_cannot_be_rendered() -> None:
    assert keyboard([[Choice("c:" + "9" * 62, "ok")]]) is not None
    with pytest.raises(CallbackDataTooLong):
        keyboard([[Choice("c:" + "9" * 63, "Longo demais")]])
    with pytest.raises(CallbackDataTooLong):
        keyboard([[Choice("ç" * 33, "66 bytes em UTF-8")]])


async def test_a_message_with_an_oversized_choice_fails_without_reaching_telegram(
    app: App, api: FakeBotApi, channel: TelegramChannel
) -> None:
    push(app.uow_factory, Text("Escolha", ((Choice("x" * 65, "Longo"),),)))
    await send_outbox(app, channel)
    (row,) = outbox_rows(app.uow_factory)
    assert row.status == "failed"
    assert "max 64" in (row.error or "")
    assert not api.called("sendMessage")


async def test_documents_go_out_with_their_name_and_caption(
    app: App, api: FakeBotApi, channel: TelegramChannel
) -> None:
    push(app.uow_factory, Document("clientes.csv", "text/csv", b"a;b\n", caption="Sua lista"))
    await send_outbox(app, channel)
    (action,) = api.called("sendChatAction")
    assert action.params["action"] == "upload_document"
    (sent,) = api.called("sendDocument")
    assert sent.params["caption"] == "Sua lista"
    (upload,) = sent.files.values()
    assert upload[0] == "clientes.csv"
    assert upload[1] == b"a;b\n"
    assert outbox_rows(app.uow_factory)[0].status == "sent"


async def test_images_go_out_as_photos_with_their_caption(
    app: App, api: FakeBotApi, channel: TelegramChannel
) -> None:
    png = b"\x89PNG\r\n\x1a\nchart"
    push(app.uow_factory, Image("grafico.png", "image/png", png, caption="Outubro em barras"))
    await send_outbox(app, channel)
    (action,) = api.called("sendChatAction")
    assert action.params["action"] == "upload_photo"
    (sent,) = api.called("sendPhoto")
    assert sent.params["caption"] == "Outubro em barras"
    (upload,) = sent.files.values()
    assert upload[0] == "grafico.png"
    assert upload[1] == png
    assert not api.called("sendDocument")
    (row,) = outbox_rows(app.uow_factory)
    assert row.status == "sent"


async def test_deleting_a_message_that_is_already_gone_is_not_an_error(
    app: App, api: FakeBotApi, channel: TelegramChannel
) -> None:
    api.fail_next("deleteMessage", 400, "Bad Request: message to delete not found")
    push(app.uow_factory, DeleteMessage("33"))
    await send_outbox(app, channel)
    (call,) = api.called("deleteMessage")
    assert call.params == {"chat_id": USER, "message_id": 33}
    assert outbox_rows(app.uow_factory)[0].status == "sent"


async def test_a_deletion_telegram_refuses_asks_the_person_to_delete_it_at_once(
    app: App, api: FakeBotApi, channel: TelegramChannel
) -> None:
    api.fail_next("deleteMessage", 400, "Bad Request: message can't be deleted")
    push(app.uow_factory, DeleteMessage("34", if_kept="apague a mensagem com a senha"))

    await send_outbox(app, channel)

    (sent,) = api.called("sendMessage")
    assert sent.params == {"chat_id": USER, "text": "apague a mensagem com a senha"}
    (row,) = outbox_rows(app.uow_factory)
    assert (row.status, row.external_ref) == ("sent", "500")


async def test_a_deletion_refused_without_words_for_it_sends_nothing(
    app: App, api: FakeBotApi, channel: TelegramChannel
) -> None:
    api.fail_next("deleteMessage", 400, "Bad Request: message can't be deleted for everyone")
    push(app.uow_factory, DeleteMessage("35"))

    await send_outbox(app, channel)

    assert not api.called("sendMessage")
    assert outbox_rows(app.uow_factory)[0].status == "sent"


async def test_a_message_already_gone_needs_no_request_to_delete_it(
    app: App, api: FakeBotApi, channel: TelegramChannel
) -> None:
    api.fail_next("deleteMessage", 400, "Bad Request: message to delete not found")
    push(app.uow_factory, DeleteMessage("36", if_kept="apague a mensagem com a senha"))

    await send_outbox(app, channel)

    assert not api.called("sendMessage")


async def test_code_spans_go_as_html_code_with_everything_else_escaped(
    app: App, api: FakeBotApi, channel: TelegramChannel
) -> None:
    key = "rb_<K3y>&9"
    push(app.uow_factory, Text(f"🔑 Chave de <Loja & Cia>:\n{key}", code=(key,)))

    await send_outbox(app, channel)

    (sent,) = api.called("sendMessage")
    assert sent.params["parse_mode"] == "HTML"
    assert sent.params["text"] == (
        "🔑 Chave de &lt;Loja &amp; Cia&gt;:\n<code>rb_&lt;K3y&gt;&amp;9</code>"
    )


async def test_an_edited_message_keeps_its_code_spans(
    app: App, api: FakeBotApi, channel: TelegramChannel
) -> None:
    url = "https://exemplo.com.br/c/tok_1?a=1&b=2"
    push(app.uow_factory, Text(f"Link:\n{url}", edit=True, code=(url,)), edit_ref="42")

    await send_outbox(app, channel)

    (edit,) = api.called("editMessageText")
    assert edit.params["parse_mode"] == "HTML"
    assert edit.params["text"] == "Link:\n<code>https://exemplo.com.br/c/tok_1?a=1&amp;b=2</code>"


async def test_a_text_without_code_goes_without_a_parse_mode_so_nothing_is_read_as_markup(
    app: App, api: FakeBotApi, channel: TelegramChannel
) -> None:
    push(app.uow_factory, Text("R$ <10> & <b>nada</b>"))

    await send_outbox(app, channel)

    (sent,) = api.called("sendMessage")
    assert sent.params == {"chat_id": USER, "text": "R$ <10> & <b>nada</b>"}


async def test_polling_processes_updates_and_confirms_them_on_stop(
    app: App, api: FakeBotApi, channel: TelegramChannel, office: Office
) -> None:
    stop = asyncio.Event()
    sender = OutboxSender(app.uow_factory, [channel])
    app.wakeup.subscribe(sender.wake)
    running = [asyncio.create_task(channel.poll(stop)), asyncio.create_task(sender.run())]
    await api.push_update(message_update(41, USER, "/menu"))
    await api.push_update(message_update(42, USER, "/ajuda"))

    await api.wait_for_calls("sendMessage", 3)
    stop.set()
    sender.stop()
    await asyncio.wait_for(asyncio.gather(*running), timeout=5)

    texts = [c.params["text"] for c in api.called("sendMessage")]
    assert texts[0].startswith("O que você quer fazer?")
    assert texts[1].startswith("ℹ️ O RevendaBot")
    assert await channel.bot.get_updates(timeout=0) == ()  # confirmed: nothing redelivered


async def test_error_texts_never_carry_the_token(channel: TelegramChannel) -> None:
    url_error = f"Connection to https://api.telegram.org/bot{TOKEN}/sendMessage failed"
    assert TOKEN not in channel.scrub(url_error)
    assert "<token>" in channel.scrub(url_error)


def _with(payload: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    """The payload with one field set (or taken out, for value `...`)."""
    copied = copy.deepcopy(payload)
    *parents, last = path
    target = copied
    for key in parents:
        target = target[key]
    if value is ...:
        del target[last]
    else:
        target[last] = value
    return copied


MESSAGE = message_update(7, USER, "bom dia")
PRESS = callback_update(8, USER, "m:clientes", message_id=55)
PLAIN_UPDATES = {
    "text": MESSAGE,
    "command": message_update(9, USER, "/menu"),
    "no last name": _with(MESSAGE, ("message", "from", "last_name"), ...),
    "accents and emoji": _with(MESSAGE, ("message", "text"), "Ação ✅ São Paulo"),
    "group chat": _with(MESSAGE, ("message", "chat"), {"id": -100123, "type": "group"}),
    "press": PRESS,
    "press, no last name": _with(PRESS, ("callback_query", "from", "last_name"), ...),
    "press on a message Telegram no longer shows": _with(
        PRESS,
        ("callback_query", "message"),
        {"chat": {"id": USER, "type": "private"}, "message_id": 55, "date": 0},
    ),
}
OTHER_UPDATES = {
    "document": document_update(10, USER, name="nota.xml", mime="text/xml", size=10),
    "sticker": _with(
        _with(MESSAGE, ("message", "text"), ...),
        ("message", "sticker"),
        {
            "file_id": "s",
            "file_unique_id": "u",
            "type": "regular",
            "width": 1,
            "height": 1,
            "is_animated": False,
            "is_video": False,
        },
    ),
    "edited message": {"update_id": 11, "edited_message": MESSAGE["message"]},
    "channel post": _with(MESSAGE, ("message", "from"), ...),
    "press without data (a game)": _with(PRESS, ("callback_query", "data"), ...),
    "press on an inline message": _with(PRESS, ("callback_query", "message"), ...),
    "update id as text": _with(MESSAGE, ("update_id",), "7"),
    "user id as text": _with(MESSAGE, ("message", "from", "id"), "111"),
    "no first name": _with(MESSAGE, ("message", "from", "first_name"), ...),
    "a field beside the message": {**MESSAGE, "edited_message": MESSAGE["message"]},
}


@pytest.mark.parametrize("payload", PLAIN_UPDATES.values(), ids=PLAIN_UPDATES.keys())
def test_a_plain_update_is_read_from_the_json_as_ptb_reads_it(
    channel: TelegramChannel, payload: dict[str, Any]
) -> None:
    now = datetime(2026, 12, 8, 12, 0, tzinfo=UTC)
    update = parse(payload, channel)

    found = read_plain(payload, now=now)

    assert found is not None
    query = update.callback_query
    assert found == (to_inbound(update, now=now), None if query is None else query.id)


@pytest.mark.parametrize("payload", OTHER_UPDATES.values(), ids=OTHER_UPDATES.keys())
def test_any_other_update_is_left_to_ptb(payload: dict[str, Any]) -> None:
    assert read_plain(payload) is None


async def test_a_webhook_button_press_is_answered_in_the_reply_and_its_step_runs(
    app: App, api: FakeBotApi, channel: TelegramChannel, office: Office
) -> None:
    add_client(app.uow_factory, office.gestor, 1, name="Padaria Central Ltda")
    assert await channel.process_payload(message_update(1, USER, "/menu")) is None
    await send_outbox(app, channel)
    (menu,) = api.called("sendMessage")
    menu_id = int(outbox_rows(app.uow_factory)[-1].external_ref or 0)
    clientes = menu.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]

    answer = await channel.process_payload(callback_update(2, USER, clientes, message_id=menu_id))
    await send_outbox(app, channel)

    assert answer == {"method": "answerCallbackQuery", "callback_query_id": "cq2"}
    assert not api.called("answerCallbackQuery")  # Telegram makes it on reading the answer
    (edit,) = api.called("editMessageText")
    assert "Padaria Central Ltda" in edit.params["text"]
    # a document still goes through PTB's reading
    await channel.process_payload(document_update(3, USER, name="a.xml", mime="text/xml", size=9))
    assert count_processed(app.uow_factory) == 3


def count_processed(uow_factory: UnitOfWorkFactory) -> int:
    uow = uow_factory()
    with uow:
        return len(uow.session.execute(select(ProcessedEvent.event_id)).all())
