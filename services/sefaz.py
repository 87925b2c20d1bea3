"""What the use cases need from the SEFAZ web services (the port); bot/gateways/sefaz.py is
the adapter over nfelib's bindings, tests use the same adapter against a local stand-in.

Every call authenticates with the client's A1 (mutual TLS); the `A1` value carries the PFX and
its password decrypted in memory only and never shows them in a repr.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from domain.fiscal.manifestacao import TipoManifestacao
from services.errors import ServiceError


@dataclass(frozen=True, slots=True)
class A1:
    """A client's certificate, clear, for one call: never logged, never written as is."""

    pfx: bytes = field(repr=False)
    password: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class DocumentoDistribuido:
    nsu: str
    schema: str  # e.g. "resNFe_v1.01.xsd"
    xml: bytes  # already inflated (docZip decoded)


@dataclass(frozen=True, slots=True)
class RetornoDistribuicao:
    c_stat: str
    x_motivo: str
    ult_nsu: str
    max_nsu: str
    documentos: tuple[DocumentoDistribuido, ...] = ()


@dataclass(frozen=True, slots=True)
class RetornoEvento:
    """The event's own answer (`retEvento/infEvento`), and the procEventoNFe when registered."""

    c_stat: str
    x_motivo: str
    protocolo: str | None = None
    proc_evento: bytes | None = None


@dataclass(frozen=True, slots=True)
class RetornoConsulta:
    """retConsSitNFe: the note's state at its authorizer (100 autorizada, 101 cancelada…)."""

    c_stat: str
    x_motivo: str
    protocolo: str | None = None
    autorizada_em: str | None = None
    xml: bytes = b""


class SefazIndisponivel(ServiceError):
    """The service could not be reached or answered garbage; `message` is pt-BR and safe."""


class SefazGateway(Protocol):
    def distribuicao(
        self, a1: A1, *, cnpj: str, uf_autor: str, ult_nsu: str
    ) -> RetornoDistribuicao:
        """One `distNSU` page after `ult_nsu`."""
        ...

    def por_chave(self, a1: A1, *, cnpj: str, uf_autor: str, chave: str) -> RetornoDistribuicao:
        """`consChNFe`: the document of one key (the procNFe after a manifestação)."""
        ...

    def manifestar(
        self,
        a1: A1,
        *,
        cnpj: str,
        chave: str,
        tipo: TipoManifestacao,
        justificativa: str | None = None,
        n_seq: int = 1,
    ) -> RetornoEvento:
        """Sign the event with the A1 and send it to the national RecepcaoEvento 4.00."""
        ...

    def consultar(self, a1: A1, *, chave: str) -> RetornoConsulta:
        """NfeConsultaProtocolo4 of the key's UF."""
        ...
