"""Manifestação do destinatário: the four events, the justificativa, the deadlines.

Codes as in NT 2012.002 (MD-e) and the MOC's table of events; some public code swaps 210200
and 210210, this table is the one to trust. Deadlines come from Ajuste SINIEF 07/05, cláusula
décima quinta-C (caput as written by Ajuste SINIEF 44/20: the conclusive events "em até 180
dias, contados a partir da data de autorização da NF-e"; the Ciência da Emissão within 10 days
of the authorization, as the states' rules transcribe it, e.g. Portaria SEFAZ-MT 160/2021 art.
38 § 4º). They count from the AUTHORIZATION — protNFe/resNFe `dhRecbto` — not from `dhEmi`;
the issue date stands in only when no authorization time is known. An event past its deadline
is refused with cStat 596 ("Evento apresentado fora do prazo: [prazo vigente]"). Check
`PRAZOS` against the current texts when they change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum


class TipoManifestacao(StrEnum):
    CONFIRMACAO = "210200"
    CIENCIA = "210210"
    DESCONHECIMENTO = "210220"
    NAO_REALIZADA = "210240"


@dataclass(frozen=True, slots=True)
class Manifestacao:
    tipo: TipoManifestacao
    rotulo: str  # the button, pt-BR
    desc_evento: str  # `descEvento` exactly as the schema (e210200_v1.00.xsd…) spells it
    conclusiva: bool


MANIFESTACOES: dict[TipoManifestacao, Manifestacao] = {
    TipoManifestacao.CIENCIA: Manifestacao(
        TipoManifestacao.CIENCIA, "Ciência", "Ciencia da Operacao", False
    ),
    TipoManifestacao.CONFIRMACAO: Manifestacao(
        TipoManifestacao.CONFIRMACAO, "Confirmar operação", "Confirmacao da Operacao", True
    ),
    TipoManifestacao.DESCONHECIMENTO: Manifestacao(
        TipoManifestacao.DESCONHECIMENTO, "Desconhecer", "Desconhecimento da Operacao", True
    ),
    TipoManifestacao.NAO_REALIZADA: Manifestacao(
        TipoManifestacao.NAO_REALIZADA, "Não realizada", "Operacao nao Realizada", True
    ),
}

# Days from the note's authorization (see the module's text for the sources).
PRAZOS: dict[TipoManifestacao, int] = {
    TipoManifestacao.CIENCIA: 10,
    TipoManifestacao.CONFIRMACAO: 180,
    TipoManifestacao.DESCONHECIMENTO: 180,
    TipoManifestacao.NAO_REALIZADA: 180,
}

JUSTIFICATIVA_MIN = 15
JUSTIFICATIVA_MAX = 255


class JustificativaInvalida(ValueError):
    def __init__(self, tamanho: int) -> None:
        super().__init__(
            f"A justificativa tem {tamanho} caracteres; precisa ter de {JUSTIFICATIVA_MIN} a "
            f"{JUSTIFICATIVA_MAX}. Escreva por que a operação não foi realizada."
        )


def checar_justificativa(texto: str) -> str:
    """The justificativa of 210240, trimmed, or `JustificativaInvalida`."""
    limpo = " ".join(texto.split())
    if not JUSTIFICATIVA_MIN <= len(limpo) <= JUSTIFICATIVA_MAX:
        raise JustificativaInvalida(len(limpo))
    return limpo


@dataclass(frozen=True, slots=True)
class Prazo:
    ate: date
    dias: int  # left from today; negative once past

    def texto(self) -> str:
        if self.dias < 0:
            return f"prazo de manifestação encerrado em {self.ate:%d/%m/%Y}"
        return f"manifestar até {self.ate:%d/%m/%Y} ({self.dias} dias)"


def prazo(
    autorizada_em: date, hoje: date, tipo: TipoManifestacao = TipoManifestacao.CONFIRMACAO
) -> Prazo:
    """The last day to send `tipo` for a note authorized on `autorizada_em`."""
    ate = autorizada_em + timedelta(days=PRAZOS[tipo])
    return Prazo(ate, (ate - hoje).days)


# Answers of RecepcaoEvento that mean the event is on record (NT 2012.002 / MOC 7.0).
CSTAT_REGISTRADO = frozenset({"135", "136"})
CSTAT_FORA_DO_PRAZO = "596"  # Rejeição: Evento apresentado fora do prazo: [prazo vigente]
