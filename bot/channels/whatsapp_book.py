"""The WhatsApp channel's bookkeeping in the database (sync: called in worker threads).

Who a person is (BSUID ↔ phone number), when they last wrote (the 24-hour window) and the
WhatsApp date of their latest message (to tell one that arrived out of order), the phone
number kept on their identity, message statuses (a late 131047 puts the message back as the
template), and the next page of a long list. Small in-process caches spare a transaction per
message when nothing changed (not for the dates: the order check needs the exact one).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from bot.channels.whatsapp_parse import MessageEvent, StatusEvent, Unreadable
from bot.channels.whatsapp_render import LIST_BUTTON, MAX_BUTTONS, MAX_ROWS
from services.capabilities import MB, Capabilities
from services.messages import Inbound
from services.types import UnitOfWorkFactory
from storage.whatsapp import StatusRow

log = logging.getLogger(__name__)

CHANNEL = "whatsapp"
# Sent messages cannot be edited (nor their buttons taken off); no "enviando documento…"
# either (the pacer would space a chat action like a message, holding the replies behind it);
# the Cloud API cannot delete what a person sent, so a typed password stays in the chat.
# Every message counts against the pair rate, so replies merge; 3 reply buttons, else a list
# of 10 rows (whatsapp_render.py), whose body holds 1024 characters.
CAPABILITIES = Capabilities(
    edit=False,
    chat_actions=False,
    can_delete_messages=False,
    upload_limit=100 * MB,
    merge_replies=True,
    choice_text_limit=1024,
    text_limit=4096,
    max_buttons=MAX_BUTTONS,
    list_rows=MAX_ROWS,
    list_label=LIST_BUTTON,
)
# Error codes of a `failed` status that mean "the 24-hour window was closed" (470: the same,
# from API versions before 2022): the message goes again as the approved template.
REENGAGEMENT_CODES = frozenset({"131047", "470"})


def identity_key(user: str) -> str:
    return f"wa:{user}"


class WhatsAppBook:
    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self.uow_factory = uow_factory
        self._known_wa_ids: dict[str, str] = {}
        self._known_users: dict[str, tuple[str | None, str | None]] = {}

    def record_status(self, event: StatusEvent) -> bool:
        """Store a delivery status (once per wamid and status). A `failed` one for the closed
        window puts the message back in the outbox as the template (once); True then."""
        if event.status == "failed":
            log.warning("WhatsApp message %s failed: %s", event.wamid, event.error)
        now = datetime.now(UTC)
        uow = self.uow_factory()
        with uow:
            row = StatusRow(event.wamid, event.status, event.recipient, event.at, event.error)
            new = uow.whatsapp.record_statuses([row], now)
            retried = False
            if new and event.status == "failed" and _reengagement(event.error):
                done = uow.whatsapp.retry_as_template(event.wamid, event.error or "", now)
                log.info("message %s refused for the closed window: %s", event.wamid, done)
                retried = done == "retry"
            uow.commit()
        return retried

    def who(self, event: MessageEvent) -> tuple[str, str]:
        """(identity key, address): the BSUID keys the person; an older payload without it
        reaches the BSUID seen with the same phone number, or is keyed by the number."""
        person = event.person
        bsuid = person.bsuid
        seen = (person.wa_id, person.username)
        if bsuid and self._known_users.get(bsuid) != seen:
            uow = self.uow_factory()
            with uow:
                uow.whatsapp.remember_user(bsuid, person.wa_id, person.username, event.at)
                uow.commit()
            self._known_users[bsuid] = seen
        elif not bsuid and person.wa_id:
            uow = self.uow_factory()
            with uow:
                bsuid = uow.whatsapp.bsuid_of(person.wa_id)
        user = bsuid or person.wa_id
        if user is None:
            raise Unreadable("a message without a sender")
        return identity_key(user), person.wa_id or user

    def advance(self, key: str, sent_at: datetime) -> bool:
        """Keep the person's last message time (it opens the 24-hour window); True when the
        message (dated `sent_at` by WhatsApp) is older than one of theirs already processed
        (WhatsApp does not guarantee order)."""
        at = min(sent_at, datetime.now(UTC))  # a clock ahead of ours must not hold the window
        uow = self.uow_factory()
        with uow:
            previous = uow.whatsapp.advance(key, at, sent_at)
            uow.commit()
        return previous is not None and sent_at < previous

    def keep_wa_id(self, key: str, wa_id: str) -> None:
        """Keep the phone number on the identity (once bound: the identity may not exist)."""
        if self._known_wa_ids.get(key) == wa_id:
            return
        uow = self.uow_factory()
        with uow:
            if uow.whatsapp.keep_wa_id(key, wa_id):
                uow.commit()
                self._known_wa_ids[key] = wa_id

    def enqueue_page(self, inbound: Inbound, message_id: int, page: int) -> bool:
        """Put page `page` of this person's outbox message in the outbox again; False when
        there is no such message of theirs."""
        now = datetime.now(UTC)
        uow = self.uow_factory()
        with uow:
            payload = uow.whatsapp.outbox_payload(message_id, inbound.identity_key)
            if payload is None or payload.get("type") != "text":
                return False
            lock = f"identity:{inbound.identity_key}"
            if not uow.conversations.claim_event(CHANNEL, inbound.event_id, now, lock=lock):
                return True  # a redelivery of a press already answered
            page_payload = {k: v for k, v in payload.items() if k != "edit_ref"}
            page_payload["wa_page"] = page
            uow.outbox.enqueue(
                [
                    {
                        "channel": CHANNEL,
                        "identity_key": inbound.identity_key,
                        "address": inbound.address,
                        "payload": page_payload,
                        "blob": None,
                        "status": "pending",
                        "attempts": 0,
                        "not_before": now,
                        "created_at": now,
                    }
                ]
            )
            uow.commit()
            return True


def _reengagement(error: str | None) -> bool:
    """Whether a status error ("131047: Re-engagement message") says the window was closed."""
    return error is not None and error.split(":", 1)[0].strip() in REENGAGEMENT_CODES
