"""The monthly sweep: on day `dia` (São Paulo), one package job per client due one.

A client is due when its Pacote mensal is on and it has notes in the previous month. The
package row is written with its job in one transaction, and its unique (client, competência)
means a second sweep — a restart, another instance, `scheduler run-once pacote` — finds
nothing to do: each package is built once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.pacote import package_name
from services import jobs
from services.fiscal_documents import competencia_anterior, parse_competencia
from services.reminders import today_sp
from services.types import UnitOfWorkFactory

BUILD = "pacote.build"


@dataclass(frozen=True, slots=True)
class PacoteSweep:
    competencia: str
    queued: int
    job_ids: tuple[int, ...] = ()


def sweep_pacote(
    uow_factory: UnitOfWorkFactory,
    *,
    now: datetime,
    dia: int,
    competencia: str | None = None,
    documento: str | None = None,
) -> PacoteSweep:
    """Queue the packages due; with `competencia` (by hand) any day, else only on day `dia`."""
    if competencia is None:
        competencia = competencia_anterior(now)
        if today_sp(now).day != dia:
            return PacoteSweep(competencia, 0)
    else:
        competencia = parse_competencia(competencia)
    uow = uow_factory()
    with uow:
        uow.lock("pacote:sweep")
        ids = []
        for client in uow.pacotes.clients_due(competencia, documento):
            nome = package_name(client.nome_fantasia or client.razao_social, competencia)
            pacote_id = uow.pacotes.add(client.gestor_id, client.client_id, competencia, nome, now)
            request = jobs.JobRequest(
                BUILD,
                f"gestor:{client.gestor_id}",
                (str(client.client_id), competencia),
                {"pacote_id": pacote_id},
            )
            ids.append(jobs.queue(uow, request, now))
        uow.commit()
    return PacoteSweep(competencia, len(ids), tuple(ids))
