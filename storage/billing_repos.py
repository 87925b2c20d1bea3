"""Faturas and what the monthly close reads. Never commits."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from domain.billing import BillableClient
from domain.clients import ContractStatus, Payer
from storage.models import Client, Gestor, GestorEmail, Plan, Software
from storage.models_billing import Fatura
from storage.transaction import Repository


class FaturaRepository(Repository):
    def add(self, fatura: Fatura) -> Fatura:
        self.session.add(fatura)
        self.session.flush()
        return fatura

    def of_gestor(self, gestor_id: int, fatura_id: int) -> Fatura | None:
        """The fatura, only when it is this gestor's (tenancy)."""
        return self.session.scalar(
            select(Fatura)
            .where(Fatura.id == fatura_id, Fatura.gestor_id == gestor_id)
            .options(selectinload(Fatura.items))
        )

    def get(self, fatura_id: int, *, for_update: bool = False) -> Fatura | None:
        query = select(Fatura).where(Fatura.id == fatura_id)
        if for_update:
            query = query.with_for_update()
        return self.session.scalar(query)

    def by_nosso_numero(self, nosso_numero: str) -> Fatura | None:
        return self.session.scalar(select(Fatura).where(Fatura.nosso_numero == nosso_numero))

    def by_competencia(self, gestor_id: int, competencia: str) -> Fatura | None:
        return self.session.scalar(
            select(Fatura).where(Fatura.gestor_id == gestor_id, Fatura.competencia == competencia)
        )

    def list_of_gestor(self, gestor_id: int, limit: int = 24) -> list[Fatura]:
        """Newest competência first."""
        return list(
            self.session.scalars(
                select(Fatura)
                .where(Fatura.gestor_id == gestor_id)
                .order_by(Fatura.competencia.desc(), Fatura.id.desc())
                .limit(limit)
            )
        )

    def gestor_ids(self) -> list[int]:
        return list(self.session.scalars(select(Gestor.id).order_by(Gestor.id)))

    def billable_clients(self, gestor_id: int) -> list[BillableClient]:
        """Every client of the gestor with its plan as it stands now, by razão social."""
        rows = self.session.execute(
            select(
                Client.id,
                Client.razao_social,
                Client.documento,
                Software.name,
                Plan.name,
                Plan.monthly_price,
                Client.status,
                Client.payer,
            )
            .join(Plan, Plan.id == Client.plan_id)
            .join(Software, Software.id == Client.software_id)
            .where(Client.gestor_id == gestor_id)
            .order_by(Client.razao_social, Client.id)
        )
        return [
            BillableClient(
                client_id=row[0],
                razao_social=row[1],
                documento=row[2],
                software=row[3],
                plano=row[4],
                plan_price=row[5],
                status=ContractStatus(row[6]),
                payer=Payer(row[7]),
            )
            for row in rows
        ]


class GestorEmailRepository(Repository):
    """The rows behind a gestor's linked e-mails (the dialogue removes them by id)."""

    def of_gestor(self, gestor_id: int) -> list[GestorEmail]:
        return list(
            self.session.scalars(
                select(GestorEmail)
                .where(GestorEmail.gestor_id == gestor_id)
                .order_by(GestorEmail.id)
            )
        )

    def get_of_gestor(self, gestor_id: int, email_id: int) -> GestorEmail | None:
        return self.session.scalar(
            select(GestorEmail).where(
                GestorEmail.id == email_id, GestorEmail.gestor_id == gestor_id
            )
        )

    def gestor_by_email(self, email: str, *, for_update: bool = False) -> Gestor | None:
        query = (select(Gestor).join(GestorEmail, GestorEmail.gestor_id == Gestor.id)).where(
            GestorEmail.email == email
        )
        if for_update:
            query = query.with_for_update(of=Gestor)
        return self.session.scalar(query)

    def remove(self, row: GestorEmail) -> None:
        self.session.delete(row)
        self.session.flush()
