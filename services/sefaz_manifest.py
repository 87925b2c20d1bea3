"""Manifestação do destinatário and the client's SEFAZ switches (Configurações).

Every use case checks the tenancy first (another gestor's client is "não encontrado") and the
role (a contador sees, never manifests or switches). A registered event (135/136) is stored as
the note's procEventoNFe; any other answer is returned for the dialogue to show with its cStat
and xMotivo, and nothing is stored.

From the chat, a manifestação is a durable job (services/jobs.py): the step checks what it can
at once (role, tenancy, the note, the certificate, the justificativa) and queues the request;
a worker calls SEFAZ — up to `SEFAZ_TIMEOUT_SECONDS` — outside the conversation's transaction,
then puts the answer in the chat. Asking again while it is on its way is refused by key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from domain.fiscal.manifestacao import (
    CSTAT_REGISTRADO,
    MANIFESTACOES,
    Prazo,
    TipoManifestacao,
    checar_justificativa,
    prazo,
)
from services.certificates import stored_secret
from services.crypto import SecretBox
from services.errors import NotFound, ServiceError
from services.fiscal_prepare import Compressed
from services.job_progress import Recipient, request_kind, tell_asker
from services.jobs import JobKind, JobRequest, RunningJob, ensure_not_queued, principal_of
from services.principal import Principal
from services.sefaz import A1, RetornoEvento, SefazGateway
from storage.models import AuditEntry
from storage.sefaz import CaptureTarget
from storage.uow import UnitOfWork, UnitOfWorkFactory

BRASILIA = ZoneInfo("America/Sao_Paulo")


class NotaNaoEncontrada(NotFound):
    message = "Nota não encontrada entre as notas de fornecedores deste cliente."


class SemCertificado(ServiceError):
    message = (
        "O cliente não tem certificado digital A1 válido. Envie o certificado em Configurações "
        "› Certificado digital e tente de novo."
    )


@dataclass(frozen=True, slots=True)
class SefazSwitches:
    captura: bool
    ciencia_automatica: bool


@dataclass(frozen=True, slots=True)
class Resultado:
    """The answer to show: registered (with its protocol) or refused (cStat + xMotivo)."""

    registrado: bool
    c_stat: str
    x_motivo: str
    protocolo: str | None = None

    def texto(self) -> str:
        if self.registrado:
            return f"Evento registrado na SEFAZ (protocolo {self.protocolo})."
        return f"A SEFAZ recusou o evento: {self.c_stat} – {self.x_motivo}"


def _client(uow: UnitOfWork, principal: Principal, client_id: int) -> tuple[int, str]:
    client = uow.clients.get_of_gestor(principal.gestor_id, client_id)
    if client is None:
        raise NotFound()
    return client.id, client.documento


def switches(uow: UnitOfWork, principal: Principal, client_id: int) -> SefazSwitches:
    """Captura de notas / Ciência automática of one of the gestor's clients (any role)."""
    with uow:
        cid, _ = _client(uow, principal, client_id)
        cursor = uow.sefaz.cursor(cid)
        if cursor is None:
            return SefazSwitches(False, False)
        return SefazSwitches(cursor.captura_ativa, cursor.ciencia_automatica)


def set_switches(
    uow: UnitOfWork,
    principal: Principal,
    client_id: int,
    *,
    captura: bool | None = None,
    ciencia_automatica: bool | None = None,
) -> SefazSwitches:
    """Turn the capture or the automatic Ciência on/off (gestor role); audited."""
    principal.require_manage()
    with uow:
        cid, documento = _client(uow, principal, client_id)
        cursor = uow.sefaz.ensure_cursor(cid, documento)
        before = {"captura": cursor.captura_ativa, "ciencia": cursor.ciencia_automatica}
        if captura is not None:
            cursor.captura_ativa = captura
        if ciencia_automatica is not None:
            cursor.ciencia_automatica = ciencia_automatica
        after = {"captura": cursor.captura_ativa, "ciencia": cursor.ciencia_automatica}
        if before != after:
            uow.audit.add(
                AuditEntry(
                    at=datetime.now(UTC),
                    gestor_id=principal.gestor_id,
                    actor=principal.identity_key,
                    client_id=cid,
                    action="sefaz.configuracao",
                    before=before,
                    after=after,
                )
            )
        uow.commit()
        return SefazSwitches(cursor.captura_ativa, cursor.ciencia_automatica)


@dataclass(frozen=True, slots=True)
class EventoDaNota:
    """An event on record for a note: sent by us or found by the capture."""

    tp_evento: str
    descricao: str
    registrado_em: datetime
    protocolo: str | None
    origem: str  # captura | manifestacao


