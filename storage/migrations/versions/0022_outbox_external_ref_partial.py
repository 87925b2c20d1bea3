"""Outbox: index external_ref only where there is one

A WhatsApp status names its message by the wamid (`external_ref = ?`), which implies the value
is there; the rows not yet delivered have none, yet each was an entry of the index, written at
every insert (a page of the WAL in every event's commit on SQLite, ≈ 1 in 13) and taken out
again when the delivery set the value. Partial index WHERE external_ref IS NOT NULL: both
SQLite and PostgreSQL take it for an equality on the column. Rebuilding it reads the table
once (the retention sweep keeps it to a month of messages) while writes to it wait.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

HAS_REF = sa.text("external_ref IS NOT NULL")


def upgrade() -> None:
    op.drop_index("ix_outbox_external_ref", table_name="outbox_message")
    op.create_index(
        "ix_outbox_external_ref",
        "outbox_message",
        ["external_ref"],
        sqlite_where=HAS_REF,
        postgresql_where=HAS_REF,
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_external_ref", table_name="outbox_message")
    op.create_index("ix_outbox_external_ref", "outbox_message", ["external_ref"])
