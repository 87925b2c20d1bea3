"""whatsapp (issue 8)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27

Reserved in order so features built in parallel never fork the migration history; a feature
fills in its own revision (an empty one is a no-op).
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
