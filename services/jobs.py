"""Durable background work: a step asks for a job, any instance's worker builds it.

A step that starts long work (a month's ZIP, a report, the DANFEs) returns a `JobRequest`; the
conversation engine writes it as a `job` row in the step's own transaction, with the replies
that belong under the job's messages, so the request is as durable as the answer. Workers
(`serve --workers N`, on any instance) take due jobs with the claim/lease of the outbox
(storage/claims.py); tests, the scripted console and one-shot commands run them inline, right
after the step's commit (`JobRunner.run_now`).

A running job holds a `Lease`: it renews it from its own loop, and writes how far it got
(`Lease.save`) in the same transaction as what it sent, so a worker that takes over after a
crash goes on from there instead of sending a part twice. A job whose process died is taken
over once the lease has passed; after `MAX_ATTEMPTS` takers the job gives up and says so to
the person. A worker that stops (SIGTERM) gives its job back at once.

Two requests with the same key (same kind, person and subject) while one waits or runs are one
job: the second is refused with `JobAlreadyQueued`, whose message the dialogue shows.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from services.access import current_principal
from services.errors import ServiceError
from services.messages import Outbound, from_payload, to_payload
from services.outbox import enqueue_to
from services.principal import Principal
from storage.jobs import ClaimedJob
from storage.uow import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
MAX_ATTEMPTS = 3
# A running job renews its lease this often (at most): a fraction of the lease, so a slow
# stretch between two ticks does not lose it.
RENEW_FRACTION = 4


class JobAlreadyQueued(ServiceError):
    message = "Isso já está sendo preparado: chega aqui assim que ficar pronto."


class AccessGone(ServiceError):
    message = "Seu acesso mudou antes de o pedido ficar pronto. Entre de novo e peça outra vez."


class LeaseLost(Exception):
    """Another worker took the job over (this one stalled past its lease): stop, quietly."""


class Interrupted(Exception):
    """This worker is stopping: the job goes back to the queue for another."""


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class JobRequest:
    """What a step asks for: `kind` names the code that builds it, `subject` what makes two
    requests the same job, `payload` (JSON) everything the builder needs."""

    kind: str
    identity_key: str
    subject: Sequence[str]
    payload: Mapping[str, Any]

    @property
    def key(self) -> str:
        text = "\x1f".join((self.kind, self.identity_key, *self.subject))
        return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class After:
    """Replies that go under the job's messages once it ends, unless the person moved on
    (their conversation's version is no longer `version`)."""

    channel: str
    identity_key: str
    address: str
    version: int | None
    messages: Sequence[Outbound]

    def to_json(self) -> dict[str, Any]:
        payloads = []
        for message in self.messages:
            payload, blob = to_payload(message)
            if blob is not None:  # a reply under a job is a question, never a file
                raise ValueError("replies after a job carry no file")
            payloads.append(payload)
        return {
            "channel": self.channel,
            "identity_key": self.identity_key,
            "address": self.address,
            "version": self.version,
            "messages": payloads,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> After:
        messages = [from_payload(payload, None)[0] for payload in data["messages"]]
        return cls(
            data["channel"], data["identity_key"], data["address"], data["version"], messages
        )


def ensure_not_queued(uow: UnitOfWork, request: JobRequest) -> None:
    """Refuse a request whose job already waits or runs (the step then says so)."""
    if uow.jobs.active(request.key):
        raise JobAlreadyQueued()


def queue(uow: UnitOfWork, request: JobRequest, now: datetime, after: After | None = None) -> int:
    """Write the job in the caller's transaction; returns its id."""
    ensure_not_queued(uow, request)
    payload: dict[str, Any] = {"spec": dict(request.payload)}
    if after is not None:
        payload["after"] = after.to_json()
    return uow.jobs.add(
        kind=request.kind,
        key=request.key,
        identity_key=request.identity_key,
        payload=payload,
        now=now,
    )


class Lease:
    """A running job's hold on its row."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        job: ClaimedJob,
        lease: timedelta,
        *,
        stopping: threading.Event | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.uow_factory = uow_factory
        self.job_id, self.token = job.id, job.attempts
        self.checkpoint: dict[str, Any] = dict(job.checkpoint)
        self.every = lease.total_seconds() / RENEW_FRACTION
        self.stopping = stopping
        self.monotonic = monotonic
        self.renewed_at = monotonic()

    def renew(self) -> None:
        """Called from the job's loop: keep the lease when it is time; stop the job when the
        worker stops or the lease was lost."""
        if self.stopping is not None and self.stopping.is_set():
            raise Interrupted()
        now = self.monotonic()
        if now - self.renewed_at < self.every:
            return
        self.renewed_at = now
        uow = self.uow_factory()
        with uow:
            kept = uow.jobs.renew(self.job_id, self.token, _now())
            uow.commit()
        if not kept:
            raise LeaseLost()

    def save(self, uow: UnitOfWork, **progress: Any) -> None:
        """Record how far the job got, in the caller's transaction (with what it sent)."""
        checkpoint = {**self.checkpoint, **progress}
        if not uow.jobs.renew(self.job_id, self.token, _now(), checkpoint):
            raise LeaseLost()
        self.checkpoint = checkpoint
        self.renewed_at = self.monotonic()


@dataclass(frozen=True, slots=True)
class RunningJob:
    """What a job's code gets: its payload, its lease, and where to read and write."""

    id: int
    spec: Mapping[str, Any]
    lease: Lease
    uow_factory: UnitOfWorkFactory
    attempt: int


def principal_of(job: RunningJob, identity_key: str) -> Principal:
    """Who asked, as they are now (a job runs later, on their behalf): unbound or removed
    meanwhile, they get nothing (`AccessGone`)."""
    uow = job.uow_factory()
    with uow:
        principal = current_principal(uow, identity_key)
    if principal is None:
        raise AccessGone()
    return principal


@dataclass(frozen=True, slots=True)
class JobKind:
    """The code of one kind of job: `run` builds it (answering its own failures to the
    person); `give_up` tells the person when no worker could finish it. `quick`: one request
    to a service (seconds) that a person waits for in the chat, which a worker of its own takes
    when the others are all building long files (bot/jobs.py)."""

    run: Callable[[RunningJob], None]
    give_up: Callable[[RunningJob], None]
    quick: bool = False


@dataclass(frozen=True, slots=True)
class Finished:
    kind: str
    outcome: str  # done, failed, released (given back on stop), lost (taken over)


@dataclass
class JobRunner:
    """Takes due jobs and runs them; the same object for inline runs and for workers."""

    uow_factory: UnitOfWorkFactory
    kinds: Mapping[str, JobKind]
    lease: timedelta = LEASE
    max_attempts: int = MAX_ATTEMPTS
    # Wakes the sender when a job enqueued messages.
    on_enqueued: Callable[[], None] | None = None
    monotonic: Callable[[], float] = time.monotonic

    def run_now(self, job_ids: Sequence[int]) -> None:
        """Run these jobs here and now, in order (inline mode)."""
        for job_id in job_ids:
            self.run_next(job_id=job_id)

    @property
    def quick_kinds(self) -> list[str]:
        return sorted(name for name, kind in self.kinds.items() if kind.quick)

    def run_next(
        self,
        *,
        job_id: int | None = None,
        stopping: threading.Event | None = None,
        kinds: Sequence[str] | None = None,
    ) -> Finished | None:
        """Take one due job (this one, when given; of these kinds, when given) and run it;
        None when none was due."""
        uow = self.uow_factory()
        with uow:
            job = uow.jobs.claim(_now(), self.lease, job_id, kinds)
            uow.commit()
        if job is None:
            return None
        return Finished(job.kind, self._run(job, stopping))

    def _run(self, job: ClaimedJob, stopping: threading.Event | None) -> str:
        """Run a taken job; returns how it ended (done, failed, released, lost)."""
        kind = self.kinds.get(job.kind)
        lease = Lease(
            self.uow_factory, job, self.lease, stopping=stopping, monotonic=self.monotonic
        )
        running = RunningJob(job.id, job.payload["spec"], lease, self.uow_factory, job.attempts)
        outcome, error = "done", None
        try:
            if kind is None:
                raise LookupError(f"no code for job kind {job.kind!r}")
            if job.attempts > self.max_attempts:
                outcome, error = "failed", f"gave up after {job.attempts - 1} attempts"
                kind.give_up(running)
            else:
                kind.run(running)
        except Interrupted:
            self._release(job)
            return "released"
        except LeaseLost:
            log.warning("job %s was taken over by another worker", job.id)
            return "lost"
        except Exception as exc:
            log.exception("job %s (%s) failed", job.id, job.kind)
            outcome, error = "failed", type(exc).__name__
        return self._finish(job, outcome, error)

    def _finish(self, job: ClaimedJob, outcome: str, error: str | None) -> str:
        """Mark the job and put the replies meant to follow it, in one transaction."""
        after = job.payload.get("after")
        try:
            uow = self.uow_factory()
            with uow:
                if after is not None:
                    uow.lock(f"identity:{after['identity_key']}")
                if not uow.jobs.finish(
                    job.id, job.attempts, _now(), failed=outcome == "failed", error=error
                ):
                    outcome = "lost"
                elif after is not None:
                    _enqueue_after(uow, After.from_json(after))
                uow.commit()
        except Exception:
            log.exception("could not record the end of job %s", job.id)
        finally:
            if self.on_enqueued is not None:
                self.on_enqueued()
        return outcome

    def _release(self, job: ClaimedJob) -> None:
        try:
            uow = self.uow_factory()
            with uow:
                uow.jobs.release(job.id, job.attempts)
                uow.commit()
        except Exception:
            log.exception("could not give job %s back; its lease will", job.id)


def _enqueue_after(uow: UnitOfWork, after: After) -> None:
    if not after.messages:
        return
    stored = uow.conversations.load(after.identity_key)
    if after.version is not None and (stored is None or stored.version != after.version):
        return  # the person moved on: these buttons would no longer match the state
    enqueue_to(uow, after.channel, after.identity_key, after.address, after.messages, _now())


def counts(uow_factory: UnitOfWorkFactory) -> dict[str, int]:
    """Jobs by status (for /metrics)."""
    uow = uow_factory()
    with uow:
        return uow.jobs.counts()
