"""The conversation core: one inbound event = one transaction.

    skip a duplicate (channel, event id) · serialize on the identity · resolve the principal ·
    run one dialogue step · put the replies in the outbox · save the state · commit

The dialogue itself (handlers/) is injected as a `Dialogue` callable, so this layer knows
nothing of flows and the flows know nothing of transactions.

The engine keeps, with the state, the outbox id of the live prompt (the reply marked
`prompt`). When a newer prompt replaces it as a new message, the old one's buttons are taken
off (ClearButtons) where the channel's capabilities allow, so it no longer looks clickable.

Events that arrive together may share one transaction (`handle_many`): one statement claims
them all and serializes on all their identities, then each is handled exactly as if one after
the other, and one COMMIT keeps them all; if any of them fails, none of the group is kept and
each is handled alone.

When this process's outbox sender delivers the event's channel (a `Handoff`) and the chat has
nothing waiting or in flight (read with the state), the replies are written already claimed for
that sender and handed over after the commit: they go out without the sender's own claim round,
and without waking it.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from services.access import principal_of
from services.files import FileStore
from services.jobs import After, JobRequest, queue
from services.messages import (
    ClearButtons,
    Document,
    Image,
    Inbound,
    NoticeBody,
    Outbound,
    Text,
)
from services.outbox import Handoff, enqueue_to, outbox_rows
from services.principal import Principal
from services.replies import merge_replies
from storage.conversation import PROMPT_KEY, ClaimedMessage, StateAfter, StoredState
from storage.uow import UnitOfWork, UnitOfWorkFactory

# What wraps each event's processing in `handle_many` (its logging context, its metrics).
Around = Callable[[Inbound], AbstractContextManager[object]]

log = logging.getLogger(__name__)

STATE_TTL = timedelta(hours=24)


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
    # Long work (a month's ZIP, a report) written as durable jobs with the step; a worker
    # builds it and enqueues its own messages (services/jobs.py).
    jobs: Sequence[JobRequest] = ()
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


@dataclass(frozen=True, slots=True)
class _Committed:
    """What an event's transaction left for after its commit."""

    job_ids: list[int]  # the jobs it queued
    published: bool  # it published a notice
    born: list[ClaimedMessage]  # the replies claimed for this process's sender
    at: datetime  # when (the claims' stamp)
    # It enqueued messages that were not claimed with the replies (another chat's, an e-mail)
    others: bool


