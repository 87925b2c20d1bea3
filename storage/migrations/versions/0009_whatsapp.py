"""whatsapp: message statuses, BSUID ↔ wa_id, unreadable updates, 24-hour window

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import storage.types

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "whatsapp_status",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("wamid", sa.String(length=160), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("recipient", sa.String(length=120), nullable=True),
        sa.Column("occurred_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("recorded_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_whatsapp_status")),
        sa.UniqueConstraint("wamid", "status", name=op.f("uq_whatsapp_status_wamid")),
    )
    op.create_table(
        "whatsapp_user",
        sa.Column("bsuid", sa.String(length=120), nullable=False),
        sa.Column("wa_id", sa.String(length=32), nullable=True),
        sa.Column("username", sa.String(length=120), nullable=True),
        sa.Column("updated_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("bsuid", name=op.f("pk_whatsapp_user")),
    )
    op.create_index("ix_whatsapp_user_wa_id", "whatsapp_user", ["wa_id"])
    op.create_table(
        "whatsapp_raw_update",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("received_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_whatsapp_raw_update")),
    )
    op.create_index("ix_whatsapp_raw_update_received", "whatsapp_raw_update", ["received_at"])
    op.create_table(
        "whatsapp_window",
        sa.Column("identity_key", sa.String(length=120), nullable=False),
        sa.Column("last_inbound_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("identity_key", name=op.f("pk_whatsapp_window")),
    )


def downgrade() -> None:
    op.drop_table("whatsapp_window")
    op.drop_index("ix_whatsapp_raw_update_received", table_name="whatsapp_raw_update")
    op.drop_table("whatsapp_raw_update")
    op.drop_index("ix_whatsapp_user_wa_id", table_name="whatsapp_user")
    op.drop_table("whatsapp_user")
    op.drop_table("whatsapp_status")
