"""Reading WhatsApp webhook payloads: one envelope per message or status, pywa first, then ours.

Meta may batch several entries, changes, messages and statuses into one POST, while pywa reads
only the first of each; `split` therefore cuts a payload into single-item envelopes (each with
the contact it concerns) that pywa can read. When pywa cannot (older shapes without
`contacts[].user_id`, statuses without `contacts`, shapes newer than pywa), `parse_raw` reads the
fields we act on directly from the JSON.

Identity: a person is keyed by the BSUID (`user_id`); payloads of the older shape carry only the
phone number (`wa_id`), which the channel then maps to a BSUID seen before with it, or uses as
the key itself (`wa:<wa_id>`).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pywa_async import types as wa_types

from services.messages import MediaKind


@dataclass(frozen=True, slots=True)
class Person:
    bsuid: str | None
    wa_id: str | None
    name: str | None = None
    username: str | None = None


@dataclass(frozen=True, slots=True)
class MediaRef:
    id: str
    name: str
    mime: str


@dataclass(frozen=True, slots=True)
class MessageEvent:
    """A message a person sent; `kind` is text, choice, document, or the Cloud API's type of
    anything else (image, audio, reaction..., see MEDIA_KINDS)."""

    wamid: str
    person: Person
    at: datetime
    kind: str
    text: str | None = None
    choice: str | None = None
    document: MediaRef | None = None
    # The media id of an image, audio, video or sticker (never fetched: nothing uses the bytes).
    media_id: str | None = None


# Cloud API message types that are someone writing something other than text, a button or a
# document. "unsupported" (and "unknown", its older name) is content the Cloud API itself
# cannot show us (a poll, a view-once photo...): the person still sent something. Types left
# out are not someone writing (system, edit, revoke, request_welcome) and stay unanswered.
MEDIA_KINDS = {
    "image": MediaKind.IMAGE,
    "audio": MediaKind.AUDIO,  # voice notes too (`audio.voice` is true)
    "video": MediaKind.VIDEO,
    "sticker": MediaKind.STICKER,
    "location": MediaKind.LOCATION,
    "contacts": MediaKind.CONTACT,
    "reaction": MediaKind.REACTION,
    "unsupported": MediaKind.OTHER,
    "unknown": MediaKind.OTHER,
}
_WITH_MEDIA_ID = ("image", "audio", "video", "sticker")


@dataclass(frozen=True, slots=True)
class StatusEvent:
    wamid: str
    status: str
    recipient: str | None
    at: datetime
    error: str | None = None


Event = MessageEvent | StatusEvent


class Unreadable(ValueError):
    """Neither pywa nor our parser can read this envelope."""


@dataclass(frozen=True, slots=True)
class Split:
    envelopes: list[dict[str, Any]]
    unreadable: list[tuple[str, dict[str, Any]]]  # (reason, the part we could not use)
    foreign: int  # changes for another phone number or fields we do not subscribe to


def split(payload: Any, phone_id: str) -> Split:
    """Single-message / single-status envelopes of a webhook payload, for our phone number."""
    if not isinstance(payload, dict) or not isinstance(payload.get("entry"), list):
        return Split([], [("not a WhatsApp webhook payload", _as_dict(payload))], 0)
    envelopes: list[dict[str, Any]] = []
    unreadable: list[tuple[str, dict[str, Any]]] = []
    foreign = 0
    for entry in payload["entry"]:
        changes = entry.get("changes") if isinstance(entry, dict) else None
        if not isinstance(changes, list):
            unreadable.append(("entry without changes", _as_dict(entry)))
            continue
        for change in changes:
            value = change.get("value") if isinstance(change, dict) else None
            if not isinstance(value, dict):
                unreadable.append(("change without value", _as_dict(change)))
                continue
            if change.get("field") != "messages":
                foreign += 1
                continue
            metadata = value.get("metadata") or {}
            if str(metadata.get("phone_number_id", phone_id)) != phone_id:
                foreign += 1
                continue
            items = [("messages", m) for m in value.get("messages") or ()]
            items += [("statuses", s) for s in value.get("statuses") or ()]
            if not items:
                unreadable.append(("no messages nor statuses", _envelope(payload, entry, change)))
            for key, item in items:
                single = {k: v for k, v in value.items() if k not in ("messages", "statuses")}
                single[key] = [item]
                contact = _contact_for(value.get("contacts"), item, key)
                single.pop("contacts", None)
                if contact is not None:
                    single["contacts"] = [contact]
                envelopes.append(_envelope(payload, entry, {**change, "value": single}))
    return Split(envelopes, unreadable, foreign)


def _envelope(payload: dict[str, Any], entry: Any, change: Any) -> dict[str, Any]:
    entry_fields = {k: v for k, v in entry.items() if k != "changes"}
    return {
        "object": payload.get("object", "whatsapp_business_account"),
        "entry": [{**entry_fields, "changes": [copy.deepcopy(change)]}],
    }


def _contact_for(contacts: Any, item: dict[str, Any], key: str) -> dict[str, Any] | None:
    """The contact a message came from (or a status went to)."""
    if not isinstance(contacts, list) or not contacts:
        return None
    if key == "messages":
        wanted = {item.get("from_user_id"), item.get("from")}
    else:
        wanted = {item.get("recipient_user_id"), item.get("recipient_id")}
    wanted.discard(None)
    for contact in contacts:
        if isinstance(contact, dict) and wanted & {contact.get("user_id"), contact.get("wa_id")}:
            return contact
    return contacts[0] if len(contacts) == 1 and isinstance(contacts[0], dict) else None


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {"value": value}


# -- pywa's updates → events ------------------------------------------------------------------


def from_pywa(update: Any) -> Event:
    """The event for an update pywa built (Message, CallbackButton, CallbackSelection, status)."""
    if isinstance(update, wa_types.MessageStatus):
        error = f"{update.error.code}: {update.error.message}" if update.error else None
        user = update.from_user
        return StatusEvent(
            update.id, str(update.status), user.bsuid or user.wa_id, update.timestamp, error
        )
    user = update.from_user
    person = Person(user.bsuid, user.wa_id, user.name, user.username)
    if isinstance(update, wa_types.CallbackButton | wa_types.CallbackSelection):
        return MessageEvent(update.id, person, update.timestamp, "choice", choice=update.data)
    if isinstance(update, wa_types.Message):
        if update.text is not None:
            return MessageEvent(update.id, person, update.timestamp, "text", text=update.text)
        document = update.document
        if document is not None:
            media = MediaRef(
                document.id, document.filename or "arquivo", document.mime_type or _OCTET
            )
            return MessageEvent(update.id, person, update.timestamp, "document", document=media)
        sent = update.image or update.audio or update.video or update.sticker
        media_id = str(sent.id) if sent is not None else None
        kind = str(update.type)
        return MessageEvent(update.id, person, update.timestamp, kind, media_id=media_id)
    raise Unreadable(f"unexpected update type {type(update).__name__}")


# -- the raw fallback -------------------------------------------------------------------------

_OCTET = "application/octet-stream"


def parse_raw(envelope: dict[str, Any]) -> Event:
    """Read an envelope from `split` straight from the JSON (pywa could not)."""
    try:
        value = envelope["entry"][0]["changes"][0]["value"]
        if value.get("statuses"):
            return _raw_status(value["statuses"][0])
        return _raw_message(value["messages"][0], (value.get("contacts") or [{}])[0])
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        raise Unreadable(f"{type(exc).__name__}: {exc}") from exc


def _raw_status(status: dict[str, Any]) -> StatusEvent:
    errors = status.get("errors") or []
    error = None
    if errors:
        first = errors[0]
        error = f"{first.get('code')}: {first.get('title') or first.get('message')}"
    recipient = status.get("recipient_user_id") or status.get("recipient_id")
    return StatusEvent(
        str(status["id"]), str(status["status"]), recipient, _at(status["timestamp"]), error
    )


def _raw_message(message: dict[str, Any], contact: dict[str, Any]) -> MessageEvent:
    profile = contact.get("profile") or {}
    bsuid = contact.get("user_id") or message.get("from_user_id")
    wa_id = contact.get("wa_id") or message.get("from")
    if not bsuid and not wa_id:
        raise Unreadable("a message without a sender")
    person = Person(bsuid or None, wa_id or None, profile.get("name"), profile.get("username"))
    wamid, at, kind = str(message["id"]), _at(message["timestamp"]), str(message["type"])
    if kind == "text":
        return MessageEvent(wamid, person, at, "text", text=str(message["text"]["body"]))
    if kind == "interactive":
        interactive = message["interactive"]
        reply = interactive.get("button_reply") or interactive.get("list_reply")
        if reply is None:
            return MessageEvent(wamid, person, at, f"interactive:{interactive.get('type')}")
        return MessageEvent(wamid, person, at, "choice", choice=str(reply["id"]))
    if kind == "button":  # a template's quick-reply button
        return MessageEvent(wamid, person, at, "choice", choice=str(message["button"]["payload"]))
    if kind == "document":
        document = message["document"]
        media = MediaRef(
            str(document["id"]),
            str(document.get("filename") or "arquivo"),
            str(document.get("mime_type") or _OCTET),
        )
        return MessageEvent(wamid, person, at, "document", document=media)
    media_id = None
    if kind in _WITH_MEDIA_ID and isinstance(message.get(kind), dict):
        media_id = str(message[kind].get("id") or "") or None
    return MessageEvent(wamid, person, at, kind, media_id=media_id)


def _at(timestamp: Any) -> datetime:
    return datetime.fromtimestamp(int(timestamp), UTC)
