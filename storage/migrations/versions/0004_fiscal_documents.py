"""fiscal documents

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27

One new table, so no batch mode is needed on SQLite: CREATE TABLE and CREATE INDEX behave the
same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fiscal_document",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("tipo", sa.String(length=10), nullable=False),
        sa.Column("modelo", sa.String(length=2), nullable=False),
        sa.Column("chave", sa.String(length=44), nullable=False),
        sa.Column("serie", sa.Integer(), nullable=False),
        sa.Column("numero", sa.Integer(), nullable=False),
        sa.Column("emitida_em", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("competencia", sa.String(length=7), nullable=False),
        sa.Column("emitente_documento", sa.String(length=14), nullable=False),
        sa.Column("emitente_nome", sa.String(length=120), nullable=True),
        sa.Column("destinatario_documento", sa.String(length=20), nullable=True),
        sa.Column("destinatario_nome", sa.String(length=120), nullable=True),
        sa.Column("valor", sa.Numeric(precision=15, scale=2), nullable=False),
        sa.Column("situacao", sa.String(length=16), nullable=False),
        sa.Column("protocolo", sa.String(length=20), nullable=True),
        sa.Column("cancelada_em", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reconhecida_em", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reconhecida_por", sa.String(length=120), nullable=True),
        sa.Column("recebida_em", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recebida_via", sa.String(length=16), nullable=False),
        sa.Column("xml_crc32", sa.BigInteger(), nullable=False),
        sa.Column("xml_size", sa.Integer(), nullable=False),
        sa.Column("cancelamento_crc32", sa.BigInteger(), nullable=True),
        sa.Column("cancelamento_size", sa.Integer(), nullable=True),
        sa.Column("xml_deflate", sa.LargeBinary(), nullable=False),
        sa.Column("cancelamento_deflate", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["client.id"],
            name=op.f("fk_fiscal_document_client_id_client"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fiscal_document")),
        sa.UniqueConstraint("client_id", "chave", "tipo", name="uq_fiscal_document_client_chave"),
    )
    op.create_index(
        "ix_fiscal_document_month",
        "fiscal_document",
        ["client_id", "tipo", "modelo", "competencia"],
    )


def downgrade() -> None:
    op.drop_index("ix_fiscal_document_month", table_name="fiscal_document")
    op.drop_table("fiscal_document")