def eventos(
    uow: UnitOfWork, principal: Principal, client_id: int, chave: str
) -> list[EventoDaNota]:
    """The events of one of the client's notes, oldest first (any role)."""
    with uow:
        cid, _ = _client(uow, principal, client_id)
        return [
            EventoDaNota(e.tp_evento, e.descricao, e.registrado_em, e.protocolo, e.origem)
            for e in uow.sefaz.events(cid, chave)
        ]


def confirmacao_possivel(
    uow: UnitOfWork, principal: Principal, client_id: int, chave: str, now: datetime
) -> bool:
    """Whether `Reconhecer` may offer Confirmar operação at SEFAZ too: a gestor, the client's
    capture on and its certificate valid now, the note neither cancelled nor confirmed yet,
    within the deadline (a late event would only be refused with 596)."""
    if not principal.can_manage:
        return False
    with uow:
        cid, _ = _client(uow, principal, client_id)
        cursor = uow.sefaz.cursor(cid)
        certificate = uow.certificates.of_client(cid)
        note = uow.fiscal.by_chave(cid, chave, "fornecedor")
        if cursor is None or not cursor.captura_ativa or note is None:
            return False
        if certificate is None or not certificate.not_before <= now < certificate.not_after:
            return False
        if note.situacao == "cancelada":
            return False
        confirmada = any(
            e.tp_evento == TipoManifestacao.CONFIRMACAO.value for e in uow.sefaz.events(cid, chave)
        )
        prazo_final = prazo_da_nota(
            note.autorizada_em or note.emitida_em, now.astimezone(BRASILIA).date()
        )
        return not confirmada and prazo_final.dias >= 0


def prazo_da_nota(
    autorizada_em: datetime, hoje: date, tipo: TipoManifestacao = TipoManifestacao.CONFIRMACAO
) -> Prazo:
    """'manifestar até dd/mm/aaaa (N dias)' for a note authorized (or, unknown that, issued)
    then, the day counted in Brasília."""
    return prazo(autorizada_em.astimezone(BRASILIA).date(), hoje, tipo)


def _checked(
    uow: UnitOfWork,
    principal: Principal,
    client_id: int,
    chave: str,
    tipo: TipoManifestacao,
    justificativa: str | None,
    moment: datetime,
) -> tuple[int, str, str | None]:
    """Role, tenancy, the note, the certificate and the justificativa: (client, CNPJ,
    justificativa as it will be sent)."""
    principal.require_manage()
    if tipo is TipoManifestacao.NAO_REALIZADA:
        try:
            justificativa = checar_justificativa(justificativa or "")
        except ValueError as error:
            raise ServiceError(str(error)) from None
    else:
        justificativa = None
    with uow:
        cid, documento = _client(uow, principal, client_id)
        stored = uow.fiscal.existing(cid, {chave})
        if (chave, "fornecedor") not in stored:
            raise NotaNaoEncontrada()
        certificate = uow.certificates.of_client(cid)
        if certificate is None or certificate.not_after <= moment:
            raise SemCertificado()
    return cid, documento, justificativa


def manifestar(
    uow_factory: Callable[[], UnitOfWork],
    principal: Principal,
    client_id: int,
    chave: str,
    tipo: TipoManifestacao,
    *,
    gateway: SefazGateway,
    box: SecretBox,
    justificativa: str | None = None,
    now: datetime | None = None,
) -> Resultado:
    """Sign and send one manifestação for a supplier note of one of the gestor's clients."""
    moment = now or datetime.now(UTC)
    cid, documento, justificativa = _checked(
        uow_factory(), principal, client_id, chave, tipo, justificativa, moment
    )
    uow = uow_factory()
    with uow:
        n_seq = uow.sefaz.next_seq(cid, chave, tipo.value)
    secret = stored_secret(uow_factory(), box, cid)
    if secret is None:
        raise SemCertificado()
    return _send_with(
        uow_factory,
        gateway,
        A1(*secret),
        client_id=cid,
        cnpj=documento,
        chave=chave,
        tipo=tipo,
        justificativa=justificativa,
        n_seq=n_seq,
        actor=principal.identity_key,
        gestor_id=principal.gestor_id,
        now=moment,
    )


