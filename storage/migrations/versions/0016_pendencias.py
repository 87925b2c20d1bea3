"""Pendências: when a client entered its contract status, and indexes for the list's queries

`client.status_since` is filled from the last audited contract change (a client never changed
keeps NULL: since created_at; a change of the payer alone counts too, so at worst a client in
Teste shows up later than it should). Indexes: clients of a gestor by status (Teste too long); the
month's emitted notes by client (clients that stopped issuing); what the daily digest told an
office (reminder_sent by gestor).

Revision ID: 0016
Revises: 0012
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD/DROP COLUMN (SQLite has both): a batch copy of `client` would trip the foreign
    # keys that point at it.
    op.add_column("client", sa.Column("status_since", UTCDateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE client SET status_since = ("
        " SELECT max(a.at) FROM audit_entry a"
        " WHERE a.client_id = client.id AND a.action = 'contract.update')"
    )
    op.create_index("ix_client_gestor_status", "client", ["gestor_id", "status", "id"])
    op.create_index(
        "ix_fiscal_document_emitida_competencia",
        "fiscal_document",
        ["competencia", "client_id"],
        postgresql_where=sa.text("tipo = 'emitida'"),
        sqlite_where=sa.text("tipo = 'emitida'"),
    )
    op.create_index("ix_reminder_sent_gestor_kind", "reminder_sent", ["gestor_id", "kind"])


def downgrade() -> None:
    op.drop_index("ix_reminder_sent_gestor_kind", table_name="reminder_sent")
    op.drop_index("ix_fiscal_document_emitida_competencia", table_name="fiscal_document")
    op.drop_index("ix_client_gestor_status", table_name="client")
    op.drop_column("client", "status_since")
