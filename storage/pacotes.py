"""Repository of the monthly packages: who is due one, the packages of a month, what was sent."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, exists, func, insert, or_, select, update

from storage.models import Client
from storage.models_fiscal import FiscalDocument
from storage.models_pacote import FALHOU, PENDENTE, PRONTO, VAZIO, Pacote, PacoteEnvio
from storage.transaction import Repository

EFETIVADO = "efetivado"


@dataclass(frozen=True, slots=True)
class ClientDue:
    client_id: int
    gestor_id: int
    razao_social: str
    nome_fantasia: str | None


@dataclass(frozen=True, slots=True)
class PacoteRow:
    id: int
    gestor_id: int
    client_id: int
    competencia: str
    status: str
    nome: str
    file_key: str | None
    file_size: int | None
    file_sha256: str | None
    file_crc32: int | None
    notas: int
    eventos: int
    razao_social: str
    documento: str
    email_contador: str | None


_COLUMNS = (
    Pacote.id,
    Pacote.gestor_id,
    Pacote.client_id,
    Pacote.competencia,
    Pacote.status,
    Pacote.nome,
    Pacote.file_key,
    Pacote.file_size,
    Pacote.file_sha256,
    Pacote.file_crc32,
    Pacote.notas,
    Pacote.eventos,
    Client.razao_social,
    Client.documento,
    Client.email_contador,
)


def pacote_on() -> object:
    """The toggle as stored: a choice wins; no choice follows the contract (on if Efetivado)."""
    return or_(
        Client.pacote_mensal.is_(True),
        and_(Client.pacote_mensal.is_(None), Client.status == EFETIVADO),
    )


class PacoteRepository(Repository):
    def clients_due(self, competencia: str, documento: str | None = None) -> list[ClientDue]:
        """Clients with the package on, notes in `competencia` and no package for it yet (or
        one that failed: a later run tries again)."""
        has_notes = exists().where(
            FiscalDocument.client_id == Client.id, FiscalDocument.competencia == competencia
        )
        built = exists().where(
            Pacote.client_id == Client.id,
            Pacote.competencia == competencia,
            Pacote.status != FALHOU,
        )
        query = select(
            Client.id.label("client_id"),
            Client.gestor_id,
            Client.razao_social,
            Client.nome_fantasia,
        ).where(
            pacote_on(),  # type: ignore[arg-type]
            has_notes,
            ~built,
        )
        if documento is not None:
            query = query.where(Client.documento == documento)
        rows = self.session.execute(query.order_by(Client.gestor_id, Client.id)).all()
        return [ClientDue(**row._asdict()) for row in rows]

    def add(
        self, gestor_id: int, client_id: int, competencia: str, nome: str, now: datetime
    ) -> int:
        """A new package row, or the failed one of this client and month queued again."""
        failed = self.session.scalar(
            select(Pacote).where(
                Pacote.client_id == client_id,
                Pacote.competencia == competencia,
                Pacote.status == FALHOU,
            )
        )
        if failed is not None:
            failed.status, failed.nome, failed.built_at = PENDENTE, nome, None
            self.session.flush()
            return failed.id
        pacote = Pacote(
            gestor_id=gestor_id,
            client_id=client_id,
            competencia=competencia,
            status=PENDENTE,
            nome=nome,
            notas=0,
            eventos=0,
            created_at=now,
        )
        self.session.add(pacote)
        self.session.flush()
        return pacote.id

    def get(self, pacote_id: int, gestor_id: int | None = None) -> PacoteRow | None:
        query = select(*_COLUMNS).join(Client, Client.id == Pacote.client_id)
        query = query.where(Pacote.id == pacote_id)
        if gestor_id is not None:
            query = query.where(Pacote.gestor_id == gestor_id)
        row = self.session.execute(query).one_or_none()
        return PacoteRow(**row._asdict()) if row is not None else None

    def mark_built(
        self,
        pacote_id: int,
        *,
        key: str,
        size: int,
        sha256: str,
        crc32: int,
        notas: int,
        eventos: int,
        now: datetime,
    ) -> None:
        self.session.execute(
            update(Pacote)
            .where(Pacote.id == pacote_id)
            .values(
                status=PRONTO,
                file_key=key,
                file_size=size,
                file_sha256=sha256,
                file_crc32=crc32,
                notas=notas,
                eventos=eventos,
                built_at=now,
            )
        )

    def mark_empty(self, pacote_id: int, now: datetime) -> None:
        self.session.execute(
            update(Pacote).where(Pacote.id == pacote_id).values(status=VAZIO, built_at=now)
        )

    def mark_failed(self, pacote_id: int, now: datetime) -> None:
        self.session.execute(
            update(Pacote).where(Pacote.id == pacote_id).values(status=FALHOU, built_at=now)
        )

    def pending(self, gestor_id: int, competencia: str) -> int:
        return (
            self.session.scalar(
                select(func.count()).where(
                    Pacote.gestor_id == gestor_id,
                    Pacote.competencia == competencia,
                    Pacote.status == PENDENTE,
                )
            )
            or 0
        )

    def totals(self, gestor_id: int, competencia: str) -> tuple[int, int]:
        """(packages ready, notes in them) of the gestor's month."""
        clientes, notas = self.session.execute(
            select(func.count(), func.coalesce(func.sum(Pacote.notas), 0)).where(
                Pacote.gestor_id == gestor_id,
                Pacote.competencia == competencia,
                Pacote.status == PRONTO,
            )
        ).one()
        return int(clientes), int(notas)

    def ready(
        self, gestor_id: int, competencia: str, offset: int = 0, limit: int | None = None
    ) -> Sequence[PacoteRow]:
        """The gestor's ready packages of a month, by client name."""
        query = (
            select(*_COLUMNS)
            .join(Client, Client.id == Pacote.client_id)
            .where(
                Pacote.gestor_id == gestor_id,
                Pacote.competencia == competencia,
                Pacote.status == PRONTO,
            )
            .order_by(Client.razao_social, Pacote.id)
            .offset(offset)
        )
        if limit is not None:
            query = query.limit(limit)
        return [PacoteRow(**row._asdict()) for row in self.session.execute(query).all()]

    def record_sent(
        self, pacote_id: int, destino: str, via: str, size: int, sha256: str, now: datetime
    ) -> None:
        self.session.execute(
            insert(PacoteEnvio).values(
                pacote_id=pacote_id,
                destino=destino,
                via=via,
                size=size,
                sha256=sha256,
                sent_at=now,
            )
        )

    def sent_to(self, pacote_id: int) -> set[str]:
        return set(
            self.session.scalars(
                select(PacoteEnvio.destino).where(PacoteEnvio.pacote_id == pacote_id)
            )
        )

    def envios(self, pacote_id: int) -> list[tuple[str, str, int, str]]:
        """(destino, via, size, sha256) of each time the package went out."""
        rows = self.session.execute(
            select(PacoteEnvio.destino, PacoteEnvio.via, PacoteEnvio.size, PacoteEnvio.sha256)
            .where(PacoteEnvio.pacote_id == pacote_id)
            .order_by(PacoteEnvio.id)
        ).all()
        return [(d, v, int(s), h) for d, v, s, h in rows]

    def set_toggle(self, client_id: int, on: bool) -> None:
        self.session.execute(update(Client).where(Client.id == client_id).values(pacote_mensal=on))
