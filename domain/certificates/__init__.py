"""A1 digital certificates (PKCS#12 + password): reading, validating, and their status in chat."""

from domain.certificates.errors import (
    CertificateError,
    CertificateExpired,
    CertificateNotYetValid,
    CertificateOfAnotherCompany,
    CertificateTooLarge,
    CertificateWithoutDocument,
    MissingPrivateKey,
    NotACertificate,
    WrongCertificatePassword,
)
from domain.certificates.model import CertificateInfo
from domain.certificates.reader import (
    DEFAULT_MAX_SIZE,
    check_validity,
    open_certificate,
    read_certificate,
)
from domain.certificates.status import (
    EXPIRY_WARNING_DAYS,
    CertificateHealth,
    CertificateStatus,
    check_belongs_to,
    classify,
    days_left,
)

__all__ = [
    "DEFAULT_MAX_SIZE",
    "EXPIRY_WARNING_DAYS",
    "CertificateError",
    "CertificateExpired",
    "CertificateHealth",
    "CertificateInfo",
    "CertificateNotYetValid",
    "CertificateOfAnotherCompany",
    "CertificateStatus",
    "CertificateTooLarge",
    "CertificateWithoutDocument",
    "MissingPrivateKey",
    "NotACertificate",
    "WrongCertificatePassword",
    "check_belongs_to",
    "check_validity",
    "classify",
    "days_left",
    "open_certificate",
    "read_certificate",
]
