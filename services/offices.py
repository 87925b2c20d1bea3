"""An operator's action on a whole office: delete it with everything in it."""

from __future__ import annotations

from domain.documents import normalize
from storage.purge import purge_gestor
from storage.uow import UnitOfWork


def delete_office(uow: UnitOfWork, cnpj: str) -> bool:
    """Delete the gestor with this CNPJ and all of its data; False when there is none."""
    with uow:
        gestor = uow.gestores.by_cnpj(normalize(cnpj))
        if gestor is None:
            return False
        purge_gestor(uow.session, gestor.id)
        uow.commit()
        return True