class ConversationEngine:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        dialogue: Dialogue,
        *,
        on_enqueued: Callable[[], None] | None = None,
        handoff: Handoff | None = None,
        on_published: Callable[[], None] | None = None,
        run_jobs: Callable[[Sequence[int]], None] | None = None,
        state_ttl: timedelta = STATE_TTL,
        files: FileStore | None = None,
        reads_photo: Callable[[str, str], bool] | None = None,
    ) -> None:
        self.uow_factory = uow_factory
        # Which (flow, step) reads a picture; None: any may (every photo is downloaded).
        self.reads_photo = reads_photo
        # Where a step's own files (a boleto PDF, one XML) go, so the outbox holds references.
        self.files = files
        self.dialogue = dialogue
        self.on_enqueued = on_enqueued
        # This process's sender, when it delivers an event's channel: the replies are claimed
        # for it in the event's transaction and handed over instead of waking it.
        self.handoff = handoff
        # Told after the commit of an event that published a notice (the notice loop).
        self.on_published = on_published
        # Told the ids of the jobs an event queued, after its commit: runs them here (inline
        # mode) or wakes the workers; None leaves them to whichever worker polls next.
        self.run_jobs = run_jobs
        self.state_ttl = state_ttl

    def wants_photo(self, identity_key: str) -> bool:
        """Whether this identity's conversation stands where a picture is read, so a channel
        downloads the chat photo it was sent (elsewhere the photo is answered by its kind)."""
        if self.reads_photo is None:
            return True
        uow = self.uow_factory()
        with uow:
            stored = uow.conversations.load(identity_key)
        if stored is None or (
            stored.expires_at is not None and stored.expires_at <= datetime.now(UTC)
        ):
            return False
        return self.reads_photo(stored.flow, stored.step)

    def handle(self, event: Inbound) -> Result:
        """Process one inbound event exactly once, or answer with an error reference."""
        try:
            processed = self._process(event, self.uow_factory)
        except Exception:
            reference = secrets.token_hex(4).upper()
            log.exception("event %s/%s failed (ref %s)", event.channel, event.event_id, reference)
            self._record_failure(event, reference)
            self._notify()
            return Result.FAILED
        return self._after_commit(processed)

    def handle_many(self, events: Sequence[Inbound], around: Around | None = None) -> list[Result]:
        """`handle()` each event in turn, all in one shared transaction (storage/uow.py
        `SharedTransaction`): what each sees and writes is what it would have alone, one after
        the other, but one BEGIN, one COMMIT and one connection serve them all, and one
        statement claims them all (skipping the duplicates) and serializes on all their
        identities, in a fixed order. If any of them raises, or the commit fails, nothing of
        the group is kept and each is handled alone (a failing one then answers with its error
        reference, and the others are not lost with it). The events must be of different
        identities, or in the order they arrived. `around(event)` wraps each event's own part
        (its logging context, its metrics), the shared claim and COMMIT apart; a group that
        failed has wrapped its events twice, once in the group and once alone."""
        around = around or _nothing
        if len(events) < 2:
            results = []
            for event in events:
                with around(event):
                    results.append(self.handle(event))
            return results
        processed: list[_Committed | None] = []
        try:
            with self.uow_factory.shared() as shared:
                fresh = self._claim(events, shared.unit_of_work())
                for event in events:
                    with around(event):
                        key = (event.channel, event.event_id)
                        if key in fresh:
                            fresh.discard(key)  # (the same event twice: the second is a duplicate)
                            processed.append(self._process(event, shared.unit_of_work, True))
                        else:
                            processed.append(None)
                shared.commit()
        except Exception:
            log.warning(
                "%d events shared a transaction that failed: each is handled alone",
                len(events),
                exc_info=True,
            )
            results = []
            for event in events:
                with around(event):
                    results.append(self.handle(event))
            return results
        return [self._after_commit(each) for each in processed]

    def _after_commit(self, processed: _Committed | None) -> Result:
        """What an event's commit lets go: its replies to the sender, its notice, its jobs."""
        if processed is None:
            return Result.DUPLICATE
        self._hand_over(processed)
        if processed.published and self.on_published is not None:
            self.on_published()
        if processed.job_ids and self.run_jobs is not None:
            self.run_jobs(processed.job_ids)
        return Result.DONE

    def _hand_over(self, processed: _Committed) -> None:
        """Give the sender the replies born claimed for it; wake it when there were none, when
        it is gone (they wait for their lease) or when the step enqueued other messages."""
        born = processed.born
        handed = bool(born) and self.handoff is not None and self.handoff.adopt(born, processed.at)
        if not handed or processed.others:
            self._notify()

    @staticmethod
    def _claim(events: Sequence[Inbound], uow: UnitOfWork) -> set[tuple[str, str]]:
        """Claim a group's events and serialize on their identities, in one round trip: the
        (channel, event id) of those not processed before."""
        with uow:
            fresh = uow.conversations.claim_events(
                [(event.channel, event.event_id) for event in events],
                datetime.now(UTC),
                locks=[_identity_lock(event) for event in events],
            )
            uow.commit()
        return fresh

    def _process(
        self, event: Inbound, uow_factory: Callable[[], UnitOfWork], claimed: bool = False
    ) -> _Committed | None:
        """The event's transaction (None: a duplicate); `claimed`: its transaction already
        claimed it and holds its identity."""
        now = datetime.now(UTC)
        uow = uow_factory()
        with uow:
            # serialize on the identity (PostgreSQL advisory lock; SQLite's BEGIN IMMEDIATE)
            # and skip a duplicate, in one round trip
            if not claimed and not uow.conversations.claim_event(
                event.channel, event.event_id, now, lock=_identity_lock(event)
            ):
                return None
            identity, stored, unsent = uow.conversations.load_with_identity(event.identity_key)
            sent_by_person = not isinstance(event.body, NoticeBody)
            principal = principal_of(uow, identity, address=event.address, touch=sent_by_person)
            state = None
            if stored is not None and (stored.expires_at is None or stored.expires_at > now):
                state = State(stored.flow, stored.step, stored.data, stored.version)
            outcome = self.dialogue(Turn(uow, principal, event, state))
            version = None
            # (an expired state's prompt still has its buttons: a new prompt takes them off)
            previous = stored.data.get(PROMPT_KEY) if stored is not None else None
            previous_ref = stored.prompt_ref if stored is not None else None
            replies = [
                stored_file(self.files, reply)
                for reply in merge_replies(outcome.replies, event.capabilities)
            ]
            # nothing older of this chat to send first (before the event, nor from its step),
            # and a sender here for its channel
            chat = (event.channel, event.identity_key)
            born_claimed = (
                unsent is False
                and chat not in uow.outbox.enqueued_to
                and self.handoff is not None
                and self.handoff.takes(event.channel)
            )
            saved = None
            if outcome.state is not None:
                next_state = outcome.state
                version = (state.version if state else 0) + 1
                data = dict(next_state.data)
                if previous is not None:  # a new prompt among the replies takes its place
                    data[PROMPT_KEY] = previous
                expires = now + self.state_ttl
                saved = StoredState(next_state.flow, next_state.step, data, version, expires)
            born = enqueue_replies(
                uow, event, replies, now, previous, previous_ref, claimed=born_claimed, state=saved
            )
            job_ids = _queue_jobs(uow, event, outcome, version, now)
            others = bool(uow.outbox.enqueued_to - {chat})
            uow.commit()
            return _Committed(job_ids, uow.published_notices > 0, born, now, others)

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


