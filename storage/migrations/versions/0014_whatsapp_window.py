"""outbox_message.external_ref indexed: a WhatsApp `failed` status (131047, window closed)
finds the message it names, to send it again as the approved template

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_outbox_external_ref", "outbox_message", ["external_ref"])


def downgrade() -> None:
    op.drop_index("ix_outbox_external_ref", table_name="outbox_message")
