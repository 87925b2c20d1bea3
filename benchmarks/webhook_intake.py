"""Benchmark: the CPU of a Telegram webhook request in the web app, before the step runs.

    .venv/bin/python benchmarks/webhook_intake.py [--requests N] [--smoke]

N POSTs of one Telegram update (a message, with the secret header) straight into the ASGI app
`create_app` builds (web/app.py), on `serve`'s event loop, with a channel that takes the payload
and does nothing: what is left is the route's own cost (routing, the secret's check, reading and
parsing the JSON body, the admission gate, the answer). No HTTP server and no socket: uvicorn's
part is in benchmarks/load.py. Baseline, measured in the same run: the same handler as a FastAPI
route (`@router.post` with the secret as a `Header` parameter), as the webhook was before it
became a plain Starlette route (`web.app.webhook_route`). Printed: CPU per request of each (µs)
and their difference, which `serve` pays on the event loop's thread for every update.

Then the channel's reading of the update into the conversation's event, on its own: a text
message and a button press under a message of six buttons, through python-telegram-bot
(`Update.de_json` + `to_inbound`, the baseline, which every update took before) and through
`read_plain` (bot/channels/telegram.py), the reading the webhook now gives those two kinds.
`--smoke` (`./dev test` runs it so the script cannot rot) sends 200: figures mean nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, FastAPI, Header, Request, Response
from telegram import Bot, Update

from bot.channels.telegram import read_plain, to_inbound
from bot.serve import loop_factory
from bot.settings import Settings
from web.app import SECRET_HEADER, TELEGRAM_WEBHOOK_PATH, create_app

SECRET = "s" * 40  # (this script's own)
WARM_UP = 500
CHAT = {"id": 42, "type": "private", "first_name": "Gestor"}


def message(message_id: int, sender: dict[str, Any], text: str) -> dict[str, Any]:
    """A private text message in the gestor's chat, as the Bot API gives it."""
    return {
        "message_id": message_id,
        "date": 1_765_000_000,
        "chat": CHAT,
        "from": sender,
        "text": text,
    }


GESTOR = {"id": 42, "is_bot": False, "first_name": "Gestor", "last_name": "Souza"}
UPDATE = {"update_id": 1, "message": message(7, GESTOR, "/menu")}
MENU = message(8, {"id": 1, "is_bot": True, "first_name": "RevendaBot"}, "O que você quer fazer?")
MENU["reply_markup"] = {
    "inline_keyboard": [[{"text": f"Opção {n}", "callback_data": f"x:{n}"}] for n in range(6)]
}
PRESS = {
    "update_id": 2,
    "callback_query": {
        "id": "4382bfdwdsb323b2d9",
        "chat_instance": "-81726354",
        "data": "m:clientes",
        "from": GESTOR,
        "message": MENU,
    },
}

Asgi = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


class Channel:
    """Takes the update and does nothing with it."""

    def __init__(self) -> None:
        self.updates = 0

    async def process_payload(self, payload: dict[str, Any]) -> None:
        self.updates += 1


def as_fastapi_route(channel: Channel) -> FastAPI:
    """The baseline: the webhook as a FastAPI route, its secret a `Header` parameter."""
    app = FastAPI()
    router = APIRouter()
    expected = SECRET.encode()

    @router.post(TELEGRAM_WEBHOOK_PATH)
    async def telegram_webhook(
        request: Request, token: str | None = Header(default=None, alias=SECRET_HEADER)
    ) -> Response:
        if token is None or not secrets.compare_digest(token.encode(), expected):
            return Response(status_code=403)
        await channel.process_payload(await request.json())
        return Response(status_code=200)

    app.include_router(router)
    return app


async def requests_per_cpu(app: Asgi, requests: int) -> float:
    """CPU seconds per request, after a warm-up; every answer must be 200."""
    body = json.dumps(UPDATE).encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": TELEGRAM_WEBHOOK_PATH,
        "raw_path": TELEGRAM_WEBHOOK_PATH.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (SECRET_HEADER.lower().encode(), SECRET.encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8080),
    }
    statuses: set[int] = set()

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.add(message["status"])

    for _ in range(WARM_UP):
        await app(dict(scope), receive, send)
    started = time.process_time()
    for _ in range(requests):
        await app(dict(scope), receive, send)
    cpu = time.process_time() - started
    if statuses != {200}:
        raise SystemExit(f"the webhook answered {sorted(statuses)}, not 200")
    return cpu / requests


def reading_per_cpu(read: Callable[[dict[str, Any]], object], payload: dict[str, Any]) -> float:
    """CPU seconds per reading of the payload, after a warm-up."""
    for _ in range(WARM_UP):
        read(payload)
    rounds = 5_000
    started = time.process_time()
    for _ in range(rounds):
        read(payload)
    return (time.process_time() - started) / rounds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3, help="baseline and ours, in turn")
    parser.add_argument("--smoke", action="store_true", help="200 requests, one round")
    args = parser.parse_args()
    if args.smoke:
        args.requests, args.rounds = 200, 1
    loop = loop_factory(Settings(_env_file=None).event_loop)
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; {args.requests} requests per "
        f"run; loop: {'asyncio' if loop is None else 'uvloop'}"
    )
    ours_channel, baseline_channel = Channel(), Channel()
    ours = create_app(None, telegram=ours_channel, telegram_secret=SECRET)  # type: ignore[arg-type]
    baseline = as_fastapi_route(baseline_channel)
    for round_number in range(1, args.rounds + 1):
        with asyncio.Runner(loop_factory=loop) as runner:
            before = runner.run(requests_per_cpu(baseline, args.requests))
            after = runner.run(requests_per_cpu(ours, args.requests))
        print(
            f"round {round_number}: baseline (FastAPI route): {1e6 * before:6.1f} µs of CPU per "
            f"request | ours (plain route): {1e6 * after:6.1f} µs | "
            f"{1e6 * (before - after):+6.1f} µs, {after / before:4.2f}× the baseline"
        )
    bot = Bot("123456:INTAKE")

    def through_ptb(payload: dict[str, Any], now: datetime | None = None) -> object:
        return to_inbound(Update.de_json(payload, bot), now=now)

    for name, payload in (("a text message", UPDATE), ("a button press", PRESS)):
        now = datetime.now(UTC)
        ours_event = read_plain(payload, now=now)
        if ours_event is None or ours_event[0] != through_ptb(payload, now):
            raise SystemExit(f"{name}: read_plain and PTB read different events")
        before = reading_per_cpu(through_ptb, payload)
        after = reading_per_cpu(read_plain, payload)
        print(
            f"reading {name}: baseline (Update.de_json + to_inbound): {1e6 * before:6.1f} µs "
            f"of CPU | ours (read_plain): {1e6 * after:5.1f} µs | "
            f"{1e6 * (before - after):+6.1f} µs"
        )
    expected = (WARM_UP + args.requests) * args.rounds
    if ours_channel.updates != expected or baseline_channel.updates != expected:
        raise SystemExit("not every update reached its channel")
    return 0


if __name__ == "__main__":
    sys.exit(main())