def _identity_lock(event: Inbound) -> str:
    return f"identity:{event.identity_key}"


def _nothing(_event: Inbound) -> AbstractContextManager[object]:
    return contextlib.nullcontext()


def _queue_jobs(
    uow: UnitOfWork, event: Inbound, outcome: Outcome, version: int | None, now: datetime
) -> list[int]:
    """Write the step's jobs; the replies meant to follow them go with the last one."""
    ids = []
    for number, request in enumerate(outcome.jobs, start=1):
        after = None
        if number == len(outcome.jobs) and outcome.after_jobs:
            key, address = event.identity_key, event.address
            after = After(event.channel, key, address, version, outcome.after_jobs)
        ids.append(queue(uow, request, now, after))
    return ids


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
    previous_ref: str | None,
    *,
    claimed: bool = False,
    state: StoredState | None = None,
) -> list[ClaimedMessage]:
    """Put the replies in the outbox and save the identity's next `state` (when it has one)
    with them, the outbox id of the prompt among the replies as its live prompt; return,
    when `claimed`, the rows as born claimed for this process's sender. When that prompt is
    a new message, take the buttons off the previous one (`previous_ref`, its platform id,
    read with the state; None while it is not sent), not when it edits the previous one in
    place: it has the new buttons."""
    to = (event.channel, event.identity_key, event.address)
    rows = outbox_rows(*to, replies, now, event.message_ref)
    index = next((i for i, m in enumerate(replies) if isinstance(m, Text) and m.prompt), None)
    if index is not None and previous_prompt is not None and event.capabilities.edit:
        # None while the old prompt is not delivered yet: it keeps its buttons, which
        # answer "expirou" like any other past prompt's
        old = previous_ref
        if old is not None and old != rows[index]["payload"].get("edit_ref"):
            rows += outbox_rows(*to, [ClearButtons(old)], now, None)
    after = None if state is None else StateAfter(event.identity_key, state, now, index)
    if not rows:
        if state is not None:
            uow.conversations.save(event.identity_key, state, now)
        return []
    if claimed:
        return uow.outbox.enqueue_claimed(rows, now, state=after)
    if after is None:
        uow.outbox.enqueue(rows)
    else:
        uow.outbox.enqueue_returning(rows, state=after)
    return []


def enqueue(uow: UnitOfWork, event: Inbound, replies: Sequence[Outbound], now: datetime) -> None:
    """Put replies to the event's identity in the outbox, in order."""
    enqueue_to(
        uow, event.channel, event.identity_key, event.address, replies, now, event.message_ref
    )
