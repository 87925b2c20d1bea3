"""seed the software/plan catalog from storage/seed/catalog.json

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

PLAN = sa.table(
    "plan",
    sa.column("software_id", sa.Integer),
    sa.column("code", sa.String),
    sa.column("name", sa.String),
    sa.column("monthly_price", sa.Numeric(12, 2)),
    sa.column("position", sa.Integer),
    sa.column("active", sa.Boolean),
)
SEED = Path(__file__).resolve().parents[2] / "seed" / "catalog.json"


def upgrade() -> None:
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT count(*) FROM software")).scalar():
        return
    data = json.loads(SEED.read_text(encoding="utf-8"))
    for software in data["softwares"]:
        software_id = bind.execute(
            sa.text(
                "INSERT INTO software (code, name, base_url, active) "
                "VALUES (:code, :name, :base_url, :active) RETURNING id"
            ),
            {
                "code": software["code"],
                "name": software["name"],
                "base_url": software.get("base_url"),
                "active": True,
            },
        ).scalar_one()
        for position, plan in enumerate(software["plans"]):
            bind.execute(
                PLAN.insert().values(
                    software_id=software_id,
                    code=plan["code"],
                    name=plan["name"],
                    monthly_price=Decimal(plan["monthly_price"]),
                    position=position,
                    active=True,
                )
            )


def downgrade() -> None:
    op.execute("DELETE FROM plan")
    op.execute("DELETE FROM software")
