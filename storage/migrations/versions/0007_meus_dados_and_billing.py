"""meus dados and billing

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27

The gestor's password (argon2id hash) with its lockout and payment method, on `gestor`; the
faturas, one per gestor and competência, and their lines.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("gestor") as batch:
        batch.add_column(sa.Column("password_hash", sa.String(length=255), nullable=True))
        batch.add_column(
            sa.Column(
                "password_changed_at", storage.types.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch.add_column(
            sa.Column("failed_logins", sa.Integer(), server_default="0", nullable=False)
        )
        batch.add_column(
            sa.Column("locked_until", storage.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(
            sa.Column(
                "payment_method", sa.String(length=16), server_default="boleto", nullable=False
            )
        )
    op.create_table(
        "fatura",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("gestor_id", sa.Integer(), nullable=False),
        sa.Column("competencia", sa.String(length=7), nullable=False),
        sa.Column("total", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("paid_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("paid_via", sa.String(length=40), nullable=True),
        sa.Column("nosso_numero", sa.String(length=20), nullable=True),
        sa.Column("boleto_registered", sa.Boolean(), server_default="false", nullable=False),
        sa.ForeignKeyConstraint(
            ["gestor_id"],
            ["gestor.id"],
            name=op.f("fk_fatura_gestor_id_gestor"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fatura")),
        sa.UniqueConstraint("gestor_id", "competencia", name="uq_fatura_gestor_competencia"),
        sa.UniqueConstraint("nosso_numero", name=op.f("uq_fatura_nosso_numero")),
    )
    op.create_index("ix_fatura_gestor_due", "fatura", ["gestor_id", "due_date"])
    op.create_table(
        "fatura_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fatura_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=True),
        sa.Column("razao_social", sa.String(length=120), nullable=False),
        sa.Column("documento", sa.String(length=14), nullable=False),
        sa.Column("software", sa.String(length=80), nullable=False),
        sa.Column("plano", sa.String(length=80), nullable=False),
        sa.Column("list_price", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["client.id"],
            name=op.f("fk_fatura_item_client_id_client"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["fatura_id"],
            ["fatura.id"],
            name=op.f("fk_fatura_item_fatura_id_fatura"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fatura_item")),
    )
    op.create_index(op.f("ix_fatura_item_fatura_id"), "fatura_item", ["fatura_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_fatura_item_fatura_id"), table_name="fatura_item")
    op.drop_table("fatura_item")
    op.drop_index("ix_fatura_gestor_due", table_name="fatura")
    op.drop_table("fatura")
    with op.batch_alter_table("gestor") as batch:
        batch.drop_column("payment_method")
        batch.drop_column("locked_until")
        batch.drop_column("failed_logins")
        batch.drop_column("password_changed_at")
        batch.drop_column("password_hash")
