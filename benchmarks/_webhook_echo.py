"""The baseline server of benchmarks/load.py: a bare python-telegram-bot webhook echo.

    python benchmarks/_webhook_echo.py PORT BOT_API_BASE_URL SECRET

The same web stack as `serve` (FastAPI on uvicorn, on the event loop `serve` picks for
EVENT_LOOP; the webhook a plain Starlette route, as `serve`'s is), the same secret-token check, and
python-telegram-bot as its custom-webhook example runs it (`Update.de_json` +
`Application.process_update`); every update is answered with one sendMessage carrying one
inline button to the same Bot API stand-in. No database, no state: the cost of the transport.

Not a benchmark itself (the smoke test runs every script not starting with "_").
"""

from __future__ import annotations

import asyncio
import secrets
import sys
from typing import Any

import uvicorn
from fastapi import FastAPI, Request, Response
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, TypeHandler

TOKEN = "123456:ECHO"  # noqa: S105 (the stand-in accepts any token)
KEYBOARD = InlineKeyboardMarkup([[InlineKeyboardButton("Menu", callback_data="nav:menu")]])


async def echo(update: Update, _context: Any) -> None:
    chat = update.effective_chat
    if chat is not None:
        await update.get_bot().send_message(chat.id, "eco", reply_markup=KEYBOARD)


async def main(port: int, base_url: str, secret: str) -> None:
    application = Application.builder().token(TOKEN).base_url(base_url).updater(None).build()
    application.add_handler(TypeHandler(Update, echo))
    web = FastAPI()
    expected = secret.encode()

    async def webhook(request: Request) -> Response:
        token = request.headers.get("X-Telegram-Bot-Api-Secret-Token")
        if token is None or not secrets.compare_digest(token.encode(), expected):
            return Response(status_code=403)
        payload = await request.json()
        await application.process_update(Update.de_json(payload, application.bot))
        return Response(status_code=200)

    web.add_route("/webhooks/telegram", webhook, methods=["POST"], include_in_schema=False)

    @web.get("/healthz")
    async def healthz() -> Response:
        return Response(status_code=200)

    server = uvicorn.Server(
        uvicorn.Config(web, host="127.0.0.1", port=port, log_config=None, access_log=False)
    )
    async with application:
        await server.serve()


if __name__ == "__main__":
    from bot.serve import loop_factory
    from bot.settings import Settings

    with asyncio.Runner(loop_factory=loop_factory(Settings(_env_file=None).event_loop)) as runner:
        runner.run(main(int(sys.argv[1]), sys.argv[2], sys.argv[3]))
