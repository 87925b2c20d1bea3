"""Who is acting: the identity, its gestor's office and its role."""

from __future__ import annotations

from dataclasses import dataclass

from domain.clients import Role
from services.errors import Forbidden


@dataclass(frozen=True, slots=True)
class Principal:
    identity_id: int
    identity_key: str
    gestor_id: int
    gestor_name: str
    role: Role

    @property
    def can_manage(self) -> bool:
        return self.role.can_manage

    def require_manage(self) -> None:
        """Refuse the Gerenciar actions to a contador, whatever button it sent."""
        if not self.role.can_manage:
            raise Forbidden()
