"""Repositories of contracting links and unlinked sign-ups."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Select, select

from storage.models import Client, Gestor, Plan, Software
from storage.models_links import ContractingLink, SignUp
from storage.transaction import Repository


@dataclass(frozen=True, slots=True)
class LinkRow:
    """A link with the names it is shown with."""

    link: ContractingLink
    gestor_name: str
    software: str
    plan: str
    list_price: Decimal
    client_name: str | None


def _rows() -> Select[ContractingLink, str, str, str, Decimal, str]:
    return (
        select(
            ContractingLink,
            Gestor.razao_social,
            Software.name,
            Plan.name,
            Plan.monthly_price,
            Client.razao_social,
        )
        .join(Gestor, Gestor.id == ContractingLink.gestor_id)
        .join(Software, Software.id == ContractingLink.software_id)
        .join(Plan, Plan.id == ContractingLink.plan_id)
        .outerjoin(Client, Client.id == ContractingLink.client_id)
    )


class LinkRepository(Repository):
    def add(self, link: ContractingLink) -> ContractingLink:
        self.session.add(link)
        self.session.flush()
        return link

    def by_hash(self, token_hash: str, *, for_update: bool = False) -> LinkRow | None:
        query = _rows().where(ContractingLink.token_hash == token_hash)
        if for_update:
            query = query.with_for_update(of=ContractingLink)
        row = self.session.execute(query).first()
        return LinkRow(*row) if row else None

    def of_gestor(
        self, gestor_id: int, link_id: int, *, for_update: bool = False
    ) -> LinkRow | None:
        query = _rows().where(
            ContractingLink.gestor_id == gestor_id, ContractingLink.id == link_id
        )
        if for_update:
            query = query.with_for_update(of=ContractingLink)
        row = self.session.execute(query).first()
        return LinkRow(*row) if row else None

    def recent(self, gestor_id: int, limit: int) -> list[LinkRow]:
        rows = self.session.execute(
            _rows()
            .where(ContractingLink.gestor_id == gestor_id)
            .order_by(ContractingLink.created_at.desc(), ContractingLink.id.desc())
            .limit(limit)
        )
        return [LinkRow(*row) for row in rows]

    def mark_opened(self, link: ContractingLink, now: datetime) -> None:
        if link.opened_at is None:
            link.opened_at = now
            self.session.flush()


class SignUpRepository(Repository):
    def add(self, sign_up: SignUp) -> SignUp:
        self.session.add(sign_up)
        self.session.flush()
        return sign_up

    def by_documento(self, documento: str) -> SignUp | None:
        return self.session.scalar(select(SignUp).where(SignUp.documento == documento))

    def all(self) -> list[SignUp]:
        return list(self.session.scalars(select(SignUp).order_by(SignUp.created_at, SignUp.id)))
