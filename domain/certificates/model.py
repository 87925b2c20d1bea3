"""What the bot keeps about an A1 certificate: public facts only, never the key or the password."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from domain.documents import format_tax_id

# dates are shown and counted as the Brazilian client sees them (no daylight saving since 2019)
BRASILIA = ZoneInfo("America/Sao_Paulo")


@dataclass(frozen=True, slots=True)
class CertificateInfo:
    """The holder and validity of an A1 certificate, read from its PFX.

    `cnpj` is set for an e-CNPJ, `cpf` for an e-CPF (at most one of them); both are normalized
    text. `not_before`/`not_after` are aware UTC datetimes. `fingerprint` is the SHA-256 of the
    certificate's DER bytes as issued, in lower-case hex.
    """

    subject_cn: str
    holder_name: str
    cnpj: str | None
    cpf: str | None
    not_before: datetime
    not_after: datetime
    fingerprint: str
    serial: str
    issuer_cn: str

    @property
    def documento(self) -> str | None:
        """The holder's CNPJ, or CPF for an e-CPF."""
        return self.cnpj or self.cpf

    @property
    def documento_formatado(self) -> str:
        return format_tax_id(self.documento) if self.documento else "não informado"

    @property
    def valid_until(self) -> date:
        """The last day of validity, in Brasília time."""
        return self.not_after.astimezone(BRASILIA).date()

    @property
    def valid_from(self) -> date:
        """The first day of validity, in Brasília time."""
        return self.not_before.astimezone(BRASILIA).date()
