"""Local Telegram Bot API emulator for end-to-end tests.

The emulator is the Node program in ``tests/e2e/telegram_emulator/`` (``server.js``, a thin
compatibility layer over the npm package ``telegram-test-api`` 4.2.1, so that
python-telegram-bot 22 can talk to it).  This module starts it and plays the user.

Usage::

    from tests.e2e.emulator import start_emulator

    with start_emulator() as emu:
        app = (
            ApplicationBuilder()
            .token(emu.token)
            .base_url(emu.base_url)            # http://127.0.0.1:<port>/bot
            .base_file_url(emu.base_file_url)  # http://127.0.0.1:<port>/file/bot
            .build()
        )
        ...  # start the app: polling, or a webhook server plus emu.bot_api("setWebhook", ...)
        user = emu.client                       # or emu.user(user_id=..., chat_id=...)
        user.send_command("start")
        menu = await user.wait_for_message_async(lambda m: bool(m.keyboard))
        user.press("report", menu)
        doc = await user.wait_for_message_async(lambda m: m.document is not None)
        assert user.download(doc) == b"..."

``start_emulator(token=DEFAULT_TOKEN, *, startup_timeout=30.0, verbose=False)``
    Context manager.  Skips the test if ``node`` is not on PATH (or ``npm``, when
    ``node_modules`` must first be installed with ``npm ci``), starts ``server.js`` on a free
    port, waits for its ``READY <port>`` line, yields an :class:`Emulator` and stops the process
    (SIGTERM, then SIGKILL) on exit.

:class:`Emulator` (one running emulator; attributes ``port``, ``url``, ``token``,
``base_url``, ``base_file_url``, ``client``, ``http``)
    ``user(user_id=DEFAULT_USER_ID, chat_id=None, first_name="Cliente", username="cliente",
    chat_type="private") -> TelegramUser``; ``bot_api(method, **params) -> Any`` calls a Bot
    API method as the bot (raises :class:`EmulatorError` on ``ok: false``);
    ``webhook_info() -> dict``; ``bot_calls(method=None) -> list[BotCall]`` (every Bot API
    call but getUpdates, in order).

:class:`TelegramUser` (``emu.client`` is the default one; user and chat ids default to
:data:`DEFAULT_USER_ID`).  The ``send_*``/``press*``/``upload_document`` methods return a
:class:`SentUpdate` with the ids the emulator gave.

    ``send_text(text)``; ``send_command(command, args="")`` (``"start"`` or ``"/start"``);
    ``send_message(fields)`` (raw message fields, e.g. ``{"contact": {...}}``);
    ``press(callback_data, message=None)`` and ``press_button(label, message=None)``: press an
    inline button of ``message`` (a :class:`BotMessage` or its id; default: the newest bot
    message having such a button) - raises if the message's current keyboard lacks it;
    ``upload_document(name, content, mime="application/octet-stream", caption=None)``;
    ``bot_messages() -> list[BotMessage]`` (everything the bot sent to this chat, in order,
    as it is now: deleted ones left out); ``deleted_message_ids() -> list[int]``;
    ``download(document_or_message) -> bytes``;
    ``wait_for(predicate, timeout=5.0)`` (returns the predicate's first truthy value) /
    ``wait_for_message(predicate, timeout=5.0)`` (the oldest bot message matching) block.
    When the bot runs in the test's own event loop, wait with ``wait_for_async`` /
    ``wait_for_message_async`` instead (they sleep with ``asyncio.sleep``); the other methods
    make one quick HTTP call each and are fine to call from async code.

:class:`BotMessage`: ``message_id``, ``date``, ``edit_date``, ``text``, ``caption``,
``keyboard`` (inline keyboard: rows of :class:`Button` ``(text, data)`` where ``data`` is the
callback_data or url), ``document`` (:class:`BotDocument`), ``parse_mode``,
``reply_markup`` (as sent, reply keyboards too), ``raw`` (the Message as the bot sees it);
``plain_text`` strips HTML tags when parse_mode is HTML (the emulator stores texts as sent).

The emulator's own routes are documented at the top of ``telegram_emulator/server.js``.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import html
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, NamedTuple, TypeVar

import httpx
import pytest

EMULATOR_DIR = Path(__file__).resolve().parent / "telegram_emulator"
DEFAULT_TOKEN = "123456:TEST-emulator-token"
DEFAULT_USER_ID = 1001

T = TypeVar("T")


class EmulatorError(RuntimeError):
    """The emulator could not be started, or answered ``ok: false``."""


class Button(NamedTuple):
    """One inline button: its label and its callback_data (or url; "" for other kinds)."""

    text: str
    data: str


@dataclass(frozen=True)
class BotDocument:
    file_id: str
    file_unique_id: str
    file_name: str | None
    mime_type: str | None
    file_size: int | None
    file_path: str | None


@dataclass(frozen=True)
class BotMessage:
    """A message the bot sent, as it is now (after edits)."""

    message_id: int
    date: int
    edit_date: int | None
    text: str | None
    caption: str | None
    keyboard: list[list[Button]]
    document: BotDocument | None
    parse_mode: str | None
    reply_markup: dict[str, Any] | None
    raw: dict[str, Any] = field(repr=False)

    @property
    def buttons(self) -> list[Button]:
        return [button for row in self.keyboard for button in row]

    @property
    def plain_text(self) -> str:
        """Text (or caption) with HTML tags stripped when it was sent with parse_mode HTML."""
        text = self.text if self.text is not None else (self.caption or "")
        if (self.parse_mode or "").lower() == "html":
            return html.unescape(re.sub(r"<[^>]+>", "", text))
        return text

    @classmethod
    def from_api(cls, item: Mapping[str, Any]) -> BotMessage:
        raw: dict[str, Any] = item["message"]
        rows = (raw.get("reply_markup") or {}).get("inline_keyboard") or []
        keyboard = [
            [Button(b["text"], b.get("callback_data") or b.get("url") or "") for b in row]
            for row in rows
        ]
        doc = raw.get("document")
        document = (
            BotDocument(
                file_id=doc["file_id"],
                file_unique_id=doc["file_unique_id"],
                file_name=doc.get("file_name"),
                mime_type=doc.get("mime_type"),
                file_size=doc.get("file_size"),
                file_path=item.get("file_path"),
            )
            if doc
            else None
        )
        return cls(
            message_id=raw["message_id"],
            date=raw["date"],
            edit_date=raw.get("edit_date"),
            text=raw.get("text"),
            caption=raw.get("caption"),
            keyboard=keyboard,
            document=document,
            parse_mode=item.get("parse_mode"),
            reply_markup=item.get("reply_markup"),
            raw=raw,
        )


@dataclass(frozen=True)
class SentUpdate:
    """Ids the emulator gave to something the user did."""

    update_id: int
    message_id: int | None = None
    callback_query_id: str | None = None
    file_id: str | None = None


@dataclass(frozen=True)
class BotCall:
    """One Bot API call the bot made (params as sent; JSON-valued ones decoded)."""

    method: str
    params: dict[str, Any]
    files: list[dict[str, Any]]
    time: float


def _result(response: httpx.Response) -> Any:
    try:
        body = response.json()
    except ValueError:
        raise EmulatorError(f"{response.request.url}: HTTP {response.status_code}") from None
    if not body.get("ok"):
        raise EmulatorError(f"{response.request.url}: {body.get('description', body)}")
    return body.get("result")


def wait_for(
    predicate: Callable[[], T | None],
    timeout: float = 5.0,
    interval: float = 0.05,
    description: str = "condition",
) -> T:
    """Call ``predicate`` until it returns something truthy, and return that (blocking)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{description} not met within {timeout:.1f}s")
        time.sleep(interval)


