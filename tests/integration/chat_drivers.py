"""A person at a real transport, for tests that walk the same chat on several channels.

`TelegramDriver` talks to the Telegram channel through the Bot API fake (PTB BaseRequest) and
delivers the outbox after each action; `ConsoleDriver` types lines into the console channel.
Both press buttons by label, keep a button to press it later (from a message the flow has
moved past by then), and say what the last action showed.
"""

from __future__ import annotations

import asyncio
import io
import itertools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pydantic import SecretStr
from telegram import Update

from bot.app import App
from bot.channels.console import ConsoleChannel
from bot.channels.telegram import TelegramChannel, from_settings
from bot.sender import OutboxSender
from services.messages import ChoiceBody, Inbound
from tests.integration.fake_telegram import (
    TOKEN,
    ApiCall,
    FakeBotApi,
    callback_update,
    message_update,
)

TELEGRAM_USER = 111
TELEGRAM_IDENTITY = f"tg:{TELEGRAM_USER}"
CONSOLE_NAME = "ana"
CONSOLE_IDENTITY = f"console:{CONSOLE_NAME}"
# What a new question may word differently when asked again: a fresh link, a clock time.
_VOLATILE = re.compile(r"https?://\S+|\b\d{2}:\d{2}\b")


def steady(text: str) -> str:
    return _VOLATILE.sub("…", text)


class Driver(Protocol):
    identity_key: str

    def say(self, text: str) -> None: ...

    def press(self, label: str) -> None: ...

    def keep(self, label: str) -> object:
        """A button of the last message that has it, to press later."""
        ...

    def press_kept(self, button: object) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Shown:
    """A message as the person sees it: its text and its buttons' labels."""

    text: str
    labels: tuple[str, ...] = ()


class TelegramDriver:
    """A Telegram user; each action is one update, then the outbox is delivered."""

    identity_key = TELEGRAM_IDENTITY

    def __init__(self, app: App) -> None:
        self.api = FakeBotApi()
        self.loop = asyncio.new_event_loop()
        settings = app.settings.model_copy(update={"telegram_bot_token": SecretStr(TOKEN)})
        self.channel: TelegramChannel = from_settings(
            settings, app.conversation.handle, app.uow_factory, request=self.api, files=app.files
        )
        self.sender = OutboxSender(app.uow_factory, [self.channel])
        self._updates = itertools.count(1)
        self._typed = itertools.count(10)
        self.calls: list[ApiCall] = []
        self._run(self.channel.start())

    def _run(self, coroutine: Any) -> Any:
        return self.loop.run_until_complete(coroutine)

    def _act(self, update: dict[str, Any]) -> None:
        mark = len(self.api.calls)
        self._run(self.channel.process(Update.de_json(update, self.channel.bot)))
        self._run(self.sender.send_due())
        self.calls = self.api.calls[mark:]

    def say(self, text: str) -> None:
        update = message_update(
            next(self._updates), TELEGRAM_USER, text, message_id=next(self._typed)
        )
        self._act(update)

    def press(self, label: str) -> None:
        self.press_kept(self.keep(label))

    def keep(self, label: str) -> tuple[int, str]:
        for message_id, message in reversed(self.api.chat.items()):
            for row in message.get("reply_markup", {}).get("inline_keyboard", ()):
                for button in row:
                    if button["text"] == label and "callback_data" in button:
                        return message_id, button["callback_data"]
        raise AssertionError(f"no button {label!r} in the chat")

    def press_kept(self, button: object) -> None:
        assert isinstance(button, tuple)
        message_id, data = button
        self._act(callback_update(next(self._updates), TELEGRAM_USER, data, message_id=message_id))

    def sent(self) -> list[Shown]:
        """The new messages the last action sent (edits not included)."""
        return [_shown(c.params) for c in self.calls if c.method == "sendMessage"]

    def called(self, method: str) -> list[ApiCall]:
        return [c for c in self.calls if c.method == method]

    def with_buttons(self) -> dict[int, Shown]:
        """The messages of the chat that still show buttons."""
        return {i: _shown(m) for i, m in self.api.chat.items() if m.get("reply_markup")}

    def close(self) -> None:
        self._run(self.channel.stop())
        self.loop.close()


def _shown(message: dict[str, Any]) -> Shown:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", ())
    return Shown(message["text"], tuple(b["text"] for row in rows for b in row))


class ConsoleDriver:
    """Someone typing lines in `revendabot console --as ana`."""

    identity_key = CONSOLE_IDENTITY

    def __init__(self, app: App, downloads: Path) -> None:
        self.out = io.StringIO()
        self.console = ConsoleChannel(
            CONSOLE_NAME,
            app.conversation.handle,
            app.uow_factory,
            downloads,
            out=self.out,
            files=app.files,
        )
        self.printed = ""

    def say(self, text: str) -> None:
        mark = len(self.out.getvalue())
        self.console.send_line(text)
        self.printed = self.out.getvalue()[mark:]

    def press(self, label: str) -> None:
        self.say(label)

    def keep(self, label: str) -> Inbound:
        """The label typed now, as the console reads it (a press of the button on screen)."""
        event = self.console.event_for(label)
        assert event is not None
        assert isinstance(event.body, ChoiceBody), f"no button {label!r} on the screen"
        return event

    def press_kept(self, button: object) -> None:
        """That line handled only now, after the flow moved on (a console whose screen
        was behind, as a chat scrolled up is)."""
        assert isinstance(button, Inbound)
        mark = len(self.out.getvalue())
        self.console.handle(button)
        self.console.drain()
        self.printed = self.out.getvalue()[mark:]

    def close(self) -> None:
        return None
