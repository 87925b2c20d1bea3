"""What an operator watches: Prometheus metrics and structured logs, never any content.

`Metrics` owns its registry (one per app, so tests can build many): events handled and the
latency of `handle()`, sends by channel and fate, scheduled jobs by state and their duration,
webhook refusals, and — read from the database at scrape time — the outbox's depth and the age
of its oldest pending message. Log lines carry the event id and a short hash of the identity
(set while an event is handled), never a message's text.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
import logging
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from services import jobs, outbox
from services.messages import Inbound
from services.outbox import Deferred, Delivered, Fate
from services.types import UnitOfWorkFactory

EVENT_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("event_id", default=None)
IDENTITY: contextvars.ContextVar[str | None] = contextvars.ContextVar("identity", default=None)

T = TypeVar("T")
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


@dataclass(slots=True)
class _Timing:
    seconds: float = 0.0
    outcome: str = "error"  # until the block ends without raising


def identity_hash(identity_key: str) -> str:
    """A short, stable pseudonym of a chat for logs (not reversible to the chat id)."""
    return hashlib.sha256(identity_key.encode()).hexdigest()[:12]


class Metrics:
    def __init__(self, uow_factory: UnitOfWorkFactory | None = None) -> None:
        self.registry = CollectorRegistry()
        self.events = Counter(
            "revendabot_events_handled",
            "Inbound events handled, by channel and outcome.",
            ["channel", "outcome"],
            registry=self.registry,
        )
        self.handle_seconds = Histogram(
            "revendabot_handle_seconds",
            "Time to handle one inbound event (one transaction).",
            ["channel"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.sends = Counter(
            "revendabot_outbox_sends",
            "Outbox deliveries by channel and fate (delivered, deferred, failed).",
            ["channel", "fate"],
            registry=self.registry,
        )
        self.jobs = Counter(
            "revendabot_scheduled_jobs",
            "Scheduled jobs by name and state (ran, skipped: another instance, failed).",
            ["job", "state"],
            registry=self.registry,
        )
        self.job_seconds = Histogram(
            "revendabot_scheduled_job_seconds",
            "Duration of the scheduled jobs that ran here.",
            ["job"],
            buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800),
            registry=self.registry,
        )
        self.background = Counter(
            "revendabot_background_jobs_finished",
            "Durable jobs (ZIPs, reports, DANFEs) finished here, by kind and outcome (done, "
            "failed, released: given back on stop, lost: taken over by another worker).",
            ["kind", "outcome"],
            registry=self.registry,
        )
        self.webhook_refused = Counter(
            "revendabot_webhook_refused",
            "Webhook calls answered 503 because too many events were in progress.",
            registry=self.registry,
        )
        if uow_factory is not None:
            self.registry.register(_OutboxCollector(uow_factory))

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def observe_handle(self, handle: Callable[[Inbound], T]) -> Callable[[Inbound], T]:
        """`handle` timed and counted, with the event's id and identity hash in the logs."""

        def observed(inbound: Inbound) -> T:
            with self.observing(inbound):
                return handle(inbound)

        return observed

    def observe_many(
        self, handle_many: Callable[..., list[T]]
    ) -> Callable[[Sequence[Inbound]], list[T]]:
        """`handle_many(events, around=…)` with each event timed and counted once, and its id
        and identity hash in the logs while its own part runs. An event handled twice (its
        group failed, then it alone) counts once: the outcome of its last pass, the time of
        both."""

        def observed(events: Sequence[Inbound]) -> list[T]:
            # per event object: the event, and its passes' seconds and last outcome
            passes: dict[int, tuple[Inbound, _Timing]] = {}

            @contextlib.contextmanager
            def around(inbound: Inbound) -> Iterator[None]:
                timing = _Timing()
                try:
                    with self._timed(inbound) as timing:
                        yield
                finally:
                    _, total = passes.setdefault(id(inbound), (inbound, _Timing()))
                    total.seconds += timing.seconds
                    total.outcome = timing.outcome

            try:
                return handle_many(events, around=around)
            finally:
                for inbound, total in passes.values():
                    self._count(inbound, total.seconds, total.outcome)

        return observed

    @contextlib.contextmanager
    def observing(self, inbound: Inbound) -> Iterator[None]:
        """An event's handling, timed and counted, with its id and identity hash in the logs."""
        timing = _Timing()
        try:
            with self._timed(inbound) as timing:
                yield
        finally:
            self._count(inbound, timing.seconds, timing.outcome)

    @contextlib.contextmanager
    def _timed(self, inbound: Inbound) -> Iterator[_Timing]:
        """The event's id and identity hash in the logs meanwhile; how long it took and
        whether it raised, in what it yields once done."""
        event_token = EVENT_ID.set(inbound.event_id)
        identity_token = IDENTITY.set(identity_hash(inbound.identity_key))
        timing = _Timing()
        began = time.perf_counter()
        try:
            yield timing
            timing.outcome = "ok"
        finally:
            timing.seconds = time.perf_counter() - began
            EVENT_ID.reset(event_token)
            IDENTITY.reset(identity_token)

    def _count(self, inbound: Inbound, seconds: float, outcome: str) -> None:
        self.handle_seconds.labels(inbound.channel).observe(seconds)
        self.events.labels(inbound.channel, outcome).inc()

    def count_fate(self, channel: str, fate: Fate) -> None:
        if isinstance(fate, Delivered):
            name = "delivered"
        elif isinstance(fate, Deferred):
            name = "deferred"
        else:
            name = "failed"
        self.sends.labels(channel, name).inc()

    def background_done(self, kind: str, outcome: str) -> None:
        self.background.labels(kind, outcome).inc()

    def job_done(self, job: str, state: str, seconds: float | None = None) -> None:
        self.jobs.labels(job, state).inc()
        if seconds is not None:
            self.job_seconds.labels(job).observe(seconds)


