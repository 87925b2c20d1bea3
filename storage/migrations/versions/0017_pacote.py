"""Pacote do mês: client.pacote_mensal (the toggle), pacote (one per client and month) and
pacote_envio (each package sent, to whom, size and sha256)

Revision ID: 0017
Revises: 0014
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN: a batch copy of `client` would trip its foreign keys on SQLite.
    op.add_column("client", sa.Column("pacote_mensal", sa.Boolean(), nullable=True))
    op.create_table(
        "pacote",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "gestor_id", sa.Integer(), sa.ForeignKey("gestor.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "client_id", sa.Integer(), sa.ForeignKey("client.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("competencia", sa.String(7), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("nome", sa.String(120), nullable=False),
        sa.Column("file_key", sa.String(120), nullable=True),
        sa.Column("file_size", sa.BigInteger(), nullable=True),
        sa.Column("file_sha256", sa.String(64), nullable=True),
        sa.Column("file_crc32", sa.BigInteger(), nullable=True),
        sa.Column("notas", sa.Integer(), nullable=False),
        sa.Column("eventos", sa.Integer(), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("built_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("client_id", "competencia", name="uq_pacote_client_competencia"),
    )
    op.create_index(
        "ix_pacote_gestor_competencia", "pacote", ["gestor_id", "competencia", "status"]
    )
    op.create_table(
        "pacote_envio",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "pacote_id", sa.Integer(), sa.ForeignKey("pacote.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("destino", sa.String(254), nullable=False),
        sa.Column("via", sa.String(8), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("sent_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("pacote_id", "destino", name="uq_pacote_envio_destino"),
    )


def downgrade() -> None:
    op.drop_table("pacote_envio")
    op.drop_index("ix_pacote_gestor_competencia", table_name="pacote")
    op.drop_table("pacote")
    op.drop_column("client", "pacote_mensal")
