"""outbox_message: an index on created_at for the retention sweep (oldest first, in batches)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_outbox_created", "outbox_message", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_outbox_created", table_name="outbox_message")
