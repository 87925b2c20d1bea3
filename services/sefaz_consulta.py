"""Consultar nota: a key (typed, or read from a DANFE photo) answered from the archive when a
client of the gestor has the note, else from the SEFAZ (NfeConsultaProtocolo4 of the key's UF)
with the certificate of a client of the gestor that is a party to it.

Only the emitente's CNPJ is in the key, so who is asked, in this order, at most
`MAX_CONSULTAS` clients (each a SEFAZ call; all need a certificate valid now):
1. the client that is the emitente;
2. clients that already hold supplier notes (or summaries) from that emitente — the likely
   destinatário — the most recent buyer first;
3. clients with `Captura de notas` on (they receive supplier notes), by registration.
The first answer that tells the note's situation (100, 101, 110…) is shown; when none does,
the last answer is shown with who was asked. No client with a certificate: say so.

From the chat the archive is read in the step, and the SEFAZ is asked by a durable job (`pedir`,
like the manifestação's): a slow SEFAZ then holds a job worker, not the conversation's thread,
its transaction and the person's lock; the answer comes as a message, the question after it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from decimal import Decimal

from domain.fiscal import parse_chave
from services.certificates import stored_secret
from services.crypto import SecretBox
from services.errors import ServiceError
from services.job_progress import Recipient, request_kind, tell_asker
from services.jobs import JobKind, JobRequest, RunningJob, ensure_not_queued, principal_of
from services.principal import Principal
from services.sefaz import A1, RetornoConsulta, SefazGateway
from storage.uow import UnitOfWork

# retConsSitNFe cStat → what the note is (MOC 7.0, tabela de códigos de status)
SITUACOES_SEFAZ = {
    "100": "autorizada",
    "150": "autorizada (fora de prazo)",
    "101": "cancelada",
    "151": "cancelada (fora de prazo)",
    "135": "cancelada",
    "155": "cancelada (fora de prazo)",
    "110": "denegada",
    "301": "denegada (emitente irregular)",
    "302": "denegada (destinatário irregular)",
    "303": "denegada (destinatário não habilitado na UF)",
}

# SEFAZ calls one Consultar nota may make, trying clients that may be the destinatário.
MAX_CONSULTAS = 3


class SemCertificadoParaConsulta(ServiceError):
    message = (
        "Esta nota não está guardada para nenhum cliente seu, e nenhum cliente seu com "
        "certificado digital válido pode ser o emitente ou o destinatário dela (a SEFAZ só "
        "responde com o certificado de um deles). Envie o certificado do cliente em "
        "Configurações › Certificado digital, ou ligue a Captura de notas dele."
    )


@dataclass(frozen=True, slots=True)
class NotaConsultada:
    chave: str
    origem: str  # "arquivo" | "sefaz"
    situacao: str
    client_id: int | None = None
    client_nome: str | None = None
    tipo: str | None = None  # emitida | fornecedor (archive only)
    emitente: str | None = None
    destinatario: str | None = None
    valor: Decimal | None = None
    emitida_em: datetime | None = None
    resumo: bool = False
    c_stat: str | None = None
    x_motivo: str | None = None
    protocolo: str | None = None

    @property
    def manifestavel(self) -> bool:
        return self.tipo == "fornecedor"


def no_arquivo(uow: UnitOfWork, principal: Principal, chave: str) -> NotaConsultada | None:
    """The note as stored for a client of the gestor; None when none has it."""
    chave = parse_chave(chave).valor
    with uow:
        found = uow.sefaz.note_of_gestor(principal.gestor_id, chave)
    if found is None:
        return None
    note, client = found
    return NotaConsultada(
        chave=chave,
        origem="arquivo",
        situacao=note.situacao,
        client_id=client.id,
        client_nome=client.nome_fantasia or client.razao_social,
        tipo=note.tipo,
        emitente=note.emitente_nome or note.emitente_documento,
        destinatario=note.destinatario_nome or note.destinatario_documento,
        valor=note.valor,
        emitida_em=note.emitida_em,
        resumo=note.resumo,
    )


def na_sefaz(
    uow_factory: Callable[[], UnitOfWork],
    principal: Principal,
    chave: str,
    *,
    gateway: SefazGateway | None,
    box: SecretBox | None,
    now: datetime | None = None,
) -> NotaConsultada:
    """Ask the SEFAZ with the certificates of the clients that may be a party (the module's
    rule); the database is read in short transactions, none is open during a call."""
    chave = parse_chave(chave).valor
    now = now or datetime.now(UTC)
    uow = uow_factory()
    with uow:
        candidatos = _candidatos(uow, principal.gestor_id, chave, now)
    if not candidatos or gateway is None or box is None:
        raise SemCertificadoParaConsulta()
    answered: tuple[_Candidato, RetornoConsulta] | None = None
    perguntados: list[str] = []
    for quem in candidatos:
        secret = stored_secret(uow_factory(), box, quem.id)
        if secret is None:
            continue
        answered = (quem, gateway.consultar(A1(*secret), chave=chave))
        perguntados.append(quem.nome)
        if answered[1].c_stat in SITUACOES_SEFAZ:
            break
    if answered is None:
        raise SemCertificadoParaConsulta()
    quem, ret = answered
    emitente = quem.documento == chave[6:20]
    return NotaConsultada(
        chave=chave,
        origem="sefaz",
        situacao=SITUACOES_SEFAZ.get(ret.c_stat, "não encontrada"),
        client_id=quem.id,
        client_nome=quem.nome if ret.c_stat in SITUACOES_SEFAZ else ", ".join(perguntados),
        tipo=None,
        emitente=quem.nome if emitente and ret.c_stat in SITUACOES_SEFAZ else None,
        destinatario=quem.nome if not emitente and ret.c_stat in SITUACOES_SEFAZ else None,
        c_stat=ret.c_stat,
        x_motivo=ret.x_motivo,
        protocolo=ret.protocolo,
    )


# --- from the chat: a durable job ------------------------------------------------------------

CONSULTAR = "sefaz.consultar"


@dataclass(frozen=True, slots=True)
class Palavras:
    """The dialogue's words for the SEFAZ's answer: `resultado` {chave} {situacao} {linhas};
    the lines `emitente`, `destinatario`, `protocolo` {v} and `sefaz` {cliente} {c_stat}
    {x_motivo}."""

    resultado: str
    emitente: str
    destinatario: str
    protocolo: str
    sefaz: str

    def texto(self, nota: NotaConsultada) -> str:
        linhas = []
        if nota.emitente:
            linhas.append(self.emitente.format(v=nota.emitente))
        if nota.destinatario:
            linhas.append(self.destinatario.format(v=nota.destinatario))
        if nota.protocolo:
            linhas.append(self.protocolo.format(v=nota.protocolo))
        linhas.append(
            self.sefaz.format(cliente=nota.client_nome, c_stat=nota.c_stat, x_motivo=nota.x_motivo)
        )
        return self.resultado.format(
            chave=nota.chave, situacao=nota.situacao, linhas="\n".join(linhas)
        )


def pedir(
    uow: UnitOfWork,
    principal: Principal,
    chave: str,
    to: Recipient,
    palavras: Palavras,
    *,
    now: datetime | None = None,
) -> JobRequest:
    """Check now that some client's certificate may ask (else `SemCertificadoParaConsulta`),
    and ask for the SEFAZ to be consulted by a worker: its calls (up to MAX_CONSULTAS, each
    as long as the SEFAZ takes) hold no conversation, transaction or lock."""
    chave = parse_chave(chave).valor
    with uow:
        if not _candidatos(uow, principal.gestor_id, chave, now or datetime.now(UTC)):
            raise SemCertificadoParaConsulta()
        request = JobRequest(
            CONSULTAR,
            to.identity_key,
            (chave,),
            {"chave": chave, "to": asdict(to), "palavras": asdict(palavras)},
        )
        ensure_not_queued(uow, request)
    return request


def job_kinds(gateway: SefazGateway | None, box: SecretBox | None) -> dict[str, JobKind]:
    """The consulta's job code, where SEFAZ is configured."""
    if gateway is None or box is None:
        return {}
    return {
        CONSULTAR: request_kind(lambda job: _run(job, gateway, box)),
    }


