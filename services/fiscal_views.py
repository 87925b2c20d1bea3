"""The one query the chat needs beyond services/fiscal_documents.py: one supplier note by its
chave (the `Reconhecer`/`Baixar XML` screen), with the same role and tenancy checks."""

from __future__ import annotations

from decimal import Decimal

from domain.fiscal import Modelo, Situacao
from services.clients import open_management
from services.fiscal_documents import DocumentNotFound, DocumentSummary
from services.fiscal_prepare import TipoNota
from services.principal import Principal
from storage.uow import UnitOfWork


def supplier_note(
    uow: UnitOfWork, principal: Principal, client_id: int, chave: str
) -> DocumentSummary:
    """A supplier note of the principal's client; another client's chave is not found."""
    with uow:
        open_management(uow, principal, client_id)
        row = uow.fiscal.by_chave(client_id, chave, TipoNota.FORNECEDOR.value)
        if row is None:
            raise DocumentNotFound()
        return DocumentSummary(
            chave=row.chave,
            tipo=TipoNota(row.tipo),
            modelo=Modelo(row.modelo),
            serie=row.serie,
            numero=row.numero,
            emitida_em=row.emitida_em,
            competencia=row.competencia,
            emitente_documento=row.emitente_documento,
            emitente_nome=row.emitente_nome,
            destinatario_documento=row.destinatario_documento,
            destinatario_nome=row.destinatario_nome,
            valor=Decimal(row.valor),
            situacao=Situacao(row.situacao),
            cancelada_em=row.cancelada_em,
            reconhecida_em=row.reconhecida_em,
            reconhecida_por=row.reconhecida_por,
        )
