"""Durable jobs: add one with its step, take due ones (storage/claims.py), renew, finish.

Renewing and finishing are fenced by the taker's token (the `attempts` its claim set): once a
job was taken over, its old taker's writes change nothing and it learns so (False)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from storage.claims import claim_statement, fenced
from storage.models_jobs import ACTIVE, ACTIVE_SQL, Job
from storage.transaction import Repository

_JOB = cast(Table, Job.__table__)
_RUNNING = "running"


@dataclass(frozen=True, slots=True)
class ClaimedJob:
    id: int
    kind: str
    payload: dict[str, Any]
    checkpoint: dict[str, Any]
    attempts: int  # the taker's token


@cache
def _claim(dialect: str, by_id: bool, by_kind: bool = False) -> Any:
    where = [_JOB.c.id == bindparam("job_id")] if by_id else []
    if by_kind:
        where.append(_JOB.c.kind.in_(bindparam("kinds", expanding=True)))
    return claim_statement(
        _JOB,
        dialect,
        limit=1,
        in_flight=_RUNNING,
        where=where,
        returning=(_JOB.c.id, _JOB.c.kind, _JOB.c.payload, _JOB.c.checkpoint, _JOB.c.attempts),
        # a job someone waits for (it has their identity) goes before the system's own
        first=(_JOB.c.identity_key.is_(None),),
    )


_FENCED = fenced(_JOB, _RUNNING)


class JobRepository(Repository):
    def add(
        self,
        *,
        kind: str,
        key: str,
        identity_key: str | None,
        payload: Mapping[str, Any],
        now: datetime,
        not_before: datetime | None = None,
    ) -> int:
        row = Job(
            kind=kind,
            key=key,
            identity_key=identity_key,
            payload=dict(payload),
            checkpoint={},
            status="pending",
            attempts=0,
            not_before=not_before or now,
            created_at=now,
        )
        self.session.add(row)
        self.session.flush()
        return row.id

    def add_once(
        self,
        *,
        kind: str,
        key: str,
        payload: Mapping[str, Any],
        now: datetime,
        not_before: datetime,
    ) -> bool:
        """Add a job nobody waits for unless one with this key already waits or runs (then
        nothing happens: no error, so concurrent writers never fail their transaction)."""
        values = {
            "kind": kind,
            "key": key,
            "identity_key": None,
            "payload": dict(payload),
            "checkpoint": {},
            "status": "pending",
            "attempts": 0,
            "not_before": not_before,
            "created_at": now,
        }
        dialect_insert = pg_insert if self.dialect == "postgresql" else sqlite_insert
        statement = (
            dialect_insert(_JOB)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["key"], index_where=ACTIVE_SQL)
        )
        result: Any = self.connection.execute(statement)
        return bool(result.rowcount)

    def active(self, key: str) -> bool:
        """Whether a job with this key waits or is being built."""
        found = self.session.scalar(
            select(Job.id).where(Job.key == key, Job.status.in_(ACTIVE)).limit(1)
        )
        return found is not None

    def claim(
        self,
        now: datetime,
        lease: timedelta,
        job_id: int | None = None,
        kinds: Sequence[str] | None = None,
    ) -> ClaimedJob | None:
        """Take the oldest due job (or this one, if it is due), of these kinds when given."""
        params: dict[str, Any] = {"now": now, "stale_before": now - lease}
        if job_id is not None:
            params["job_id"] = job_id
        if kinds is not None:
            params["kinds"] = list(kinds)
        statement = _claim(self.dialect, job_id is not None, kinds is not None)
        row = self.connection.execute(statement, params).first()
        if row is None:
            return None
        return ClaimedJob(
            row.id, row.kind, dict(row.payload), dict(row.checkpoint or {}), row.attempts
        )

    def renew(
        self, job_id: int, token: int, now: datetime, checkpoint: Mapping[str, Any] | None = None
    ) -> bool:
        """Keep the lease (and record how far the job got); False when it was lost."""
        values: dict[str, Any] = {"claimed_at": now}
        if checkpoint is not None:
            values["checkpoint"] = dict(checkpoint)
        result: Any = self.connection.execute(
            update(_JOB).where(_FENCED).values(**values), {"row_id": job_id, "token": token}
        )
        return bool(result.rowcount)

    def finish(
        self, job_id: int, token: int, now: datetime, *, failed: bool, error: str | None = None
    ) -> bool:
        result: Any = self.connection.execute(
            update(_JOB)
            .where(_FENCED)
            .values(status="failed" if failed else "done", finished_at=now, error=error),
            {"row_id": job_id, "token": token},
        )
        return bool(result.rowcount)

    def release(self, job_id: int, token: int) -> bool:
        """Give a job back at once (its process stops): another worker may take it now."""
        result: Any = self.connection.execute(
            update(_JOB).where(_FENCED).values(status="pending", claimed_at=None),
            {"row_id": job_id, "token": token},
        )
        return bool(result.rowcount)

    def status_of(self, job_id: int) -> str | None:
        return self.session.scalar(select(Job.status).where(Job.id == job_id))

    def counts(self) -> dict[str, int]:
        """Jobs by status (the metrics' gauge)."""
        rows = self.session.execute(select(Job.status, func.count()).group_by(Job.status))
        return {status: int(count) for status, count in rows}

    def forget_done_before(self, cutoff: datetime, limit: int) -> int:
        """Delete up to `limit` finished jobs created before `cutoff`, oldest first."""
        batch = (
            select(Job.id)
            .where(Job.created_at < cutoff, Job.status.in_(("done", "failed")))
            .order_by(Job.created_at)
            .limit(limit)
        )
        result: Any = self.session.execute(delete(Job).where(Job.id.in_(batch)))
        return int(result.rowcount)
