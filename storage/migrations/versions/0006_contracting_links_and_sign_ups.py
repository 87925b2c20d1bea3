"""contracting links and sign-ups

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27

Reserved in order so features built in parallel never fork the migration history; a feature
fills in its own revision (an empty one is a no-op).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "contracting_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("gestor_id", sa.Integer(), nullable=False),
        sa.Column("software_id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("payer", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("opened_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("used_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("client_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["gestor_id"],
            ["gestor.id"],
            name=op.f("fk_contracting_link_gestor_id_gestor"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["software_id"], ["software.id"], name=op.f("fk_contracting_link_software_id_software")
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plan.id"], name=op.f("fk_contracting_link_plan_id_plan")
        ),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["client.id"],
            name=op.f("fk_contracting_link_client_id_client"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contracting_link")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_contracting_link_token_hash")),
        sa.UniqueConstraint("client_id", name=op.f("uq_contracting_link_client_id")),
    )
    op.create_index(
        "ix_contracting_link_gestor", "contracting_link", ["gestor_id", "created_at"]
    )
    op.create_table(
        "sign_up",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("documento", sa.String(length=14), nullable=False),
        sa.Column("razao_social", sa.String(length=120), nullable=False),
        sa.Column("nome_fantasia", sa.String(length=120), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("telefone", sa.String(length=20), nullable=False),
        sa.Column("cep", sa.String(length=8), nullable=False),
        sa.Column("endereco", sa.String(length=200), nullable=False),
        sa.Column("email_contador", sa.String(length=254), nullable=True),
        sa.Column("software_id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["software_id"], ["software.id"], name=op.f("fk_sign_up_software_id_software")
        ),
        sa.ForeignKeyConstraint(["plan_id"], ["plan.id"], name=op.f("fk_sign_up_plan_id_plan")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_up")),
        sa.UniqueConstraint("documento", name=op.f("uq_sign_up_documento")),
    )


def downgrade() -> None:
    op.drop_table("sign_up")
    op.drop_index("ix_contracting_link_gestor", table_name="contracting_link")
    op.drop_table("contracting_link")