async def wait_for_async(
    predicate: Callable[[], T | None],
    timeout: float = 5.0,  # noqa: ASYNC109 - a polling deadline, named like wait_for's
    interval: float = 0.05,
    description: str = "condition",
) -> T:
    """Like :func:`wait_for`, but sleeps with ``asyncio.sleep`` (the event loop keeps going)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{description} not met within {timeout:.1f}s")
        await asyncio.sleep(interval)


class TelegramUser:
    """A Telegram user writing to the bot from one chat."""

    def __init__(
        self,
        emulator: Emulator,
        user_id: int,
        chat_id: int,
        first_name: str,
        username: str,
        chat_type: str,
    ) -> None:
        self.emulator = emulator
        self.user_id = user_id
        self.chat_id = chat_id
        self.first_name = first_name
        self.username = username
        self.chat_type = chat_type

    # -------------------------------------------------------------- acting as the user
    def _common(self) -> dict[str, Any]:
        """A message in telegram-test-api's client format (botToken says which bot)."""
        chat: dict[str, Any] = {"id": self.chat_id, "type": self.chat_type}
        if self.chat_type == "private":
            chat.update(first_name=self.first_name, username=self.username)
        else:
            chat["title"] = f"Chat {self.chat_id}"
        return {
            "botToken": self.emulator.token,
            "from": {
                "id": self.user_id,
                "is_bot": False,
                "first_name": self.first_name,
                "username": self.username,
                "language_code": "pt-br",
            },
            "chat": chat,
            "date": int(time.time()),
        }

    def _post(self, route: str, body: Mapping[str, Any]) -> SentUpdate:
        result = _result(self.emulator.http.post(route, json=dict(body)))
        return SentUpdate(**result)

    def send_message(self, fields: Mapping[str, Any]) -> SentUpdate:
        """Send a message with any extra fields (e.g. ``{"contact": {...}}``)."""
        return self._post("/sendMessage", {**self._common(), **fields})

    def send_text(self, text: str) -> SentUpdate:
        return self.send_message({"text": text})

    def send_command(self, command: str, args: str = "") -> SentUpdate:
        """Send ``/command args``; ``command`` with or without its slash."""
        word = command if command.startswith("/") else f"/{command}"
        text = f"{word} {args}" if args else word
        entity = {"type": "bot_command", "offset": 0, "length": len(word)}
        return self._post("/sendCommand", {**self._common(), "text": text, "entities": [entity]})

    def _target(
        self, message: BotMessage | int | None, match: Callable[[Button], bool], what: str
    ) -> BotMessage:
        messages = self.bot_messages()
        if message is None:
            for candidate in reversed(messages):
                if any(match(b) for b in candidate.buttons):
                    return candidate
            raise EmulatorError(f"no bot message in chat {self.chat_id} has a button {what}")
        message_id = message if isinstance(message, int) else message.message_id
        current = next((m for m in messages if m.message_id == message_id), None)
        if current is None:
            raise EmulatorError(f"bot message {message_id} not found (deleted?)")
        if not any(match(b) for b in current.buttons):
            raise EmulatorError(
                f"message {message_id} has no button {what}; its keyboard: {current.keyboard}"
            )
        return current

    def _press(self, message: BotMessage, data: str) -> SentUpdate:
        body = {**self._common(), "message": message.raw, "data": data}
        body.pop("chat")
        return self._post("/sendCallback", body)

    def press(self, callback_data: str, message: BotMessage | int | None = None) -> SentUpdate:
        """Press the inline button carrying ``callback_data`` on ``message``'s current keyboard."""
        target = self._target(message, lambda b: b.data == callback_data, repr(callback_data))
        return self._press(target, callback_data)

    def press_button(self, label: str, message: BotMessage | int | None = None) -> SentUpdate:
        """Press the inline button whose label is ``label``."""
        target = self._target(message, lambda b: b.text == label, f"labelled {label!r}")
        button = next(b for b in target.buttons if b.text == label)
        return self._press(target, button.data)

    def upload_document(
        self,
        name: str,
        content: bytes,
        mime: str = "application/octet-stream",
        caption: str | None = None,
    ) -> SentUpdate:
        """Send a file as the user; the bot gets a message with ``document``."""
        message = self._common()
        if caption is not None:
            message["caption"] = caption
        response = self.emulator.http.post(
            "/sendDocument",
            data={"message": json.dumps(message)},
            files={"document": (name, content, mime)},
        )
        return SentUpdate(**_result(response))

    # -------------------------------------------------------------- what the bot did
    def _chat_state(self) -> dict[str, Any]:
        params = {"token": self.emulator.token, "chatId": str(self.chat_id)}
        state: dict[str, Any] = _result(self.emulator.http.get("/botMessages", params=params))
        return state

    def bot_messages(self) -> list[BotMessage]:
        return [BotMessage.from_api(item) for item in self._chat_state()["messages"]]

    def deleted_message_ids(self) -> list[int]:
        return list(self._chat_state()["deleted_message_ids"])

    def download(self, document: BotDocument | BotMessage) -> bytes:
        doc = document.document if isinstance(document, BotMessage) else document
        if doc is None or doc.file_path is None:
            raise EmulatorError("no downloadable document")
        response = self.emulator.http.get(f"/file/bot{self.emulator.token}/{doc.file_path}")
        response.raise_for_status()
        return response.content

    def _first(self, predicate: Callable[[BotMessage], bool]) -> Callable[[], BotMessage | None]:
        return lambda: next((m for m in self.bot_messages() if predicate(m)), None)

    def wait_for(
        self,
        predicate: Callable[[], T | None],
        timeout: float = 5.0,
        description: str = "condition",
    ) -> T:
        return wait_for(predicate, timeout, description=description)

    async def wait_for_async(
        self,
        predicate: Callable[[], T | None],
        timeout: float = 5.0,  # noqa: ASYNC109
        description: str = "condition",
    ) -> T:
        return await wait_for_async(predicate, timeout, description=description)

    def wait_for_message(
        self, predicate: Callable[[BotMessage], bool], timeout: float = 5.0
    ) -> BotMessage:
        """The first (oldest) bot message of this chat matching ``predicate``; blocking."""
        return wait_for(self._first(predicate), timeout, description="bot message")

    async def wait_for_message_async(
        self,
        predicate: Callable[[BotMessage], bool],
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> BotMessage:
        """Like :meth:`wait_for_message`, for when the bot runs in the test's event loop."""
        return await wait_for_async(self._first(predicate), timeout, description="bot message")


class Emulator:
    """A running emulator: URLs for python-telegram-bot, and the test's side of it."""

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.token = token
        self.url = f"http://127.0.0.1:{port}"
        self.base_url = f"{self.url}/bot"
        self.base_file_url = f"{self.url}/file/bot"
        self.http = httpx.Client(base_url=self.url, timeout=10.0)
        self.client = self.user()

    def user(
        self,
        user_id: int = DEFAULT_USER_ID,
        chat_id: int | None = None,
        first_name: str = "Cliente",
        username: str = "cliente",
        chat_type: str = "private",
    ) -> TelegramUser:
        """A user writing from ``chat_id`` (default: their private chat, id == user_id)."""
        return TelegramUser(
            self,
            user_id,
            user_id if chat_id is None else chat_id,
            first_name,
            username,
            chat_type,
        )

    def bot_api(self, method: str, **params: Any) -> Any:
        """Call a Bot API method as the bot (JSON body)."""
        return _result(self.http.post(f"/bot{self.token}/{method}", json=params))

    def webhook_info(self) -> dict[str, Any]:
        info: dict[str, Any] = self.bot_api("getWebhookInfo")
        return info

    def bot_calls(self, method: str | None = None) -> list[BotCall]:
        params = {"token": self.token, **({"method": method} if method else {})}
        return [BotCall(**c) for c in _result(self.http.get("/botCalls", params=params))]

    def close(self) -> None:
        self.http.close()


# ------------------------------------------------------------------ starting the server
def _npm_ci_if_needed() -> None:
    lock = EMULATOR_DIR / "package-lock.json"
    installed = EMULATOR_DIR / "node_modules" / ".package-lock.json"

    def fresh() -> bool:
        return installed.exists() and installed.stat().st_mtime >= lock.stat().st_mtime

    if fresh():
        return
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not on PATH: cannot install the Telegram emulator's node_modules")
    # One installer at a time (pytest-xdist workers).
    lock_path = Path(tempfile.gettempdir()) / "revendabot-telegram-emulator-npm.lock"
    with open(lock_path, "w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        if fresh():
            return
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=EMULATOR_DIR,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if done.returncode != 0:
            raise EmulatorError(f"npm ci failed in {EMULATOR_DIR}:\n{done.stdout}\n{done.stderr}")


def _read_lines(stream: IO[str], lines: queue.Queue[str | None]) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


def _stderr_tail(stderr: IO[bytes]) -> str:
    stderr.seek(0)
    return stderr.read()[-4000:].decode(errors="replace")


@contextlib.contextmanager
def start_emulator(
    token: str = DEFAULT_TOKEN, *, startup_timeout: float = 30.0, verbose: bool = False
) -> Iterator[Emulator]:
    """Run the emulator for the duration of the ``with`` block (see the module docstring)."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not on PATH: the Telegram emulator needs Node.js")
    _npm_ci_if_needed()
    command = [node, "server.js", "--port", "0", "--host", "127.0.0.1"]
    if verbose:
        command.append("--verbose")
    with tempfile.TemporaryFile() as stderr:
        proc = subprocess.Popen(
            command,
            cwd=EMULATOR_DIR,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            start_new_session=True,  # a Ctrl-C in pytest is not delivered to it twice
        )
        try:
            assert proc.stdout is not None
            lines: queue.Queue[str | None] = queue.Queue()
            threading.Thread(target=_read_lines, args=(proc.stdout, lines), daemon=True).start()
            deadline = time.monotonic() + startup_timeout
            port = 0
            while not port:
                try:
                    line = lines.get(timeout=max(deadline - time.monotonic(), 0.001))
                except queue.Empty:
                    raise EmulatorError(
                        f"emulator not READY within {startup_timeout}s:\n{_stderr_tail(stderr)}"
                    ) from None
                if line is None:
                    raise EmulatorError(
                        f"emulator exited ({proc.wait()}):\n{_stderr_tail(stderr)}"
                    )
                if line.startswith("READY "):
                    port = int(line.split()[1])
            emulator = Emulator(port, token)
            try:
                yield emulator
            finally:
                emulator.close()
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