def ciencia_automatica(
    uow_factory: UnitOfWorkFactory,
    target: CaptureTarget,
    a1: A1,
    chaves: list[str],
    now: datetime,
    *,
    gateway: SefazGateway,
) -> int:
    """Send 210210 for each new summary (the capture calls it); returns how many registered."""
    registered = 0
    for chave in chaves:
        resultado = _send_with(
            uow_factory, gateway, a1, client_id=target.client_id, cnpj=target.cnpj, chave=chave,
            tipo=TipoManifestacao.CIENCIA, justificativa=None, n_seq=1,
            actor="sistema:ciencia-automatica", gestor_id=target.gestor_id, now=now,
        )  # fmt: skip
        registered += resultado.registrado
    return registered


def _send_with(
    uow_factory: Callable[[], UnitOfWork],
    gateway: SefazGateway,
    a1: A1,
    *,
    client_id: int,
    cnpj: str,
    chave: str,
    tipo: TipoManifestacao,
    justificativa: str | None,
    n_seq: int,
    actor: str,
    gestor_id: int,
    now: datetime,
) -> Resultado:
    ret: RetornoEvento = gateway.manifestar(
        a1, cnpj=cnpj, chave=chave, tipo=tipo, justificativa=justificativa, n_seq=n_seq
    )
    registrado = ret.c_stat in CSTAT_REGISTRADO and ret.proc_evento is not None
    uow = uow_factory()
    with uow:
        if registrado and ret.proc_evento is not None:
            blob = Compressed.of(ret.proc_evento)
            uow.sefaz.add_event(
                {
                    "client_id": client_id,
                    "chave": chave,
                    "tp_evento": tipo.value,
                    "n_seq": n_seq,
                    "descricao": MANIFESTACOES[tipo].desc_evento,
                    "c_stat": ret.c_stat,
                    "protocolo": ret.protocolo,
                    "registrado_em": now,
                    "origem": "manifestacao",
                    "enviado_por": actor[:120],
                    "xml_crc32": blob.crc32,
                    "xml_size": blob.size,
                    "xml_deflate": blob.deflated,
                }
            )
        uow.audit.add(
            AuditEntry(
                at=now,
                gestor_id=gestor_id,
                actor=actor,
                client_id=client_id,
                action="sefaz.manifestacao",
                before=None,
                after={"chave": chave, "evento": tipo.value, "cStat": ret.c_stat},
            )
        )
        uow.commit()
    return Resultado(registrado, ret.c_stat, ret.x_motivo, ret.protocolo)


# --- from the chat: a durable job ------------------------------------------------------------

MANIFESTAR = "sefaz.manifestar"


@dataclass(frozen=True, slots=True)
class Palavras:
    """The dialogue's words for the answer: {rotulo} {protocolo} / {rotulo} {c_stat}
    {x_motivo}."""

    registrado: str
    recusado: str
    rotulo: str


def pedir(
    uow: UnitOfWork,
    principal: Principal,
    client_id: int,
    chave: str,
    tipo: TipoManifestacao,
    to: Recipient,
    palavras: Palavras,
    *,
    justificativa: str | None = None,
) -> JobRequest:
    """Check now what can be checked, and ask for the event to be sent by a worker."""
    cid, _, justificativa = _checked(
        uow, principal, client_id, chave, tipo, justificativa, datetime.now(UTC)
    )
    request = JobRequest(
        MANIFESTAR,
        to.identity_key,
        (str(cid), chave, tipo.value),
        {
            "client_id": cid,
            "chave": chave,
            "tipo": tipo.value,
            "justificativa": justificativa,
            "to": asdict(to),
            "palavras": asdict(palavras),
        },
    )
    ensure_not_queued(uow, request)
    return request


def job_kinds(gateway: SefazGateway | None, box: SecretBox | None) -> dict[str, JobKind]:
    """The manifestação job's code, where SEFAZ is configured."""
    if gateway is None or box is None:
        return {}
    return {
        MANIFESTAR: request_kind(lambda job: _run(job, gateway, box)),
    }


def _run(job: RunningJob, gateway: SefazGateway, box: SecretBox) -> None:
    spec = job.spec
    palavras = Palavras(**spec["palavras"])
    try:
        principal = principal_of(job, spec["to"]["identity_key"])
        resultado = manifestar(
            job.uow_factory,
            principal,
            int(spec["client_id"]),
            str(spec["chave"]),
            TipoManifestacao(spec["tipo"]),
            gateway=gateway,
            box=box,
            justificativa=spec["justificativa"],
        )
    except ServiceError as exc:
        tell_asker(job, f"⚠️ {exc.message}")
        return
    if resultado.registrado:
        said = palavras.registrado.format(rotulo=palavras.rotulo, protocolo=resultado.protocolo)
    else:
        said = palavras.recusado.format(
            rotulo=palavras.rotulo, c_stat=resultado.c_stat, x_motivo=resultado.x_motivo
        )
    tell_asker(job, said)
