"""Consultar nota: a key (typed, or read from a DANFE photo) answered from the archive when a
client of the gestor has the note, else from the SEFAZ (NfeConsultaProtocolo4 of the key's UF)
with the certificate of the gestor's client that issued it.

Only the emitente's CNPJ is in the key; a note addressed to a client is found in the archive
(the capture stores it, as a summary at least), so the SEFAZ is asked with the emitente's A1.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from domain.fiscal import parse_chave
from services.certificates import stored_secret
from services.crypto import SecretBox
from services.errors import ServiceError
from services.principal import Principal
from services.sefaz import A1, SefazGateway
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


class SemCertificadoParaConsulta(ServiceError):
    message = (
        "Esta nota não está guardada para nenhum cliente seu, e nenhum cliente seu com "
        "certificado digital válido é o emitente dela. A SEFAZ só responde com o certificado "
        "do emitente ou do destinatário."
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


def consultar(
    uow_factory: Callable[[], UnitOfWork],
    principal: Principal,
    chave: str,
    *,
    gateway: SefazGateway | None,
    box: SecretBox | None,
    now: datetime | None = None,
) -> NotaConsultada:
    """The note with key `chave` as the archive or the SEFAZ knows it (any role may ask)."""
    chave = parse_chave(chave).valor
    now = now or datetime.now(UTC)
    uow = uow_factory()
    with uow:
        found = uow.sefaz.note_of_gestor(principal.gestor_id, chave)
        if found is not None:
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
        emitente = uow.sefaz.client_with_certificate(principal.gestor_id, chave[6:20], now)
        if emitente is None or gateway is None or box is None:
            raise SemCertificadoParaConsulta()
        client_id, client_nome = emitente.id, emitente.nome_fantasia or emitente.razao_social
    secret = stored_secret(uow_factory(), box, client_id)
    if secret is None:
        raise SemCertificadoParaConsulta()
    ret = gateway.consultar(A1(*secret), chave=chave)
    return NotaConsultada(
        chave=chave,
        origem="sefaz",
        situacao=SITUACOES_SEFAZ.get(ret.c_stat, "não encontrada"),
        client_id=client_id,
        client_nome=client_nome,
        tipo=None,
        emitente=client_nome,
        c_stat=ret.c_stat,
        x_motivo=ret.x_motivo,
        protocolo=ret.protocolo,
    )
