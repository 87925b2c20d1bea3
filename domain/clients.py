"""The words of a client contract, as the panel names them."""

from __future__ import annotations

from enum import StrEnum


class ContractStatus(StrEnum):
    EFETIVADO = "efetivado"
    TESTE = "teste"
    BLOQUEADO = "bloqueado"
    CANCELADO = "cancelado"

    @property
    def label(self) -> str:
        return self.value.capitalize()

    @property
    def cuts_access(self) -> bool:
        """Bloqueado and Cancelado cut the client's access (its integration key is refused)."""
        return self in (ContractStatus.BLOQUEADO, ContractStatus.CANCELADO)


class Payer(StrEnum):
    GESTOR = "gestor"
    CLIENTE = "cliente"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class CreatedVia(StrEnum):
    CADASTRO = "cadastro"
    LINK = "link"
    IMPORT = "import"


class Role(StrEnum):
    GESTOR = "gestor"
    CONTADOR = "contador"

    @property
    def can_manage(self) -> bool:
        """Only the gestor reaches the five Gerenciar actions."""
        return self is Role.GESTOR
