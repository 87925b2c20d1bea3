"""The Telegram emulator serves python-telegram-bot 22 (no project code involved).

A tiny bot: /start answers with an inline keyboard; the "report" button edits that message and
sends a document; a document from the user is downloaded and its size told back.  It runs once
polling and once behind a webhook (a Starlette app under uvicorn, checking the secret token).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dtm
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatAction
from telegram.error import Conflict, EndPointNotFound
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from tests.e2e.emulator import Emulator, EmulatorError, start_emulator, wait_for_async

REPORT = b"id;valor\n1;10,00\n" * 20
REPORT_NAME = "relatório.csv"
SECRET = "s3cr3t-Token_1"

App = Application[Any, Any, Any, Any, Any, Any]

pytestmark = pytest.mark.e2e


async def on_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    keyboard = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("Relatório", callback_data="report")],
            [InlineKeyboardButton("Site", url="https://example.com/")],
        ]
    )
    await update.effective_message.reply_text("Olá! O que deseja?", reply_markup=keyboard)


async def on_report(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    assert update.effective_chat is not None
    context.bot_data["chat_instance"] = query.chat_instance
    await query.answer("Gerando…")
    context.bot_data["edited"] = await query.edit_message_text("Relatório gerado ✅")
    chat_id = update.effective_chat.id
    assert await context.bot.send_chat_action(chat_id, ChatAction.UPLOAD_DOCUMENT) is True
    context.bot_data["sent"] = await context.bot.send_document(
        chat_id, REPORT, filename=REPORT_NAME, caption="Seu relatório"
    )


async def on_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    assert message is not None
    assert message.document is not None
    status = await message.reply_text("Processando…")
    data = await (await message.document.get_file()).download_as_bytearray()
    assert await status.delete() is True
    await message.reply_text(f"Recebi {message.document.file_name} com {len(data)} bytes")


def build_app(emu: Emulator, *, polling: bool) -> tuple[App, list[object]]:
    builder = (
        ApplicationBuilder()
        .token(emu.token)
        .base_url(emu.base_url)
        .base_file_url(emu.base_file_url)
    )
    if not polling:
        builder = builder.updater(None)
    app: App = builder.build()
    errors: list[object] = []

    async def collect_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        errors.append(context.error)

    app.add_handler(CommandHandler("start", on_start))
    app.add_handler(CallbackQueryHandler(on_report, pattern="^report$"))
    app.add_handler(MessageHandler(filters.Document.ALL, on_document))
    app.add_error_handler(collect_error)
    return app, errors


async def converse(emu: Emulator, app: App, errors: list[object]) -> None:
    """/start, press the button, get the document, send one: the same in both modes."""
    user = emu.client
    assert app.bot.username == "TestNameBot"  # getMe answered with is_bot: true
    assert await app.bot.set_my_commands([("start", "Início")]) is True

    user.send_command("start")
    menu = await user.wait_for_message_async(lambda m: bool(m.keyboard))
    assert menu.text == "Olá! O que deseja?"
    assert menu.keyboard == [[("Relatório", "report")], [("Site", "https://example.com/")]]

    user.press("report", menu)
    sent = await user.wait_for_message_async(lambda m: m.document is not None)
    assert sent.caption == "Seu relatório"
    assert sent.document is not None
    assert sent.document.file_name == REPORT_NAME
    assert sent.document.file_size == len(REPORT)
    assert sent.document.mime_type == "text/csv"
    assert user.download(sent) == REPORT

    # The edit: PTB got the Message back, the client sees the new text and no keyboard.
    edited = app.bot_data["edited"]
    assert isinstance(edited, Message)
    assert edited.text == "Relatório gerado ✅"
    menu_now = next(m for m in user.bot_messages() if m.message_id == menu.message_id)
    assert (menu_now.text, menu_now.keyboard) == ("Relatório gerado ✅", [])
    assert menu_now.edit_date is not None
    assert app.bot_data["chat_instance"]
    # Dates reach the bot in seconds.
    now = dtm.datetime.now(dtm.UTC)
    # The user can see the document before send_document has returned to the bot.
    sent_message = await user.wait_for_async(lambda: app.bot_data.get("sent"))
    assert isinstance(sent_message, Message)
    assert abs(sent_message.date - now) < dtm.timedelta(minutes=1)
    with pytest.raises(EmulatorError, match="no button"):
        user.press("report", menu)  # the keyboard is gone: the helper refuses

    upload = b"<NFe/>" * 100
    user.upload_document("nota.xml", upload, "application/xml")
    reply = await user.wait_for_message_async(lambda m: (m.text or "").startswith("Recebi"))
    assert reply.text == f"Recebi nota.xml com {len(upload)} bytes"
    deleted = user.deleted_message_ids()
    assert len(deleted) == 1
    assert deleted[0] not in [m.message_id for m in user.bot_messages()]

    assert [c.params["text"] for c in emu.bot_calls("answerCallbackQuery")] == ["Gerando…"]
    assert [c.params["action"] for c in emu.bot_calls("sendChatAction")] == ["upload_document"]
    assert errors == []


@pytest.mark.asyncio
async def test_polling() -> None:
    with start_emulator() as emu:
        app, errors = build_app(emu, polling=True)
        async with app:
            assert app.updater is not None
            await app.updater.start_polling(poll_interval=0.01, timeout=5)
            await app.start()
            try:
                await converse(emu, app, errors)
            finally:
                await app.updater.stop()
                await app.stop()


@contextlib.asynccontextmanager
async def serve_webhook(
    endpoint: Callable[[Request], Awaitable[Response]],
) -> AsyncIterator[str]:
    """Serve ``endpoint`` at POST /telegram on a free local port; yields its URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    starlette_app = Starlette(routes=[Route("/telegram", endpoint, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(starlette_app, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        await wait_for_async(lambda: server.started, timeout=5, description="uvicorn started")
        yield f"http://127.0.0.1:{port}/telegram"
    finally:
        server.should_exit = True
        await task
        sock.close()


@pytest.mark.asyncio
async def test_webhook() -> None:
    with start_emulator() as emu:
        app, errors = build_app(emu, polling=False)
        secrets_seen: list[str | None] = []

        async def endpoint(request: Request) -> Response:
            secret = request.headers.get("X-Telegram-Bot-Api-Secret-Token")
            secrets_seen.append(secret)
            if secret != SECRET:
                return Response(status_code=403)
            await app.update_queue.put(Update.de_json(await request.json(), app.bot))
            return Response()

        async with app, serve_webhook(endpoint) as url:
            await app.start()
            try:
                # A webhook answering 403 does not take the emulator down: the update is
                # retried, dropped, and reported by getWebhookInfo.
                assert await app.bot.set_webhook(url, secret_token="wrong-secret") is True
                emu.client.send_text("ninguém vai ler")

                def dropped() -> dict[str, Any] | None:
                    info = emu.webhook_info()
                    done = info["pending_update_count"] == 0 and "last_error_message" in info
                    return info if done else None

                info = await wait_for_async(dropped, description="update dropped")
                assert info["url"] == url
                assert "403" in info["last_error_message"]
                assert secrets_seen == ["wrong-secret"] * 3
                with pytest.raises(Conflict):
                    await app.bot.get_updates()

                assert await app.bot.set_webhook(url, secret_token=SECRET) is True
                await converse(emu, app, errors)
                assert set(secrets_seen[3:]) == {SECRET}
                assert await app.bot.delete_webhook() is True
                assert await app.bot.get_updates() == ()
            finally:
                await app.stop()


@pytest.mark.asyncio
async def test_long_poll_offset_and_unknown_method() -> None:
    with start_emulator() as emu:
        async with Bot(emu.token, base_url=emu.base_url) as bot:
            started = time.monotonic()
            assert await bot.get_updates(timeout=1) == ()
            assert time.monotonic() - started >= 0.9  # the long poll waited

            polling = asyncio.create_task(bot.get_updates(timeout=10))
            await asyncio.sleep(0.2)
            started = time.monotonic()
            emu.client.send_text("oi")
            updates = await polling
            assert time.monotonic() - started < 2  # ... and returned as the update came
            assert [u.message.text for u in updates if u.message] == ["oi"]

            # Unconfirmed updates come again; a later offset confirms them.
            again = await bot.get_updates(timeout=0)
            assert [u.update_id for u in again] == [updates[0].update_id]
            assert await bot.get_updates(offset=updates[0].update_id + 1, timeout=0) == ()

            with pytest.raises(EndPointNotFound, match="fooBar"):
                await bot.do_api_request("fooBar")
