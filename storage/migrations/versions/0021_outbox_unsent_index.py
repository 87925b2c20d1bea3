"""Outbox: a chat's messages not yet delivered, by identity, without its history

The conversation engine claims the replies it has just written for this process's sender in
the event's own transaction (the sender then needs no claim of its own). That claim reads one
chat's pending and in-flight rows; ix_outbox_identity would walk the chat's whole history
(every sent message, until the retention sweep deletes it). Partial index (identity_key, id)
WHERE status IN ('pending', 'sending'): only the rows still to deliver, a few per chat. The
outbox is kept short by the retention sweep, so building it takes moments.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

UNSENT = sa.text("status IN ('pending', 'sending')")


def upgrade() -> None:
    op.create_index(
        "ix_outbox_unsent",
        "outbox_message",
        ["identity_key", "id"],
        sqlite_where=UNSENT,
        postgresql_where=UNSENT,
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_unsent", table_name="outbox_message")
