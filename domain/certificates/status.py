"""Whether a stored certificate serves a client, and how the chat should describe its validity."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from domain.certificates.errors import CertificateOfAnotherCompany, CertificateWithoutDocument
from domain.certificates.model import CertificateInfo
from domain.documents import DocumentType, parse_tax_id

EXPIRY_WARNING_DAYS = 30


class CertificateStatus(StrEnum):
    VALID = "valido"
    EXPIRING = "vencendo"
    EXPIRED = "vencido"


@dataclass(frozen=True, slots=True)
class CertificateHealth:
    """The status to show and the days left until `valid_until` (negative once expired)."""

    status: CertificateStatus
    days_left: int


def check_belongs_to(info: CertificateInfo, client_documento: str) -> None:
    """Refuse a certificate that is not the client's: same CNPJ, or same root (a branch)."""
    client = parse_tax_id(client_documento)
    holder = info.documento
    if holder is None:
        raise CertificateWithoutDocument()
    if holder == client.value:
        return
    if client.kind is DocumentType.CNPJ and len(holder) == 14 and holder[:8] == client.root:
        return
    raise CertificateOfAnotherCompany(holder, client.value)


def days_left(info: CertificateInfo, today: date) -> int:
    """Whole days from `today` to the last day of validity (0 on that day, negative after)."""
    return (info.valid_until - today).days


def classify(
    info: CertificateInfo, today: date, *, warning_days: int = EXPIRY_WARNING_DAYS
) -> CertificateHealth:
    """Valid, expiring within `warning_days`, or expired, as of `today` in Brasília."""
    left = days_left(info, today)
    if left < 0:
        return CertificateHealth(CertificateStatus.EXPIRED, left)
    if left <= warning_days:
        return CertificateHealth(CertificateStatus.EXPIRING, left)
    return CertificateHealth(CertificateStatus.VALID, left)
