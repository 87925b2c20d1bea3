"""The console channel: a person (or a script on stdin) talking to the bot in a terminal.

Contract (DESIGN.md): messages printed as text; buttons as `[n] Label`; a line that is a number
or an exact label presses that button; `/file PATH` sends a file; anything else is text.
Documents go to the downloads folder as `[documento] NAME (N bytes)`, pictures (a report's
chart) likewise as `[imagem] NAME (N bytes)`; URL buttons print as `[link] LABEL: URL`. In
scripted mode every line is answered completely before the next one. What is printed stays
printed: the console cannot edit, and says so in its capabilities.
"""

from __future__ import annotations

import itertools
import mimetypes
import shutil
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from services import notices, outbox
from services.capabilities import Capabilities
from services.files import CHUNK, FileMissing, FileStore, open_content
from services.messages import (
    ChatAction,
    ChoiceBody,
    ClearButtons,
    DeleteMessage,
    Document,
    FileBody,
    Image,
    Inbound,
    Text,
    TextBody,
    UrlButton,
    from_payload,
)
from services.outbox import Delivered, Failed, Fate
from services.types import UnitOfWorkFactory

CHANNEL = "console"
FILE_PREFIX = "console-file:"
MAX_FILE_BYTES = 20 * 1024 * 1024
# A terminal only appends: an edit would print as a new block, a chat action as nothing;
# a line typed there cannot be taken back (code spans print as the plain text they are).
CAPABILITIES = Capabilities(edit=False, chat_actions=False, can_delete_messages=False)


def identity_key(name: str) -> str:
    return f"{CHANNEL}:{name}"


@dataclass
class ConsoleChannel:
    name: str
    handle: Callable[[Inbound], object]  # ConversationEngine.handle
    uow_factory: UnitOfWorkFactory
    downloads: Path
    out: TextIO = field(default_factory=lambda: sys.stdout)
    _buttons: list[tuple[str, str]] = field(default_factory=list)
    _counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    # Where the jobs' files are; a document row carries only its reference.
    files: FileStore | None = None

    @property
    def identity(self) -> str:
        return identity_key(self.name)

    def event_for(self, line: str) -> Inbound | None:
        """Translate one input line into an inbound event (None for an empty line)."""
        line = line.rstrip("\n")
        if not line.strip():
            return None
        stripped = line.strip()
        body: TextBody | ChoiceBody | FileBody
        pressed = self._pressed(stripped)
        if pressed is not None:
            body = ChoiceBody(pressed)
        elif stripped.startswith("/file "):
            path = Path(stripped[len("/file ") :].strip()).expanduser()
            if not path.is_file():
                self._print(f"(arquivo não encontrado: {path})")
                return None
            mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            size = path.stat().st_size
            # Read into memory here (a .pfx never leaves memory unencrypted); over the cap the
            # dialogue gets no bytes and says the file is too big.
            data = path.read_bytes() if size <= MAX_FILE_BYTES else None
            body = FileBody(FILE_PREFIX + str(path.resolve()), path.name, mime, size, data)
        else:
            body = TextBody(stripped)
        return Inbound(
            channel=CHANNEL,
            identity_key=self.identity,
            event_id=f"{self.name}:{datetime.now(UTC).timestamp():.6f}:{next(self._counter)}",
            address=self.name,
            body=body,
            received_at=datetime.now(UTC),
            display_name=self.name,
            capabilities=CAPABILITIES,
        )

    def _pressed(self, line: str) -> str | None:
        if line.isdigit():
            index = int(line) - 1
            if 0 <= index < len(self._buttons):
                return self._buttons[index][0]
            return None
        for choice_id, label in self._buttons:
            if label == line:
                return choice_id
        return None

    def send_line(self, line: str) -> None:
        """Handle one line and print everything it produced."""
        event = self.event_for(line)
        if event is not None:
            self.handle(event)
        self.drain()

    def drain(self) -> int:
        """Print every pending message for this identity (pushes included); return how many."""
        printed = 0
        with self._lock:
            notices.dispatch(self.uow_factory, self.handle, capabilities={CHANNEL: CAPABILITIES})
            while True:
                claimed = outbox.claim(self.uow_factory, limit=100, identity_key=self.identity)
                if not claimed:
                    return printed
                fates: list[Fate] = []
                for message in claimed:
                    try:
                        self._render(message.payload, message.blob)
                    except FileMissing as exc:
                        self._print(f"(arquivo indisponível: {exc})")
                        fates.append(Failed(message.id, str(exc)))
                    else:
                        fates.append(Delivered(message.id, None))
                    printed += 1
                outbox.record(self.uow_factory, fates)

    def _render(self, payload: dict[str, Any], blob: bytes | None) -> None:
        message, _ = from_payload(payload, blob)
        if isinstance(message, Text):
            self._print(message.text)
            buttons: list[tuple[str, str]] = []
            for row in message.buttons:
                for button in row:
                    if isinstance(button, UrlButton):
                        self._print(f"[link] {button.label}: {button.url}")
                    else:
                        buttons.append((button.id, button.label))
                        self._print(f"[{len(buttons)}] {button.label}")
            if buttons:
                self._buttons = buttons
            self._print("")
        elif isinstance(message, Document | Image):
            # a terminal shows no picture: it is saved like a document and named as an image
            self.downloads.mkdir(parents=True, exist_ok=True)
            target = self.downloads / Path(message.name).name
            source = open_content(self.files, message.file, message.data)
            with source, target.open("wb") as copy:
                shutil.copyfileobj(source, copy, CHUNK)
            label = "imagem" if isinstance(message, Image) else "documento"
            self._print(f"[{label}] {message.name} ({message.size} bytes)")
            if message.caption:
                self._print(message.caption)
            self._print("")
        elif isinstance(message, DeleteMessage | ClearButtons | ChatAction):
            pass  # nothing to remove from a terminal, and no "enviando documento…" in it

    def _print(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def run(self, lines: Iterable[str], *, interactive: bool) -> None:
        """Read lines until the end of input; print answers as they come."""
        self.drain()
        poller: threading.Thread | None = None
        stop = threading.Event()
        if interactive:
            poller = threading.Thread(target=self._poll, args=(stop,), daemon=True)
            poller.start()
            self._print("Console do RevendaBot. Digite /menu para começar; Ctrl+D sai.")
        try:
            for line in lines:
                self.send_line(line)
        finally:
            stop.set()
            if poller is not None:
                poller.join(timeout=2)

    def _poll(self, stop: threading.Event) -> None:
        while not stop.wait(0.5):
            self.drain()
