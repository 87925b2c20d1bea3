"""Pendências: clients in Teste too long counted from an index range

The list filters and orders them by coalesce(status_since, created_at) (NULL status_since: in
its status since it was created). Index (gestor_id, status, that expression, status_since,
created_at): the office's Teste clients in the order the list shows them, and on PostgreSQL the
count reads only the index (its planner wants the expression's columns in the index too).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_client_gestor_teste",
        "client",
        [
            "gestor_id",
            "status",
            sa.text("coalesce(status_since, created_at)"),
            "status_since",
            "created_at",
        ],
    )


def downgrade() -> None:
    op.drop_index("ix_client_gestor_teste", table_name="client")
