"""benchmarks/load.py's peers on 127.0.0.1: a Bot API stand-in and a webhook client.

Both run in the load generator's event loop and speak just enough HTTP/1.1 (keep-alive,
Content-Length bodies) to cost little of the CPU they share with the servers being measured:
uvicorn with h11 or httpx would take about as much per request as the bot does.

The stand-in answers what `serve` and python-telegram-bot call (getMe, setMyCommands,
setWebhook, sendMessage, editMessageText, editMessageReplyMarkup, answerCallbackQuery,
sendChatAction, deleteMessage), gives every sent message a new id, and records each call with
the process that made it (the first path segment of its base URL: /p0/bot<token>/sendMessage).
A text with an inline keyboard is a prompt: the answer a person reacts to; a chat waiting for
one (`expect`) is woken by it.

Not a benchmark itself (the smoke test runs every script not starting with "_").
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

BOT_USER = {"id": 1, "is_bot": True, "first_name": "Load", "username": "load_bot"}
# Returned as True by the Bot API (PTB accepts it for every one of these).
ANSWERED_TRUE = frozenset(
    {
        "setMyCommands",
        "setWebhook",
        "deleteWebhook",
        "answerCallbackQuery",
        "sendChatAction",
        "deleteMessage",
        "editMessageReplyMarkup",
    }
)


@dataclass(frozen=True, slots=True)
class Call:
    at: float  # time.perf_counter() when it arrived
    sender: str  # the process that made it ("p0", "p1", …, "echo")
    method: str
    chat: int | None
    text: str | None
    message_id: int | None  # the message created (sendMessage) or acted on (edits)
    prompt: bool  # a text with an inline keyboard


class BotApiStandIn:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[Call]] = {}
        self.unexpected_prompts: list[Call] = []  # prompts no chat was waiting for
        self._server: asyncio.Server | None = None
        self._connections: dict[asyncio.StreamWriter, asyncio.Task[Any]] = {}

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        handlers = list(self._connections.values())
        for writer in list(self._connections):
            writer.close()  # each handler then reads the end of its stream and returns
        await asyncio.gather(*handlers, return_exceptions=True)

    def expect(self, chat: int) -> asyncio.Future[Call]:
        """A future resolved by the next prompt to `chat` (set it before sending the update:
        the reply may arrive before the webhook's answer)."""
        future: asyncio.Future[Call] = asyncio.get_running_loop().create_future()
        self._waiting[chat] = future
        return future

    def forget(self, chat: int) -> None:
        self._waiting.pop(chat, None)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections[writer] = task
        try:
            while request := await read_message(reader, request=True):
                target, headers, body = request
                status, answer = self._answer(target, headers.get("content-type", ""), body)
                writer.write(response(status, answer))
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._connections.pop(writer, None)
            writer.close()

    def _answer(self, target: str, content_type: str, body: bytes) -> tuple[int, bytes]:
        parts = target.strip("/").split("/")
        sender, method = parts[0], parts[-1]
        fields = _fields(body, content_type)
        chat = int(fields["chat_id"]) if "chat_id" in fields else None
        result: Any
        if method == "getMe":
            result = BOT_USER
        elif method in ("sendMessage", "editMessageText"):
            if method == "sendMessage":
                message_id = next(self._ids)
            else:
                message_id = int(fields.get("message_id", 0))
            markup = fields.get("reply_markup")
            prompt = bool(markup) and "inline_keyboard" in str(markup)
            text = str(fields.get("text", ""))
            self._record(Call(time.perf_counter(), sender, method, chat, text, message_id, prompt))
            result = {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": {"id": chat, "type": "private"},
                "from": BOT_USER,
                "text": text,
            }
        elif method in ANSWERED_TRUE:
            if chat is not None:
                ref = int(fields["message_id"]) if "message_id" in fields else None
                self._record(Call(time.perf_counter(), sender, method, chat, None, ref, False))
            result = True
        else:
            message = {"ok": False, "error_code": 404, "description": f"Not Found: {method}"}
            return 404, json.dumps(message).encode()
        return 200, json.dumps({"ok": True, "result": result}).encode()

    def _record(self, call: Call) -> None:
        self.calls.append(call)
        if not call.prompt or call.chat is None:
            return
        future = self._waiting.pop(call.chat, None)
        if future is None or future.done():
            self.unexpected_prompts.append(call)
        else:
            future.set_result(call)


def _fields(body: bytes, content_type: str) -> dict[str, Any]:
    if not body:
        return {}
    if "json" in content_type:
        return dict(json.loads(body))
    return dict(parse_qsl(body.decode()))


async def read_message(
    reader: asyncio.StreamReader, *, request: bool
) -> tuple[str, dict[str, str], bytes] | None:
    """One HTTP/1.1 message: (request target or status code, headers, body); None at EOF."""
    first = await reader.readline()
    if not first:
        return None
    words = first.decode("latin-1").split(" ", 2)
    headers = {}
    while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length") or 0))
    return words[1], headers, body


def response(status: int, body: bytes) -> bytes:
    head = (
        f"HTTP/1.1 {status} {'OK' if status == 200 else 'Error'}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


class WebhookClient:
    """POSTs updates to /webhooks/telegram of a port, over kept-alive connections."""

    def __init__(self, secret: str, path: str = "/webhooks/telegram") -> None:
        self.secret = secret
        self.path = path
        self._idle: dict[int, list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]] = {}

    async def post(self, port: int, body: bytes) -> int:
        """The answer's status code; OSError when the server is gone (refused, reset)."""
        head = (
            f"POST {self.path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: application/json\r\n"
            f"X-Telegram-Bot-Api-Secret-Token: {self.secret}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        return await self._exchange(port, head.encode() + body)

    async def get(self, port: int, path: str) -> int:
        return await self._exchange(
            port, f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
        )

    async def _exchange(self, port: int, request: bytes) -> int:
        idle = self._idle.setdefault(port, [])
        reused = bool(idle)
        reader, writer = idle.pop() if idle else await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(request)
            answer = await read_message(reader, request=False)
        except (OSError, asyncio.IncompleteReadError) as exc:
            writer.close()
            if reused:  # the server closed an idle connection: once more, on a new one
                return await self._exchange_fresh(port, request)
            raise ConnectionResetError(str(exc)) from exc
        if answer is None:
            writer.close()
            if reused:
                return await self._exchange_fresh(port, request)
            raise ConnectionResetError("closed without an answer")
        status, headers, _ = answer
        if headers.get("connection", "").lower() == "close":
            writer.close()
        else:
            idle.append((reader, writer))
        return int(status)

    async def _exchange_fresh(self, port: int, request: bytes) -> int:
        self.close(port)
        return await self._exchange(port, request)

    def close(self, port: int | None = None) -> None:
        ports = [port] if port is not None else list(self._idle)
        for each in ports:
            for _, writer in self._idle.pop(each, []):
                writer.close()
