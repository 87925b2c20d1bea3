"""How a long job (services/fiscal_exports.py) shows that it is at work, and how it ends.

The step answers at once: `announce` puts the "⏳ Gerando…" notice, and "enviando documento…"
where the channel shows chat actions, in the outbox within the step's transaction (they go
before the step's other replies), and keeps the notice's outbox id.

The job then ticks its `Progress` from its own loop (each note, each part it sends):
- "enviando documento…" is renewed every `action_interval` seconds: Telegram shows it for
  about 5 s only, and a month of DANFEs takes minutes;
- once the notice is delivered (its platform id is known) it is edited with the count, at most
  every `progress_interval` seconds and only when the count changed.
Each tick also renews the job's lease (services/jobs.py), so a job at work is never taken
over. The ticks come from the job's own thread, so nothing keeps running, or writing, once it
ends; the clock is injected (`Pace.monotonic`), so tests simulate minutes without waiting.

At the end the notice is edited to the job's last words: "✅ Pronto: …", "nothing found", or
the error. Where it cannot be edited (the channel cannot, or it is not delivered yet) the last
words go as a new message; "Pronto" only for a big job, since the documents already say it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from domain.text import fill
from services.capabilities import Capabilities
from services.errors import ServiceError
from services.jobs import JobKind, Lease, RunningJob
from services.messages import ChatAction, Inbound, Outbound, Text
from services.outbox import enqueue_to, enqueue_to_returning
from storage.uow import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

PROGRESS_INTERVAL = 3.0  # seconds between edits of the notice, at most
ACTION_INTERVAL = 4.5  # seconds between "enviando documento…" (Telegram shows it ~5 s)
# Where the notice cannot be edited, a job of this many notes or more still says "Pronto".
PRONTO_FROM = 2_000


@dataclass(frozen=True, slots=True)
class Recipient:
    """Where the job's documents go: the person who asked, on the channel they asked in."""

    channel: str
    identity_key: str
    address: str

    @classmethod
    def of(cls, event: Inbound) -> Recipient:
        return cls(event.channel, event.identity_key, event.address)


def tell(uow_factory: UnitOfWorkFactory, to: Recipient, text: str) -> None:
    """One line to the person, in its own transaction (a job's answer or its failure)."""
    uow = uow_factory()
    with uow:
        enqueue_to(uow, to.channel, to.identity_key, to.address, [Text(text)], datetime.now(UTC))
        uow.commit()


def tell_asker(job: RunningJob, text: str) -> None:
    """One line to whoever asked for the job (its spec's `to`)."""
    tell(job.uow_factory, Recipient(**job.spec["to"]), text)


def request_kind(run: Callable[[RunningJob], None]) -> JobKind:
    """A quick job that makes one request to a service for the person who asked (the SEFAZ
    ones): when no worker could finish it, the person is told it failed."""
    return JobKind(run, lambda job: tell_asker(job, ServiceError().message), quick=True)


@dataclass(frozen=True, slots=True)
class Pace:
    """How often a running job speaks, in seconds of `monotonic`."""

    progress_interval: float = PROGRESS_INTERVAL
    action_interval: float = ACTION_INTERVAL
    pronto_from: int = PRONTO_FROM
    monotonic: Callable[[], float] = time.monotonic


@dataclass(frozen=True, slots=True)
class Announced:
    notice_id: int  # the outbox row of the step's notice
    total: int  # notes the job goes through


def announce(
    uow: UnitOfWork, to: Recipient, text: str, total: int, capabilities: Capabilities
) -> Announced:
    """Put the notice (and the chat action) in the outbox, in the step's transaction."""
    messages: list[Outbound] = [Text(text)]
    if capabilities.chat_actions:
        messages.append(ChatAction())
    ids = enqueue_to_returning(uow, to.channel, to.identity_key, to.address, messages, _now())
    return Announced(ids[0], total)


class Progress:
    """The notice of one job: its count, the renewed chat action, and its last words.

    `template` reads the count (`{feito}` of `{total}`); without a notice it stays silent,
    except for the last words, which then always go as a new message."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        to: Recipient,
        notice: Announced | None,
        template: str,
        capabilities: Capabilities,
        pace: Pace,
        lease: Lease | None = None,
    ) -> None:
        self.uow_factory, self.to, self.template, self.pace = uow_factory, to, template, pace
        self.lease = lease
        self.notice_id = notice.notice_id if notice is not None else 0
        self.total = notice.total if notice is not None else 0
        self.editable = notice is not None and capabilities.edit
        self.acting = notice is not None and capabilities.chat_actions
        self.edited_at = self.acted_at = pace.monotonic()
        self.shown = 0

    @property
    def big(self) -> bool:
        return self.total >= self.pace.pronto_from

    def tick(self, done: int | None = None) -> None:
        """The job is still at it, `done` notes behind it: renew the chat action and show the
        count when it is time; keep the job's lease."""
        if self.lease is not None:
            self.lease.renew()
        now = self.pace.monotonic()
        messages: list[Outbound] = []
        ref = None
        if done is not None and self._edit_due(now, done):
            self.edited_at = now  # a notice not delivered yet is looked up after the interval
            ref = self._notice_ref()
            if ref is not None:
                messages.append(Text(fill(self.template, feito=done, total=self.total), edit=True))
                self.shown = done
        if self.acting and now - self.acted_at >= self.pace.action_interval:
            self.acted_at = now
            messages.append(ChatAction())
        if not messages:
            return
        try:
            self._enqueue(messages, ref)
        except Exception:  # a courtesy: the documents must still go
            log.warning("job progress not shown: no more tries", exc_info=True)
            self.editable = self.acting = False

    def end(self, text: str, *, or_send: bool = True) -> None:
        """Edit the notice to the job's last words; where it cannot be edited, send them as a
        new message, unless `or_send` is False (the documents already said it)."""
        ref = self._notice_ref() if self.editable else None
        if ref is not None or or_send:
            self._enqueue([Text(text, edit=True)], ref)

    def _edit_due(self, now: float, done: int) -> bool:
        return (
            self.editable
            and done != self.shown
            and done < self.total  # the last words follow at once
            and now - self.edited_at >= self.pace.progress_interval
        )

    def _enqueue(self, messages: Sequence[Outbound], ref: str | None) -> None:
        to = self.to
        uow = self.uow_factory()
        with uow:
            enqueue_to(uow, to.channel, to.identity_key, to.address, messages, _now(), ref)
            uow.commit()

    def _notice_ref(self) -> str | None:
        """The notice's platform id; None while it is not delivered (or cannot be read:
        progress is a courtesy, the documents must still go)."""
        try:
            uow = self.uow_factory()
            with uow:
                return uow.outbox.external_ref(self.notice_id)
        except Exception:
            log.warning("job progress not shown: no more tries", exc_info=True)
            self.editable = False
            return None


def _now() -> datetime:
    return datetime.now(UTC)
