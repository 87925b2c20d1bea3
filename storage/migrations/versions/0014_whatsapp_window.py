"""WhatsApp's window and order: outbox_message.external_ref indexed, so a `failed` status
(131047, window closed) finds the message it names to send it again as the template; and
whatsapp_window.last_message_at, the WhatsApp date of the latest message processed, so one
dated before it is known to have arrived out of order

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_outbox_external_ref", "outbox_message", ["external_ref"])
    with op.batch_alter_table("whatsapp_window") as batch:
        batch.add_column(
            sa.Column("last_message_at", storage.types.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("whatsapp_window") as batch:
        batch.drop_column("last_message_at")
    op.drop_index("ix_outbox_external_ref", table_name="outbox_message")
