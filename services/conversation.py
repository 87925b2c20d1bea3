"""The conversation core: one inbound event = one transaction.

    skip a duplicate (channel, event id) · serialize on the identity · resolve the principal ·
    run one dialogue step · put the replies in the outbox · save the state · commit

The dialogue itself (handlers/) is injected as a `Dialogue` callable, so this layer knows
nothing of flows and the flows know nothing of transactions.

The engine keeps, with the state, the outbox id of the live prompt (the reply marked
`prompt`). When a newer prompt replaces it as a new message, the old one's buttons are taken
off (ClearButtons) where the channel's capabilities allow, so it no longer looks clickable.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from services.access import principal_of
from services.files import FileStore
from services.messages import (
    ClearButtons,
    Document,
    Image,
    Inbound,
    NoticeBody,
    Outbound,
    Text,
    to_payload,
)
from services.principal import Principal
from services.replies import merge_replies
from storage.conversation import StoredState
from storage.uow import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

STATE_TTL = timedelta(hours=24)
# Key of the state data where the engine keeps the outbox id of the live prompt.
PROMPT_MESSAGE = "_prompt_msg"


@dataclass(slots=True)
class State:
    flow: str
    step: str
    data: dict[str, Any] = field(default_factory=dict)
    version: int = 0


@dataclass(frozen=True, slots=True)
class Turn:
    """What the dialogue gets for one event."""

    uow: UnitOfWork
    principal: Principal | None
    event: Inbound
    state: State | None


@dataclass(slots=True)
class Outcome:
    """What the dialogue answers: messages for this identity and the state to keep."""

    replies: Sequence[Outbound]
    state: State | None
    # Work to start after commit (a long ZIP, a report); it enqueues its own messages.
    jobs: Sequence[Callable[[], None]] = ()
    # Replies that belong under the jobs' messages (the buttons to go on, under the files).
    after_jobs: Sequence[Outbound] = ()


class Dialogue(Protocol):
    def __call__(self, turn: Turn) -> Outcome: ...


class Result(StrEnum):
    DONE = "done"
    DUPLICATE = "duplicate"
    FAILED = "failed"


def error_reply(reference: str) -> Text:
    # The one user-facing string the core owns: it must work even when the dialogue is broken.
    return Text(
        "Ops, algo deu errado do nosso lado e nada foi salvo. "
        f"Tente de novo ou envie /menu. Se persistir, informe ao suporte a referência {reference}."
    )


class ConversationEngine:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        dialogue: Dialogue,
        *,
        on_enqueued: Callable[[], None] | None = None,
        run_job: Callable[[Callable[[], None]], None] | None = None,
        state_ttl: timedelta = STATE_TTL,
        files: FileStore | None = None,
    ) -> None:
        self.uow_factory = uow_factory
        # Where a step's own files (a boleto PDF, one XML) go, so the outbox holds references.
        self.files = files
        self.dialogue = dialogue
        self.on_enqueued = on_enqueued
        self.run_job = run_job or (lambda job: job())
        self.state_ttl = state_ttl

    def handle(self, event: Inbound) -> Result:
        """Process one inbound event exactly once, or answer with an error reference."""
        try:
            processed = self._process(event)
        except Exception:
            reference = secrets.token_hex(4).upper()
            log.exception("event %s/%s failed (ref %s)", event.channel, event.event_id, reference)
            self._record_failure(event, reference)
            self._notify()
            return Result.FAILED
        if processed is None:
            return Result.DUPLICATE
        self._notify()
        outcome, version = processed
        if outcome.jobs:
            self.run_job(self._then_notify(event, outcome, version))
        return Result.DONE

    def _then_notify(
        self, event: Inbound, outcome: Outcome, version: int | None
    ) -> Callable[[], None]:
        """Jobs enqueue their own messages later (in their own transactions): run them in
        order, then the replies that go under their messages; wake the sender at the end. A
        job answers its own failures; one escaping here is only logged."""

        def run() -> None:
            try:
                for job in outcome.jobs:
                    try:
                        job()
                    except Exception:
                        log.exception("background job failed")
                self._after_jobs(event, outcome.after_jobs, version)
            finally:
                self._notify()

        return run

    def _after_jobs(
        self, event: Inbound, replies: Sequence[Outbound], version: int | None
    ) -> None:
        """Enqueue the replies meant to follow the jobs' messages, unless the person has moved
        on since this event (their buttons would no longer match the state)."""
        if not replies:
            return
        try:
            uow = self.uow_factory()
            with uow:
                uow.lock(f"identity:{event.identity_key}")
                stored = uow.conversations.load(event.identity_key)
                if version is not None and (stored is None or stored.version != version):
                    return
                key, address = event.identity_key, event.address
                enqueue_to(uow, event.channel, key, address, replies, datetime.now(UTC))
                uow.commit()
        except Exception:
            log.exception("could not send what follows the jobs of event %s", event.event_id)

    def _process(self, event: Inbound) -> tuple[Outcome, int | None] | None:
        now = datetime.now(UTC)
        uow = self.uow_factory()
        with uow:
            # serialize on the identity (PostgreSQL advisory lock; SQLite's BEGIN IMMEDIATE)
            # and skip a duplicate, in one round trip
            lock = f"identity:{event.identity_key}"
            if not uow.conversations.claim_event(event.channel, event.event_id, now, lock=lock):
                return None
            identity, stored = uow.conversations.load_with_identity(event.identity_key)
            sent_by_person = not isinstance(event.body, NoticeBody)
            principal = principal_of(uow, identity, address=event.address, touch=sent_by_person)
            state = None
            if stored is not None and (stored.expires_at is None or stored.expires_at > now):
                state = State(stored.flow, stored.step, stored.data, stored.version)
            outcome = self.dialogue(Turn(uow, principal, event, state))
            version = None
            # (an expired state's prompt still has its buttons: a new prompt takes them off)
            previous = stored.data.get(PROMPT_MESSAGE) if stored is not None else None
            replies = [
                stored_file(self.files, reply)
                for reply in merge_replies(outcome.replies, event.capabilities)
            ]
            prompt = enqueue_replies(uow, event, replies, now, previous)
            if outcome.state is not None:
                next_state = outcome.state
                version = (state.version if state else 0) + 1
                data = dict(next_state.data)
                live_prompt = prompt if prompt is not None else previous
                if live_prompt is not None:
                    data[PROMPT_MESSAGE] = live_prompt
                uow.conversations.save(
                    event.identity_key,
                    StoredState(
                        next_state.flow,
                        next_state.step,
                        data,
                        version,
                        now + self.state_ttl,
                    ),
                    now,
                )
            uow.commit()
            return outcome, version

    def _record_failure(self, event: Inbound, reference: str) -> None:
        now = datetime.now(UTC)
        try:
            uow = self.uow_factory()
            with uow:
                uow.conversations.claim_event(event.channel, event.event_id, now)
                enqueue(uow, event, [error_reply(reference)], now)
                uow.commit()
        except Exception:
            log.exception(
                "could not record the failure of event %s (ref %s)", event.event_id, reference
            )

    def _notify(self) -> None:
        if self.on_enqueued is not None:
            self.on_enqueued()


def stored_file(files: FileStore | None, message: Outbound) -> Outbound:
    """A document or picture with bytes, written to the file store (when there is one) and
    carried as its reference."""
    if files is None or not isinstance(message, Document | Image) or message.file is not None:
        return message
    return replace(message, data=b"", file=files.put(message.data))


def enqueue_replies(
    uow: UnitOfWork,
    event: Inbound,
    replies: Sequence[Outbound],
    now: datetime,
    previous_prompt: int | None,
) -> int | None:
    """Put the replies in the outbox; return the outbox id of the prompt among them (None
    when there is none). When that prompt is a new message, take the buttons off the
    previous one (not when it edits the previous one in place: it has the new buttons)."""
    index = next((i for i, m in enumerate(replies) if isinstance(m, Text) and m.prompt), None)
    if index is None:
        enqueue(uow, event, replies, now)
        return None
    to = (event.channel, event.identity_key, event.address)
    rows = _outbox_rows(*to, replies, now, event.message_ref)
    uow.outbox.enqueue(rows[:index])
    (prompt,) = uow.outbox.enqueue_returning(rows[index : index + 1])
    after = rows[index + 1 :]
    if previous_prompt is not None and event.capabilities.edit:
        # None while the old prompt is not delivered yet: it keeps its buttons, which
        # answer "expirou" like any other past prompt's
        old = uow.outbox.external_ref(previous_prompt)
        if old is not None and old != rows[index]["payload"].get("edit_ref"):
            after += _outbox_rows(*to, [ClearButtons(old)], now, None)
    uow.outbox.enqueue(after)
    return prompt


def enqueue(uow: UnitOfWork, event: Inbound, replies: Sequence[Outbound], now: datetime) -> None:
    """Put replies to the event's identity in the outbox, in order."""
    enqueue_to(
        uow, event.channel, event.identity_key, event.address, replies, now, event.message_ref
    )


