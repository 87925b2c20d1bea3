"""The one claim/lease pattern of the project: outbox messages and durable jobs are taken by it.

A row is due when it waits (`pending`, `not_before` passed) or when whoever took it stopped
renewing it (in flight, `claimed_at` older than the lease: its process died). One UPDATE takes
the due rows and stamps them (`claimed_at = now`, `attempts + 1`) and returns them; on
PostgreSQL the candidates are picked `FOR UPDATE SKIP LOCKED`, so instances never wait on each
other nor take the same row; SQLite has one writer at a time. The new `attempts` is the taker's
fencing token: renewing or finishing a row checks it, so a process that lost its lease (it
stalled past it and another took over) can no longer write.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Table, bindparam, or_, select, update


def claim_statement(
    table: Table,
    dialect: str,
    *,
    limit: int,
    in_flight: str,
    where: Sequence[ColumnElement[bool]] = (),
    returning: Sequence[Any] = (),
    first: Sequence[ColumnElement[Any]] = (),
) -> Any:
    """UPDATE … RETURNING taking up to `limit` due rows of `table` (ids ascending, after the
    `first` sort keys), marking them `in_flight`. Parameters: `now`, `stale_before`
    (now − lease), and any of `where`'s."""
    due = or_(
        (table.c.status == "pending") & (table.c.not_before <= bindparam("now")),
        (table.c.status == in_flight) & (table.c.claimed_at < bindparam("stale_before")),
    )
    candidates = select(table.c.id).where(due, *where).order_by(*first, table.c.id).limit(limit)
    if dialect == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    return (
        update(table)
        .where(table.c.id.in_(candidates.scalar_subquery()))
        .values(status=in_flight, claimed_at=bindparam("now"), attempts=table.c.attempts + 1)
        .returning(*(returning or (table.c.id,)))
    )


def fenced(table: Table, in_flight: str) -> ColumnElement[bool]:
    """Rows still held by the taker whose token is `attempts` (bound as `row_id`, `token`)."""
    return (
        (table.c.id == bindparam("row_id"))
        & (table.c.status == in_flight)
        & (table.c.attempts == bindparam("token"))
    )