def _run(job: RunningJob, gateway: SefazGateway, box: SecretBox) -> None:
    spec = job.spec
    try:
        principal = principal_of(job, spec["to"]["identity_key"])
        nota = na_sefaz(job.uow_factory, principal, str(spec["chave"]), gateway=gateway, box=box)
    except ServiceError as exc:
        tell_asker(job, f"⚠️ {exc.message}")
        return
    tell_asker(job, Palavras(**spec["palavras"]).texto(nota))


@dataclass(frozen=True, slots=True)
class _Candidato:
    id: int
    documento: str
    nome: str


def _candidatos(uow: UnitOfWork, gestor_id: int, chave: str, now: datetime) -> list[_Candidato]:
    """Who may be a party to the note, in the order of the module's rule, at most
    MAX_CONSULTAS."""
    emitente = chave[6:20]
    found = []
    client = uow.sefaz.client_with_certificate(gestor_id, emitente, now)
    if client is not None:
        found.append(client)
    found += uow.sefaz.clients_buying_from(gestor_id, emitente, now, MAX_CONSULTAS)
    seen = {c.id for c in found}
    found += uow.sefaz.clients_capturing(gestor_id, now, MAX_CONSULTAS, skip=seen)
    return [
        _Candidato(c.id, c.documento, c.nome_fantasia or c.razao_social)
        for c in found[:MAX_CONSULTAS]
    ]
