"""fiscal_document: competência is the month the note says; dhEmi's own offset is kept

Until now `competencia` was dhEmi converted to São Paulo time, so a note from Manaus dated
30/11 23:30 -04:00 was filed under December. The month of a note is the month of its own dhEmi,
which the parser already checks against the AAMM of the access key: existing rows are corrected
from the key, and the offset of each stored note's dhEmi is read back from its XML.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

import re
import zlib

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_DH_EMI = re.compile(rb"<dhEmi>\s*[0-9T:.-]+([+-])([0-9]{2}):?([0-9]{2})\s*</dhEmi>")
_BRASILIA_MIN = -180  # layout 2.00 has only a date (dEmi): the parser reads it as Brasília
_BATCH = 500


def upgrade() -> None:
    op.add_column("fiscal_document", sa.Column("emitida_offset_min", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE fiscal_document SET competencia = "
        "'20' || substr(chave, 3, 2) || '-' || substr(chave, 5, 2)"
    )
    table = sa.table(
        "fiscal_document",
        sa.column("id", sa.Integer()),
        sa.column("xml_deflate", sa.LargeBinary()),
        sa.column("emitida_offset_min", sa.Integer()),
    )
    bind = op.get_bind()
    after = 0
    while True:
        rows = bind.execute(
            sa.select(table.c.id, table.c.xml_deflate)
            .where(table.c.id > after)
            .order_by(table.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            break
        updates = [{"row_id": row.id, "offset": _offset(row.xml_deflate)} for row in rows]
        bind.execute(
            table.update()
            .where(table.c.id == sa.bindparam("row_id"))
            .values(emitida_offset_min=sa.bindparam("offset")),
            updates,
        )
        after = rows[-1].id


def _offset(deflated: bytes | None) -> int:
    if not deflated:
        return _BRASILIA_MIN
    head = zlib.decompressobj(-15).decompress(deflated, 64 * 1024)
    found = _DH_EMI.search(head)
    if found is None:
        return _BRASILIA_MIN
    sign = -1 if found.group(1) == b"-" else 1
    return sign * (int(found.group(2)) * 60 + int(found.group(3)))


def downgrade() -> None:
    # The São Paulo month cannot be told apart from the note's own month without the offset,
    # so `competencia` keeps the corrected value; only the new column goes.
    op.drop_column("fiscal_document", "emitida_offset_min")