class _OutboxCollector(Collector):
    """Outbox depth, the age of the oldest message still to send, and the durable jobs by
    status, read at scrape time."""

    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self.uow_factory = uow_factory

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            depth, oldest = outbox.depth(self.uow_factory)
        except Exception:
            logging.getLogger(__name__).exception("metrics: could not read the outbox")
            return
        yield GaugeMetricFamily(
            "revendabot_outbox_pending", "Messages waiting to be sent.", value=depth
        )
        age = (datetime.now(UTC) - oldest).total_seconds() if oldest is not None else 0.0
        yield GaugeMetricFamily(
            "revendabot_outbox_oldest_pending_seconds",
            "Age of the oldest message waiting to be sent (0 when none).",
            value=max(age, 0.0),
        )
        try:
            by_status = jobs.counts(self.uow_factory)
        except Exception:
            logging.getLogger(__name__).exception("metrics: could not read the jobs")
            return
        family = GaugeMetricFamily(
            "revendabot_background_jobs",
            "Durable jobs in the database by status (pending, running, done, failed).",
            labels=["status"],
        )
        for status in ("pending", "running", "done", "failed"):
            family.add_metric([status], by_status.get(status, 0))
        yield family


# PostgreSQL's DETAIL of a violated constraint names the values: a unique key's ("Key
# (email)=(…) already exists"), a foreign key's, or a whole row's ("Failing row contains (…)"),
# which can be a person's e-mail, a CPF or a message payload that carries a secret. The logs
# keep the constraint and the columns, never the values.
_DETAIL_VALUES = re.compile(r"(Key \([^)\n]*\)=)\(.*\)|(Failing row contains )\(.*\)")


def scrub(text: str) -> str:
    """`text` (a log line, an exception's trace) without the values a database error names."""
    return _DETAIL_VALUES.sub(lambda found: (found.group(1) or found.group(2)) + "(…)", text)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, event id, identity hash; the
    values a database error names left out (`scrub`)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": scrub(record.getMessage()),
        }
        event_id, identity = EVENT_ID.get(), IDENTITY.get()
        if event_id is not None:
            line["event_id"] = event_id
        if identity is not None:
            line["identity"] = identity
        if record.exc_info:
            line["exc"] = scrub(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False)


class ContextFormatter(logging.Formatter):
    """The plain format, with the event id and identity hash appended while an event runs; the
    values a database error names left out (`scrub`)."""

    def format(self, record: logging.LogRecord) -> str:
        text = scrub(super().format(record))
        event_id, identity = EVENT_ID.get(), IDENTITY.get()
        if event_id is not None:
            text += f" [event={event_id} identity={identity}]"
        return text
