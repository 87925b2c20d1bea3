"""Repository of the WhatsApp channel's own tables (storage/models_whatsapp.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from storage.models import OutboxMessage, UserIdentity
from storage.models_whatsapp import (
    WhatsAppRawUpdate,
    WhatsAppStatus,
    WhatsAppUser,
    WhatsAppWindow,
)
from storage.transaction import Repository


@dataclass(frozen=True, slots=True)
class StatusRow:
    wamid: str
    status: str
    recipient: str | None
    occurred_at: datetime
    error: str | None


class WhatsAppRepository(Repository):
    def _insert(self, table: Any) -> Any:
        dialect = self.dialect
        return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)

    def record_statuses(self, rows: Sequence[StatusRow], now: datetime) -> int:
        """Store statuses; one already stored (a redelivered webhook) is skipped. Returns how
        many were new."""
        if not rows:
            return 0
        statement = (
            self._insert(WhatsAppStatus)
            .values(
                [
                    {
                        "wamid": row.wamid,
                        "status": row.status,
                        "recipient": row.recipient,
                        "occurred_at": row.occurred_at,
                        "error": row.error,
                        "recorded_at": now,
                    }
                    for row in rows
                ]
            )
            .on_conflict_do_nothing(index_elements=["wamid", "status"])
            .returning(WhatsAppStatus.id)
        )
        return len(self.session.execute(statement).all())

    def statuses_of(self, wamid: str) -> list[str]:
        return list(
            self.session.scalars(
                select(WhatsAppStatus.status)
                .where(WhatsAppStatus.wamid == wamid)
                .order_by(WhatsAppStatus.id)
            )
        )

    def remember_user(
        self, bsuid: str, wa_id: str | None, username: str | None, now: datetime
    ) -> None:
        """Record the phone number (and username) seen with a BSUID."""
        user = self.session.get(WhatsAppUser, bsuid)
        if user is None:
            self.session.add(
                WhatsAppUser(bsuid=bsuid, wa_id=wa_id, username=username, updated_at=now)
            )
        elif (user.wa_id, user.username) != (wa_id or user.wa_id, username or user.username):
            user.wa_id = wa_id or user.wa_id
            user.username = username or user.username
            user.updated_at = now
        self.session.flush()

    def bsuid_of(self, wa_id: str) -> str | None:
        """The BSUID last seen with this phone number, if any."""
        return self.session.scalar(
            select(WhatsAppUser.bsuid)
            .where(WhatsAppUser.wa_id == wa_id)
            .order_by(WhatsAppUser.updated_at.desc())
            .limit(1)
        )

    def keep_wa_id(self, identity_key: str, wa_id: str) -> bool:
        """Keep the phone number among the identity's attributes; False if there is none."""
        identity = self.session.scalar(
            select(UserIdentity).where(UserIdentity.key == identity_key)
        )
        if identity is None:
            return False
        attributes = dict(identity.attributes or {})
        if attributes.get("wa_id") != wa_id:
            attributes["wa_id"] = wa_id
            identity.attributes = attributes
        return True

    def touch_window(self, identity_key: str, at: datetime) -> None:
        """Record that the person wrote at `at` (an older time never replaces a newer one)."""
        insert = self._insert(WhatsAppWindow).values(identity_key=identity_key, last_inbound_at=at)
        self.session.execute(
            insert.on_conflict_do_update(
                index_elements=["identity_key"],
                set_={"last_inbound_at": insert.excluded.last_inbound_at},
                where=WhatsAppWindow.last_inbound_at < insert.excluded.last_inbound_at,
            )
        )

    def advance(self, identity_key: str, at: datetime, sent_at: datetime) -> datetime | None:
        """Record a message: `at` opens the window, `sent_at` (WhatsApp's date) orders it.
        Returns the latest WhatsApp date processed before (None for the first): a message
        dated before that one arrived out of order."""
        previous = self.session.scalar(
            select(WhatsAppWindow.last_message_at)
            .where(WhatsAppWindow.identity_key == identity_key)
            .with_for_update()
        )
        self.touch_window(identity_key, at)
        if previous is None or sent_at > previous:
            self.session.execute(
                update(WhatsAppWindow)
                .where(WhatsAppWindow.identity_key == identity_key)
                .values(last_message_at=sent_at)
            )
        return previous

    def last_inbound_at(self, identity_key: str) -> datetime | None:
        """The latest of the identity's last inbound time and the window's."""
        times = [
            self.session.scalar(
                select(UserIdentity.last_inbound_at).where(UserIdentity.key == identity_key)
            ),
            self.session.scalar(
                select(WhatsAppWindow.last_inbound_at).where(
                    WhatsAppWindow.identity_key == identity_key
                )
            ),
        ]
        known = [t for t in times if t is not None]
        return max(known) if known else None

    def keep_raw(self, reason: str, payload: dict[str, Any], now: datetime) -> None:
        self.session.add(WhatsAppRawUpdate(received_at=now, reason=reason[:200], payload=payload))
        self.session.flush()

    def raw_updates(self) -> list[WhatsAppRawUpdate]:
        return list(self.session.scalars(select(WhatsAppRawUpdate).order_by(WhatsAppRawUpdate.id)))

    def outbox_payload(self, message_id: int, identity_key: str) -> dict[str, Any] | None:
        """The payload of an outbox message of this identity (for showing more of its list)."""
        return self.session.scalar(
            select(OutboxMessage.payload).where(
                OutboxMessage.id == message_id, OutboxMessage.identity_key == identity_key
            )
        )

    def retry_as_template(self, wamid: str, error: str, now: datetime) -> str:
        """Meta refused a message we sent (`wamid`) because the 24-hour window had closed: put
        its outbox row back as pending, marked to go as the template, once. The row's payload
        keeps the history. Returns what was done: "retry", "failed" (already retried, or its
        text was redacted), or "unknown" (not one of our rows)."""
        found = self.session.execute(
            select(OutboxMessage.id, OutboxMessage.payload)
            .where(OutboxMessage.channel == "whatsapp", OutboxMessage.external_ref == wamid)
            .with_for_update()
        ).first()
        if found is None:
            return "unknown"
        message_id, payload = found
        payload = dict(payload)
        history = list(payload.get("wa_history") or [])
        again = not payload.get("wa_template") and not payload.get("redacted")
        history.append(
            {
                "at": now.isoformat(),
                "wamid": wamid,
                "error": error,
                "then": "modelo aprovado" if again else "desistiu",
            }
        )
        payload["wa_history"] = history
        values: dict[str, Any] = {"payload": payload, "error": error[:500]}
        if again:
            payload["wa_template"] = True
            values |= {"status": "pending", "not_before": now, "claimed_at": None}
        else:
            values["status"] = "failed"
        self.session.execute(
            update(OutboxMessage).where(OutboxMessage.id == message_id).values(**values)
        )
        return "retry" if again else "failed"

    def forget_raw_before(self, cutoff: datetime, limit: int) -> int:
        """Delete up to `limit` unreadable updates received before `cutoff`, oldest first."""
        batch = (
            select(WhatsAppRawUpdate.id)
            .where(WhatsAppRawUpdate.received_at < cutoff)
            .order_by(WhatsAppRawUpdate.received_at)
            .limit(limit)
        )
        result: Any = self.session.execute(
            delete(WhatsAppRawUpdate).where(WhatsAppRawUpdate.id.in_(batch))
        )
        return int(result.rowcount)
