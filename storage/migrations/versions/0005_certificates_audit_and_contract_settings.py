"""certificates, audit and contract settings (issue 4)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27

Reserved in order so features built in parallel never fork the migration history; a feature
fills in its own revision (an empty one is a no-op).
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
