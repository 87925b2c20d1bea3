"""Baixar XML completo: the full note of a summary asked by its key (consChNFe of
NFeDistribuicaoDFe), for a summary whose XML did not come with the capture after a manifestação.

The same limits as the capture (domain.fiscal.distribuicao.REGRAS): at most
`consultas_chave_por_hora` per CNPJ in an hour (counted in the client's cursor row, before the
call, so a crash still counts it), nothing while the CNPJ is blocked after 656, and the cursor's
lease held during the call (never at once with the capture of the same CNPJ). A procNFe (138)
goes through the capture's own storing (verified, replacing the summary); any other answer is
returned with its cStat and xMotivo.

Two ways in: the gestor's button on a summary (a durable job, like the manifestação), and the
capture sweep, which asks for at most `POR_VARREDURA` summaries per client manifested more than
`ESPERA_MANIFESTADA` ago, each at most once a day, and none authorized over 90 days ago (the
service answers those 632).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from domain.fiscal.distribuicao import (
    CSTAT_CONSUMO_INDEVIDO,
    CSTAT_DOCUMENTOS,
    REGRAS,
    consultas_chave_restantes,
    janela_por_chave,
)
from domain.fiscal.manifestacao import TipoManifestacao
from services.crypto import SecretBox
from services.errors import NotFound, ServiceError
from services.job_progress import Recipient, request_kind, tell_asker
from services.jobs import JobKind, JobRequest, RunningJob, ensure_not_queued, principal_of
from services.principal import Principal
from services.sefaz import A1, SefazGateway, SefazIndisponivel
from services.sefaz_capture import UF_CODES, ClientCapture, a1_of, store_page
from storage.models import AuditEntry
from storage.sefaz import CaptureTarget
from storage.uow import UnitOfWork, UnitOfWorkFactory

BRASILIA = ZoneInfo("America/Sao_Paulo")
LEASE_TTL = timedelta(minutes=5)
POR_VARREDURA = 5  # summaries asked by key per client per sweep (ours, well under the hour's 20)
ESPERA_MANIFESTADA = timedelta(hours=1)  # the distNSU usually brings the XML first
REPETIR_APOS = timedelta(days=1)
# After these the XML may be handed to the recipient (NT 2014.002: Ciência or a conclusive
# manifestação other than Desconhecimento).
MANIFESTACOES_QUE_LIBERAM = (
    TipoManifestacao.CIENCIA.value,
    TipoManifestacao.CONFIRMACAO.value,
    TipoManifestacao.NAO_REALIZADA.value,
)


class SemResumo(NotFound):
    message = (
        "Esta nota não é um resumo sem XML deste cliente (o XML completo já pode estar "
        "guardado). Volte à lista e abra a nota de novo."
    )


class LimiteDaHora(ServiceError):
    """The CNPJ's consChNFe for this hour are used up, or it is blocked after 656."""


@dataclass(frozen=True, slots=True)
class Download:
    baixado: bool
    c_stat: str
    x_motivo: str


def _check(uow: UnitOfWork, principal: Principal, client_id: int, chave: str) -> int:
    principal.require_manage()
    with uow:
        client = uow.clients.get_of_gestor(principal.gestor_id, client_id)
        if client is None:
            raise NotFound()
        if not uow.sefaz.summaries(client.id, {chave}):
            raise SemResumo()
        uow.sefaz.ensure_cursor(client.id, client.documento)
        uow.commit()
        return client.id


def baixar(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    client_id: int,
    chave: str,
    *,
    gateway: SefazGateway,
    box: SecretBox,
    now: datetime | None = None,
    holder: str = "chat",
) -> Download:
    """Ask SEFAZ for the full XML of one of the client's summaries (gestor role)."""
    moment = now or datetime.now(UTC)
    cid = _check(uow_factory(), principal, client_id, chave)
    uow = uow_factory()
    with uow:
        target = uow.sefaz.target(cid)
        assert target is not None  # noqa: S101 - ensured by _check
        if not uow.sefaz.take_for_key(target.cursor_id, holder, moment, LEASE_TTL):
            uow.commit()
            raise LimiteDaHora(
                "A captura deste cliente está consultando a SEFAZ agora. Tente de novo em "
                "alguns minutos."
            )
        uow.commit()
    try:
        a1 = a1_of(uow_factory, box, cid)
        if a1 is None:
            raise ServiceError(
                "O cliente não tem certificado digital A1. Envie o certificado em "
                "Configurações › Certificado digital."
            )
        download = baixar_com(uow_factory, gateway, a1, target, chave, moment)
    finally:
        _release(uow_factory, target, holder)
    _audit(uow_factory, principal, cid, chave, download, moment)
    return download


def baixar_com(
    uow_factory: UnitOfWorkFactory,
    gateway: SefazGateway,
    a1: A1,
    target: CaptureTarget,
    chave: str,
    now: datetime,
) -> Download:
    """One consChNFe with the lease already held: budget, call, store, record."""
    _count_one(uow_factory, target, chave, now)
    ret = gateway.por_chave(
        a1, cnpj=target.cnpj, uf_autor=UF_CODES.get(target.uf, "35"), chave=chave
    )
    result = ClientCapture(target.client_id, target.cnpj, target.nome)
    uow = uow_factory()
    with uow:
        if ret.c_stat == CSTAT_DOCUMENTOS:
            store_page(uow, target, ret.documentos, result, now)
        elif ret.c_stat == CSTAT_CONSUMO_INDEVIDO:
            bloqueio = timedelta(minutes=REGRAS["bloqueio_656_min"].valor)
            uow.sefaz.record_answer(
                target.cursor_id, bloqueado_656_em=now, proxima_consulta_em=now + bloqueio
            )
        uow.commit()
    baixado = ret.c_stat == CSTAT_DOCUMENTOS and result.notas > 0
    return Download(baixado, ret.c_stat, ret.x_motivo)


