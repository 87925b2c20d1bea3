"""SEFAZ: sefaz_cursor (NSU, switches, lease per client), fiscal_event, fiscal_document.resumo

Revision ID: 0015
Revises: 0012
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sefaz_cursor",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "client_id",
            sa.Integer(),
            sa.ForeignKey("client.id", ondelete="CASCADE"),
            nullable=False,
            unique=True,
        ),
        sa.Column("cnpj", sa.String(14), nullable=False),
        sa.Column("captura_ativa", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("ciencia_automatica", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("ult_nsu", sa.String(15), nullable=False, server_default="000000000000000"),
        sa.Column("max_nsu", sa.String(15), nullable=False, server_default="000000000000000"),
        sa.Column("proxima_consulta_em", UTCDateTime(), nullable=True),
        sa.Column("ultima_consulta_em", UTCDateTime(), nullable=True),
        sa.Column("ultimo_c_stat", sa.String(3), nullable=True),
        sa.Column("ultimo_x_motivo", sa.String(255), nullable=True),
        sa.Column("bloqueado_656_em", UTCDateTime(), nullable=True),
        sa.Column("lease_holder", sa.String(120), nullable=True),
        sa.Column("lease_ate", UTCDateTime(), nullable=True),
    )
    op.create_table(
        "fiscal_event",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "client_id",
            sa.Integer(),
            sa.ForeignKey("client.id", ondelete="RESTRICT"),
            nullable=False,
        ),
        sa.Column("chave", sa.String(44), nullable=False),
        sa.Column("tp_evento", sa.String(6), nullable=False),
        sa.Column("n_seq", sa.Integer(), nullable=False),
        sa.Column("descricao", sa.String(120), nullable=False),
        sa.Column("c_stat", sa.String(3), nullable=True),
        sa.Column("protocolo", sa.String(20), nullable=True),
        sa.Column("registrado_em", UTCDateTime(), nullable=False),
        sa.Column("origem", sa.String(16), nullable=False),
        sa.Column("enviado_por", sa.String(120), nullable=True),
        sa.Column("xml_crc32", sa.BigInteger(), nullable=True),
        sa.Column("xml_size", sa.Integer(), nullable=True),
        sa.Column("xml_deflate", sa.LargeBinary(), nullable=True),
        sa.UniqueConstraint(
            "client_id", "chave", "tp_evento", "n_seq", name="uq_fiscal_event_client_chave"
        ),
    )
    op.create_index("ix_fiscal_event_chave", "fiscal_event", ["client_id", "chave"])
    with op.batch_alter_table("fiscal_document") as batch:
        batch.add_column(
            sa.Column("resumo", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("fiscal_document") as batch:
        batch.drop_column("resumo")
    op.drop_index("ix_fiscal_event_chave", table_name="fiscal_event")
    op.drop_table("fiscal_event")
    op.drop_table("sefaz_cursor")
