"""SEFAZ: the note's authorization time (the manifestação deadlines count from it), the last
consChNFe asked for a summary, and each CNPJ's consChNFe count in the current hour

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMNs: a batch copy would trip the tables' foreign keys on SQLite.
    op.add_column(
        "fiscal_document",
        sa.Column("autorizada_em", storage.types.UTCDateTime(timezone=True), nullable=True),
    )
    op.add_column(
        "fiscal_document",
        sa.Column("xml_pedido_em", storage.types.UTCDateTime(timezone=True), nullable=True),
    )
    op.add_column(
        "sefaz_cursor",
        sa.Column("cons_chave_desde", storage.types.UTCDateTime(timezone=True), nullable=True),
    )
    op.add_column(
        "sefaz_cursor",
        sa.Column("cons_chave_feitas", sa.Integer(), server_default="0", nullable=False),
    )


def downgrade() -> None:
    op.drop_column("sefaz_cursor", "cons_chave_feitas")
    op.drop_column("sefaz_cursor", "cons_chave_desde")
    op.drop_column("fiscal_document", "xml_pedido_em")
    op.drop_column("fiscal_document", "autorizada_em")