def enqueue_to(
    uow: UnitOfWork,
    channel: str,
    identity_key: str,
    address: str,
    messages: Sequence[Outbound],
    now: datetime,
    edit_ref: str | None = None,
) -> None:
    uow.outbox.enqueue(_outbox_rows(channel, identity_key, address, messages, now, edit_ref))


def enqueue_to_returning(
    uow: UnitOfWork,
    channel: str,
    identity_key: str,
    address: str,
    messages: Sequence[Outbound],
    now: datetime,
    edit_ref: str | None = None,
) -> list[int]:
    """Like `enqueue_to`, and the outbox ids of the messages, in order: a long job keeps its
    notice's id, to edit that message with progress once it is delivered."""
    rows = _outbox_rows(channel, identity_key, address, messages, now, edit_ref)
    return uow.outbox.enqueue_returning(rows)


def _outbox_rows(
    channel: str,
    identity_key: str,
    address: str,
    messages: Sequence[Outbound],
    now: datetime,
    edit_ref: str | None,
) -> list[dict[str, Any]]:
    rows = []
    for message in messages:
        payload, blob = to_payload(message, edit_ref=edit_ref)
        if "edit_ref" in payload:
            edit_ref = None  # only the first text reply edits the pressed message
        rows.append(
            {
                "channel": channel,
                "identity_key": identity_key,
                "address": address,
                "payload": payload,
                "blob": blob,
                "status": "pending",
                "attempts": 0,
                "not_before": now,
                "created_at": now,
                "sensitive": bool(payload.get("sensitive")),
            }
        )
    return rows