def _count_one(
    uow_factory: UnitOfWorkFactory, target: CaptureTarget, chave: str, now: datetime
) -> None:
    uow = uow_factory()
    with uow:
        cursor = uow.sefaz.cursor(target.client_id)
        assert cursor is not None  # noqa: S101 - the target is its cursor
        bloqueio = timedelta(minutes=REGRAS["bloqueio_656_min"].valor)
        if cursor.bloqueado_656_em is not None and now < cursor.bloqueado_656_em + bloqueio:
            raise LimiteDaHora(
                "A SEFAZ bloqueou as consultas deste CNPJ por uma hora (656, consumo "
                f"indevido). Tente depois das {_hora(cursor.bloqueado_656_em + bloqueio)}."
            )
        if not consultas_chave_restantes(cursor.cons_chave_desde, cursor.cons_chave_feitas, now):
            fim = (cursor.cons_chave_desde or now) + timedelta(hours=1)
            raise LimiteDaHora(
                f"Este CNPJ já fez as {REGRAS['consultas_chave_por_hora'].valor} consultas por "
                f"chave permitidas nesta hora. Tente depois das {_hora(fim)}."
            )
        desde, feitas = janela_por_chave(cursor.cons_chave_desde, cursor.cons_chave_feitas, now)
        uow.sefaz.record_answer(
            target.cursor_id, cons_chave_desde=desde, cons_chave_feitas=feitas + 1
        )
        uow.sefaz.mark_xml_asked(target.client_id, chave, now)
        uow.commit()


def _hora(moment: datetime) -> str:
    return moment.astimezone(BRASILIA).strftime("%H:%M")


def _release(uow_factory: UnitOfWorkFactory, target: CaptureTarget, holder: str) -> None:
    uow = uow_factory()
    with uow:
        uow.sefaz.release(target.cursor_id, holder)
        uow.commit()


def _audit(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    client_id: int,
    chave: str,
    download: Download,
    now: datetime,
) -> None:
    uow = uow_factory()
    with uow:
        uow.audit.add(
            AuditEntry(
                at=now,
                gestor_id=principal.gestor_id,
                actor=principal.identity_key,
                client_id=client_id,
                action="sefaz.baixar_xml",
                before=None,
                after={"chave": chave, "cStat": download.c_stat},
            )
        )
        uow.commit()


def pendentes_da_varredura(
    uow_factory: UnitOfWorkFactory,
    target: CaptureTarget,
    a1: A1,
    now: datetime,
    *,
    gateway: SefazGateway,
) -> tuple[int, int]:
    """The capture's part (its lease held): the summaries manifested over an hour ago whose
    XML has not come, at most POR_VARREDURA and what the hour's budget leaves: (asked,
    downloaded)."""
    uow = uow_factory()
    with uow:
        cursor = uow.sefaz.cursor(target.client_id)
        if cursor is None:
            return 0, 0
        budget = consultas_chave_restantes(cursor.cons_chave_desde, cursor.cons_chave_feitas, now)
        chaves = uow.sefaz.summaries_awaiting_xml(
            target.client_id,
            manifestada_antes=now - ESPERA_MANIFESTADA,
            pedido_antes=now - REPETIR_APOS,
            tp_eventos=MANIFESTACOES_QUE_LIBERAM,
            autorizada_desde=now - timedelta(days=REGRAS["nsu_inicial"].valor),
            limit=min(POR_VARREDURA, budget),
        )
    done = []
    for chave in chaves:
        try:
            download = baixar_com(uow_factory, gateway, a1, target, chave, now)
        except (LimiteDaHora, SefazIndisponivel):
            break
        done.append(download)
        if download.c_stat == CSTAT_CONSUMO_INDEVIDO:
            break
    return len(done), sum(d.baixado for d in done)


# --- from the chat: a durable job ------------------------------------------------------------

BAIXAR = "sefaz.baixar_xml"


@dataclass(frozen=True, slots=True)
class Palavras:
    """The dialogue's words: `baixado` {numero}; `recusado` {c_stat} {x_motivo}."""

    baixado: str
    recusado: str


def pedir(
    uow: UnitOfWork,
    principal: Principal,
    client_id: int,
    chave: str,
    to: Recipient,
    palavras: Palavras,
) -> JobRequest:
    """Check role, tenancy and the summary now; a worker asks SEFAZ."""
    cid = _check(uow, principal, client_id, chave)
    request = JobRequest(
        BAIXAR,
        to.identity_key,
        (str(cid), chave),
        {
            "client_id": cid,
            "chave": chave,
            "to": asdict(to),
            "palavras": asdict(palavras),
        },
    )
    ensure_not_queued(uow, request)
    return request


def job_kinds(gateway: SefazGateway | None, box: SecretBox | None) -> dict[str, JobKind]:
    if gateway is None or box is None:
        return {}
    return {
        BAIXAR: request_kind(lambda job: _run(job, gateway, box)),
    }


def _run(job: RunningJob, gateway: SefazGateway, box: SecretBox) -> None:
    spec = job.spec
    palavras = Palavras(**spec["palavras"])
    try:
        principal = principal_of(job, spec["to"]["identity_key"])
        download = baixar(
            job.uow_factory,
            principal,
            int(spec["client_id"]),
            str(spec["chave"]),
            gateway=gateway,
            box=box,
            holder=f"job:{job.id}",
        )
    except ServiceError as exc:
        tell_asker(job, f"⚠️ {exc.message}")
        return
    if download.baixado:
        tell_asker(job, palavras.baixado)
    else:
        tell_asker(
            job, palavras.recusado.format(c_stat=download.c_stat, x_motivo=download.x_motivo)
        )
