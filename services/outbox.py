"""Delivering the outbox: claim due messages, then record each one's fate."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from services.messages import Outbound, Text, to_payload
from storage.conversation import ClaimedMessage
from storage.uow import UnitOfWork, UnitOfWorkFactory

# How long a claim lasts without renewal. The sender renews the claims it still holds every
# quarter of it (bot/sender.py), so only a dead or stalled process's messages run out: they are
# taken over within about this long.
CLAIM_LEASE = timedelta(seconds=20)
MAX_ATTEMPTS = 8


@dataclass(frozen=True, slots=True)
class Delivered:
    message_id: int
    external_ref: str | None


@dataclass(frozen=True, slots=True)
class Deferred:
    """Try again after `delay` (rate limit, network); gives up after MAX_ATTEMPTS."""

    message_id: int
    attempts: int
    delay: timedelta
    error: str


@dataclass(frozen=True, slots=True)
class Failed:
    message_id: int
    error: str
    # The file the message carried is gone from the store (past FILE_TTL_DAYS): the person is
    # told so, in place of it, instead of waiting for a file that will not come.
    file_gone: bool = False


# The second user-facing string the core owns (with the engine's error reply): it is written
# when no dialogue runs, by whichever sender found the file gone.
FILE_GONE = (
    "⚠️ O arquivo {name} não está mais disponível: os arquivos gerados ficam guardados por alguns "
    "dias. Peça de novo pelo menu."
)
# Channels whose recipient is not the person in the chat (an accountant's e-mail).
NOT_A_CHAT = frozenset({"email"})


Fate = Delivered | Deferred | Failed


class Handoff(Protocol):
    """This process's outbox sender as the conversation engine sees it. When it `takes` the
    event's channel and the chat has nothing waiting or in flight, the event's transaction
    writes its replies already claimed for it (in flight, token 1) and hands them over after
    the commit (`adopt`): the sender sends them without a claim of its own. A process that dies
    in between leaves them claimed: they are taken over when the lease runs out, as any claim
    of a dead sender."""

    def takes(self, channel: str) -> bool: ...

    def adopt(self, messages: Sequence[ClaimedMessage], claimed_at: datetime) -> bool:
        """Hand claimed messages to the sender; False if it is no longer there to take them."""
        ...


def claim(
    uow_factory: UnitOfWorkFactory,
    *,
    limit: int = 100,
    channels: Sequence[str] | None = None,
    identity_key: str | None = None,
) -> list[ClaimedMessage]:
    """Claim up to `limit` due messages (PostgreSQL: SKIP LOCKED, so senders never collide)."""
    uow = uow_factory()
    with uow:
        claimed = uow.outbox.claim(
            datetime.now(UTC),
            limit=limit,
            lease=CLAIM_LEASE,
            channels=channels,
            identity_key=identity_key,
        )
        uow.commit()
        return claimed


def record(
    uow_factory: UnitOfWorkFactory,
    fates: Sequence[Fate],
    tokens: Mapping[int, int] | None = None,
) -> None:
    """Write the outcome of a batch of sends in one transaction. With `tokens` (message id →
    the `attempts` its claim set) a fate is written only while that claim still holds: a
    sender that lost a message to another one cannot overwrite the newer claim's outcome."""
    if not fates:
        return
    uow = uow_factory()
    with uow:
        _write_fates(uow, fates, tokens, datetime.now(UTC))
        uow.commit()


def record_and_claim(
    uow_factory: UnitOfWorkFactory,
    fates: Sequence[Fate],
    tokens: Mapping[int, int],
    *,
    limit: int,
    channels: Sequence[str] | None = None,
) -> list[ClaimedMessage]:
    """`record` these fates (fenced by `tokens`), then `claim` up to `limit` due messages, in
    one transaction: the sender's round when both are waiting (one commit instead of two).
    All or nothing: if either part fails, neither is written."""
    now = datetime.now(UTC)
    uow = uow_factory()
    with uow:
        if fates:
            _write_fates(uow, fates, tokens, now)
        claimed = (
            uow.outbox.claim(now, limit=limit, lease=CLAIM_LEASE, channels=channels)
            if limit > 0
            else []
        )
        uow.commit()
        return claimed


def _write_fates(
    uow: UnitOfWork, fates: Sequence[Fate], tokens: Mapping[int, int] | None, now: datetime
) -> None:
    uow.outbox.mark_sent_many(
        [(f.message_id, f.external_ref) for f in fates if isinstance(f, Delivered)],
        now,
        tokens,
    )
    for fate in fates:
        if isinstance(fate, Delivered):
            continue
        token = None if tokens is None else tokens[fate.message_id]
        if isinstance(fate, Deferred) and fate.attempts < MAX_ATTEMPTS:
            uow.outbox.retry_later(fate.message_id, now + fate.delay, fate.error, token)
        elif uow.outbox.mark_failed(fate.message_id, fate.error, token) and (
            isinstance(fate, Failed) and fate.file_gone
        ):
            _tell_file_gone(uow, fate.message_id, now)


def renew(uow_factory: UnitOfWorkFactory, held: Mapping[int, int]) -> set[int]:
    """Keep the claims on the messages `held` (id → token); returns the ids still held."""
    if not held:
        return set()
    uow = uow_factory()
    with uow:
        kept = uow.outbox.renew_claims(held, datetime.now(UTC))
        uow.commit()
        return kept


def _tell_file_gone(uow: UnitOfWork, message_id: int, now: datetime) -> None:
    row = uow.outbox.row(message_id)
    if row is None or row.channel in NOT_A_CHAT:
        return
    text = Text(FILE_GONE.format(name=row.payload.get("name") or ""))
    enqueue_to(uow, row.channel, row.identity_key, row.address, [text], now)


def pending_count(uow_factory: UnitOfWorkFactory, identity_key: str | None = None) -> int:
    uow = uow_factory()
    with uow:
        return uow.outbox.pending_count(identity_key)


def depth(uow_factory: UnitOfWorkFactory) -> tuple[int, datetime | None]:
    """(messages waiting to be sent, when the oldest of them was created)."""
    uow = uow_factory()
    with uow:
        return uow.outbox.pending_stats()


def enqueue_to(
    uow: UnitOfWork,
    channel: str,
    identity_key: str,
    address: str,
    messages: Sequence[Outbound],
    now: datetime,
    edit_ref: str | None = None,
) -> None:
    uow.outbox.enqueue(outbox_rows(channel, identity_key, address, messages, now, edit_ref))


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
    rows = outbox_rows(channel, identity_key, address, messages, now, edit_ref)
    return uow.outbox.enqueue_returning(rows)


def outbox_rows(
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
