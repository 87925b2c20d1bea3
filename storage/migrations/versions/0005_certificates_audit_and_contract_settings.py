"""certificates, audit and contract settings

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27

The client's A1 certificate (public facts in clear, PFX and password encrypted) and the
single-use links into the client's software. Contract status and payer already live on
`client`, and the audit log on `audit_entry` (0001).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "certificate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("subject_cn", sa.String(length=250), nullable=False),
        sa.Column("holder_name", sa.String(length=250), nullable=False),
        sa.Column("documento", sa.String(length=14), nullable=True),
        sa.Column("issuer_cn", sa.String(length=250), nullable=False),
        sa.Column("serial", sa.String(length=80), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("not_before", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("not_after", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("pfx_encrypted", sa.LargeBinary(), nullable=False),
        sa.Column("password_encrypted", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("uploaded_by", sa.String(length=120), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["client.id"],
            name=op.f("fk_certificate_client_id_client"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificate")),
        sa.UniqueConstraint("client_id", name=op.f("uq_certificate_client_id")),
    )
    op.create_index(op.f("ix_certificate_not_after"), "certificate", ["not_after"])
    op.create_table(
        "access_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["client.id"],
            name=op.f("fk_access_link_client_id_client"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_link")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_access_link_token_hash")),
    )
    op.create_index("ix_access_link_client", "access_link", ["client_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_access_link_client", table_name="access_link")
    op.drop_table("access_link")
    op.drop_index(op.f("ix_certificate_not_after"), table_name="certificate")
    op.drop_table("certificate")
