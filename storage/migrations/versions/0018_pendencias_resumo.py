"""Pendências without scanning every client: each client's latest month with an emitted note
and its certificate's last instant, on the client row, kept by the database itself

`client.ultima_emissao` (AAAA-MM of the client's latest emitida) and `client.certificado_ate`
(its certificate's not_after) are written by triggers in the same statement as the note or the
certificate, so every path that adds or removes one (import, API, capture, a test's ORM add, a
purge) keeps them right without knowing about them. Notes never change client, tipo or
competência after they are stored, so inserts and deletes are all the note triggers follow.
PostgreSQL takes the notes per statement (a transition table: one UPDATE per batch, not per
row); SQLite per row. Concurrent writers of one client's notes meet on its row lock: an insert
only ever moves the month forward (re-checked after the wait), a delete recomputes once the
lock is its own. Indexes (gestor, column, status) let the list count a kind by reading
only the index entries of the clients it lists. Backfilled here from the stored rows.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

_RECOMPUTE = (
    "(SELECT max(f.competencia) FROM fiscal_document f"
    " WHERE f.client_id = client.id AND f.tipo = 'emitida')"
)

_POSTGRESQL = (
    """
    CREATE FUNCTION client_emissao_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE client SET ultima_emissao = n.competencia
        FROM (SELECT client_id, max(competencia) AS competencia FROM novas
              WHERE tipo = 'emitida' GROUP BY client_id) AS n
        WHERE client.id = n.client_id
          AND (client.ultima_emissao IS NULL OR client.ultima_emissao < n.competencia);
        RETURN NULL;
    END $$
    """,
    """
    CREATE FUNCTION client_emissao_delete() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        -- Lock the clients first: the UPDATE below then takes a snapshot that sees the notes
        -- a concurrent insert committed meanwhile, instead of recomputing without them.
        PERFORM 1 FROM client
        WHERE id IN (SELECT client_id FROM removidas WHERE tipo = 'emitida')
        ORDER BY id FOR UPDATE;
        UPDATE client SET ultima_emissao = """
    + _RECOMPUTE
    + """
        WHERE client.id IN (SELECT client_id FROM removidas WHERE tipo = 'emitida');
        RETURN NULL;
    END $$
    """,
    "CREATE TRIGGER tr_fiscal_document_emissao_insert AFTER INSERT ON fiscal_document"
    " REFERENCING NEW TABLE AS novas FOR EACH STATEMENT"
    " EXECUTE FUNCTION client_emissao_insert()",
    "CREATE TRIGGER tr_fiscal_document_emissao_delete AFTER DELETE ON fiscal_document"
    " REFERENCING OLD TABLE AS removidas FOR EACH STATEMENT"
    " EXECUTE FUNCTION client_emissao_delete()",
    """
    CREATE FUNCTION client_certificado() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            UPDATE client SET certificado_ate = NULL WHERE id = OLD.client_id;
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            UPDATE client SET certificado_ate = NEW.not_after WHERE id = NEW.client_id;
        END IF;
        RETURN NULL;
    END $$
    """,
    "CREATE TRIGGER tr_certificate_client AFTER INSERT OR DELETE OR UPDATE OF not_after,"
    " client_id ON certificate FOR EACH ROW EXECUTE FUNCTION client_certificado()",
)

_SQLITE = (
    "CREATE TRIGGER tr_fiscal_document_emissao_insert AFTER INSERT ON fiscal_document"
    " WHEN NEW.tipo = 'emitida' BEGIN"
    " UPDATE client SET ultima_emissao = NEW.competencia WHERE id = NEW.client_id"
    " AND (ultima_emissao IS NULL OR ultima_emissao < NEW.competencia); END",
    "CREATE TRIGGER tr_fiscal_document_emissao_delete AFTER DELETE ON fiscal_document"
    " WHEN OLD.tipo = 'emitida' BEGIN"
    " UPDATE client SET ultima_emissao = " + _RECOMPUTE + " WHERE id = OLD.client_id; END",
    "CREATE TRIGGER tr_certificate_client_insert AFTER INSERT ON certificate BEGIN"
    " UPDATE client SET certificado_ate = NEW.not_after WHERE id = NEW.client_id; END",
    "CREATE TRIGGER tr_certificate_client_update AFTER UPDATE OF not_after, client_id"
    " ON certificate BEGIN"
    " UPDATE client SET certificado_ate = NULL WHERE id = OLD.client_id;"
    " UPDATE client SET certificado_ate = NEW.not_after WHERE id = NEW.client_id; END",
    "CREATE TRIGGER tr_certificate_client_delete AFTER DELETE ON certificate BEGIN"
    " UPDATE client SET certificado_ate = NULL WHERE id = OLD.client_id; END",
)


def upgrade() -> None:
    # Plain ADD COLUMN: a batch copy of `client` would trip the foreign keys that point at it.
    op.add_column("client", sa.Column("ultima_emissao", sa.String(7), nullable=True))
    op.add_column(
        "client", sa.Column("certificado_ate", UTCDateTime(timezone=True), nullable=True)
    )
    op.execute(f"UPDATE client SET ultima_emissao = {_RECOMPUTE}")  # noqa: S608 (constants)
    op.execute(
        "UPDATE client SET certificado_ate ="
        " (SELECT c.not_after FROM certificate c WHERE c.client_id = client.id)"
    )
    op.create_index(
        "ix_client_gestor_emissao", "client", ["gestor_id", "ultima_emissao", "status"]
    )
    op.create_index(
        "ix_client_gestor_certificado", "client", ["gestor_id", "certificado_ate", "status"]
    )
    for statement in _POSTGRESQL if _dialect() == "postgresql" else _SQLITE:
        op.execute(statement)


def downgrade() -> None:
    if _dialect() == "postgresql":
        op.execute("DROP TRIGGER tr_certificate_client ON certificate")
        op.execute("DROP TRIGGER tr_fiscal_document_emissao_delete ON fiscal_document")
        op.execute("DROP TRIGGER tr_fiscal_document_emissao_insert ON fiscal_document")
        for function in ("client_certificado", "client_emissao_delete", "client_emissao_insert"):
            op.execute(f"DROP FUNCTION {function}()")
    else:
        for trigger in (
            "tr_certificate_client_delete",
            "tr_certificate_client_update",
            "tr_certificate_client_insert",
            "tr_fiscal_document_emissao_delete",
            "tr_fiscal_document_emissao_insert",
        ):
            op.execute(f"DROP TRIGGER {trigger}")
    op.drop_index("ix_client_gestor_certificado", table_name="client")
    op.drop_index("ix_client_gestor_emissao", table_name="client")
    op.drop_column("client", "certificado_ate")
    op.drop_column("client", "ultima_emissao")


def _dialect() -> str:
    return op.get_bind().dialect.name
