"""The neutral message model every channel speaks: inbound events and outbound messages.

Channels translate their platform's updates into `Inbound` and render `Outbound`; the dialogue
(handlers) only ever sees these. Outbound messages are stored in the outbox as plain dicts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from services.capabilities import Capabilities
from services.files import FileRef

# An event whose channel declared nothing (tests, old callers): promise nothing.
NOTHING_PROMISED = Capabilities()


@dataclass(frozen=True, slots=True)
class TextBody:
    text: str


@dataclass(frozen=True, slots=True)
class ChoiceBody:
    """A button press: the id the button carried (never trusted: re-checked by the dialogue)."""

    choice_id: str


@dataclass(frozen=True, slots=True)
class FileBody:
    """A file the person sent; `ref` lets the channel fetch the bytes (kept in memory)."""

    ref: str
    name: str
    mime: str
    size: int
    # The bytes, fetched by the channel before the dialogue runs (None when over its cap).
    data: bytes | None = field(default=None, repr=False, compare=False)
    # The channel could not fetch it (the platform's media expired, unknown, or kept failing):
    # the person is asked to send it again.
    unavailable: bool = False


class MediaKind(StrEnum):
    """What a person sent that is neither text, a button nor a document."""

    IMAGE = "image"
    AUDIO = "audio"  # voice notes and audio files
    VIDEO = "video"  # videos, round video notes, GIFs
    STICKER = "sticker"
    LOCATION = "location"  # a pin or a venue
    CONTACT = "contact"  # a shared phone-book card
    REACTION = "reaction"  # an emoji on one of the bot's messages
    OTHER = "other"  # a poll, a dice, what the platform itself cannot show us...


@dataclass(frozen=True, slots=True)
class MediaBody:
    """A photo, voice note, sticker...: its kind reaches the dialogue, which answers it where
    the person is. `ref` is the platform's media id when there is one. A chat photo (the
    platform's compressed image) also comes as `photo`, the image as a file with its bytes, for
    the steps that read pictures (Step.accepts_photo: a DANFE's barcode); other media bytes are
    never fetched."""

    kind: MediaKind
    ref: str | None = None
    photo: FileBody | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class NoticeBody:
    """Not typed by anyone: a notice for this person (services/notices.py) to be worded."""

    kind: str
    data: dict[str, Any]


Body = TextBody | ChoiceBody | FileBody | MediaBody | NoticeBody


@dataclass(frozen=True, slots=True)
class Inbound:
    channel: str
    identity_key: str
    event_id: str
    address: str
    body: Body
    received_at: datetime
    display_name: str | None = None
    # The platform id of the message whose button was pressed (for editing it in place).
    message_ref: str | None = None
    capabilities: Capabilities = NOTHING_PROMISED
    # The platform dates it before an event of this identity already processed (WhatsApp does
    # not guarantee order): it must not answer the step the person has moved to since.
    out_of_order: bool = False


@dataclass(frozen=True, slots=True)
class Choice:
    id: str
    label: str


@dataclass(frozen=True, slots=True)
class UrlButton:
    label: str
    url: str


Button = Choice | UrlButton


@dataclass(frozen=True, slots=True)
class Text:
    """A text message with optional button rows. `edit` replaces the message that was pressed.

    `code` names spans of `text` (an integration key, a link's address) that channels show as
    code, which one tap copies where the channel can; `text` itself stays plain. `prompt` marks
    the question of the live step: the one message whose buttons the state accepts, until a
    newer prompt replaces it (not stored: only the engine looks at it).
    """

    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    edit: bool = False
    code: tuple[str, ...] = ()
    prompt: bool = field(default=False, compare=False)
    # Carries a secret (a one-time integration key, a contracting link): once delivered, the
    # outbox keeps "[redacted]" instead of the text.
    sensitive: bool = field(default=False, compare=False)

    @property
    def choices(self) -> list[Choice]:
        return [b for row in self.buttons for b in row if isinstance(b, Choice)]

    def pieces(self) -> list[tuple[str, bool]]:
        """`text` cut into (piece, is code) in order; every occurrence of a code span is code."""
        spans = sorted({span for span in self.code if span}, key=len, reverse=True)
        if not spans:
            return [(self.text, False)]
        pieces: list[tuple[str, bool]] = []
        last = 0
        for found in re.finditer("|".join(map(re.escape, spans)), self.text):
            if found.start() > last:
                pieces.append((self.text[last : found.start()], False))
            pieces.append((found.group(), True))
            last = found.end()
        if last < len(self.text):
            pieces.append((self.text[last:], False))
        return pieces


@dataclass(frozen=True, slots=True)
class Document:
    """A file to download: `file` references the file store (what jobs produce); `data` holds
    the bytes of small documents made in a step, and of rows queued before the store."""

    name: str
    mime: str
    data: bytes = field(default=b"", repr=False)
    caption: str | None = None
    file: FileRef | None = None

    @property
    def size(self) -> int:
        return self.file.size if self.file is not None else len(self.data)


@dataclass(frozen=True, slots=True)
class Image:
    """A picture shown in the chat (a chart), not a file to download: Telegram sends it as a
    photo, WhatsApp as an image message, the console saves it like a document."""

    name: str
    mime: str
    data: bytes = field(default=b"", repr=False)
    caption: str | None = None
    file: FileRef | None = None

    @property
    def size(self) -> int:
        return self.file.size if self.file is not None else len(self.data)


@dataclass(frozen=True, slots=True)
class DeleteMessage:
    """Remove a message from the chat (a password the person typed), where the channel can."""

    message_ref: str
    # Said instead when the channel tries and is refused (e.g. "apague a mensagem com a senha").
    if_kept: str | None = None


@dataclass(frozen=True, slots=True)
class ClearButtons:
    """Take the buttons off a message already sent (a prompt the flow has moved past), so it
    no longer looks clickable; only enqueued for channels whose capabilities say they can."""

    message_ref: str


@dataclass(frozen=True, slots=True)
class ChatAction:
    """Show the person that the bot is busy (Telegram: "enviando documento…" for a few
    seconds, until the next message); channels that cannot, deliver it as nothing."""

    kind: str = "upload_document"


Outbound = Text | Document | Image | DeleteMessage | ClearButtons | ChatAction


def to_payload(
    message: Outbound, *, edit_ref: str | None = None
) -> tuple[dict[str, Any], bytes | None]:
    """Serialize an outbound message for the outbox: (JSON payload, binary blob)."""
    if isinstance(message, Text):
        rows = [
            [
                {"id": b.id, "label": b.label}
                if isinstance(b, Choice)
                else {"url": b.url, "label": b.label}
                for b in row
            ]
            for row in message.buttons
        ]
        payload: dict[str, Any] = {"type": "text", "text": message.text, "buttons": rows}
        if message.code:
            payload["code"] = list(message.code)
        if message.sensitive:
            payload["sensitive"] = True
        if message.edit and edit_ref:
            payload["edit_ref"] = edit_ref
        return payload, None
    if isinstance(message, Document | Image):
        kind = "document" if isinstance(message, Document) else "image"
        payload = {
            "type": kind,
            "name": message.name,
            "mime": message.mime,
            "caption": message.caption,
        }
        if message.file is not None:  # a reference to the file store: no bytes in the row
            payload["file"] = message.file.to_json()
            return payload, None
        return payload, message.data
    if isinstance(message, ChatAction):
        return {"type": "chat_action", "kind": message.kind}, None
    if isinstance(message, ClearButtons):
        return {"type": "clear_buttons", "ref": message.message_ref}, None
    delete: dict[str, Any] = {"type": "delete", "ref": message.message_ref}
    if message.if_kept is not None:
        delete["if_kept"] = message.if_kept
    return delete, None


def from_payload(payload: dict[str, Any], blob: bytes | None) -> tuple[Outbound, str | None]:
    """Rebuild an outbound message (and the ref of the message it edits) from the outbox."""
    kind = payload["type"]
    if kind == "text":
        buttons = tuple(
            tuple(
                Choice(b["id"], b["label"]) if "id" in b else UrlButton(b["label"], b["url"])
                for b in row
            )
            for row in payload["buttons"]
        )
        edit_ref = payload.get("edit_ref")
        code = tuple(payload.get("code", ()))
        return Text(payload["text"], buttons, edit=edit_ref is not None, code=code), edit_ref
    if kind in ("document", "image"):
        # rows queued before the file store carry the bytes in `blob` and no "file"
        stored = payload.get("file")
        ref = FileRef.from_json(stored) if stored else None
        made = Document if kind == "document" else Image
        return made(
            payload["name"], payload["mime"], blob or b"", payload.get("caption"), ref
        ), None
    if kind == "chat_action":
        return ChatAction(payload["kind"]), None
    if kind == "clear_buttons":
        return ClearButtons(payload["ref"]), None
    return DeleteMessage(payload["ref"], payload.get("if_kept")), None
