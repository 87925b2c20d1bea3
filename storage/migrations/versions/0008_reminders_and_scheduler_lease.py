"""reminders and scheduler lease

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27

`reminder_sent` (one row per reminder ever sent: its unique key stops duplicates across restarts
and instances), `scheduler_lease` (which instance fires each job) and `notice_mute` (kinds of
reminder a gestor turned off). The certificate sweep reads `certificate.not_after` by range;
that column is already indexed (0005).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reminder_sent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("subject", sa.String(length=80), nullable=False),
        sa.Column("threshold", sa.String(length=16), nullable=False),
        sa.Column("gestor_id", sa.Integer(), nullable=False),
        sa.Column("sent_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["gestor_id"],
            ["gestor.id"],
            name=op.f("fk_reminder_sent_gestor_id_gestor"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_sent")),
        sa.UniqueConstraint("kind", "subject", "threshold", name="uq_reminder_sent_key"),
    )
    op.create_table(
        "scheduler_lease",
        sa.Column("job", sa.String(length=40), nullable=False),
        sa.Column("holder", sa.String(length=120), nullable=False),
        sa.Column("expires_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_run_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("job", name=op.f("pk_scheduler_lease")),
    )
    op.create_table(
        "notice_mute",
        sa.Column("gestor_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("muted_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["gestor_id"],
            ["gestor.id"],
            name=op.f("fk_notice_mute_gestor_id_gestor"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("gestor_id", "kind", name=op.f("pk_notice_mute")),
    )


def downgrade() -> None:
    op.drop_table("notice_mute")
    op.drop_table("scheduler_lease")
    op.drop_table("reminder_sent")
