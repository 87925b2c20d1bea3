"""Outbox: a chat's messages not yet delivered, by identity, without its history

An event whose chat has nothing waiting or in flight writes its replies already claimed for
this process's sender (which then needs no claim of its own); the statement that reads the
chat's state asks that with an EXISTS on one chat's pending and in-flight rows, which
ix_outbox_identity would answer by walking the chat's whole history (every sent message, until
the retention sweep deletes it). Partial index (identity_key, id) WHERE status IN ('pending',
'sending'): only the rows still to deliver, a few per chat. Building it reads the table once
(the retention sweep keeps it to a month of messages) while writes to it wait.

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
