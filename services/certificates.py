"""Certificado digital: the client's A1 certificate — status, upload, key rotation.

The PFX and its password are sealed by a `SecretBox` (services/crypto.py) before anything is
stored, including the PFX kept between the two upload steps (file, then password).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from domain.certificates import (
    DEFAULT_MAX_SIZE,
    CertificateError,
    CertificateHealth,
    CertificateInfo,
    CertificateTooLarge,
    NotACertificate,
    WrongCertificatePassword,
    check_belongs_to,
    classify,
    open_certificate,
    read_certificate,
)
from domain.certificates.model import BRASILIA
from services.crypto import SecretBox
from services.errors import NotFound, ServiceError
from services.principal import Principal
from storage.models import AuditEntry
from storage.models_config import Certificate
from storage.uow import UnitOfWork

EXTENSIONS = (".pfx", ".p12")
MAX_SIZE = DEFAULT_MAX_SIZE


class CertificateRefused(ServiceError):
    """The upload was refused; `message` says why (pt-BR) and what to send instead."""

    def __init__(self, message: str, *, wrong_password: bool = False) -> None:
        super().__init__(message)
        self.wrong_password = wrong_password


class NotAPfxFile(CertificateRefused):
    def __init__(self, name: str) -> None:
        super().__init__(
            f"O arquivo {name} não é um certificado A1. Envie o arquivo .pfx (ou .p12) do "
            "certificado digital do cliente, como documento."
        )


class UploadExpired(CertificateRefused):
    def __init__(self) -> None:
        super().__init__(
            "O arquivo enviado não está mais disponível. Envie o certificado de novo."
        )


@dataclass(frozen=True, slots=True)
class CertificateView:
    holder_name: str
    documento: str | None
    valid_from: date
    valid_until: date
    fingerprint: str
    health: CertificateHealth
    uploaded_at: datetime


def _client(uow: UnitOfWork, principal: Principal, client_id: int) -> tuple[int, str]:
    client = uow.clients.get_of_gestor(principal.gestor_id, client_id)
    if client is None:
        raise NotFound()
    return client.id, client.documento


def _view(row: Certificate, today: date) -> CertificateView:
    info = _info(row)
    return CertificateView(
        holder_name=row.holder_name,
        documento=row.documento,
        valid_from=info.valid_from,
        valid_until=info.valid_until,
        fingerprint=row.fingerprint,
        health=classify(info, today),
        uploaded_at=row.uploaded_at,
    )


def _info(row: Certificate) -> CertificateInfo:
    documento = row.documento
    return CertificateInfo(
        subject_cn=row.subject_cn,
        holder_name=row.holder_name,
        cnpj=documento if documento and len(documento) == 14 else None,
        cpf=documento if documento and len(documento) == 11 else None,
        not_before=row.not_before,
        not_after=row.not_after,
        fingerprint=row.fingerprint,
        serial=row.serial,
        issuer_cn=row.issuer_cn,
    )


def today_in_brasilia(now: datetime) -> date:
    return now.astimezone(BRASILIA).date()


def certificate_status(
    uow: UnitOfWork, principal: Principal, client_id: int, *, now: datetime
) -> CertificateView | None:
    """The client's stored certificate and how it stands today; None when there is none."""
    principal.require_manage()
    with uow:
        cid, _ = _client(uow, principal, client_id)
        row = uow.certificates.of_client(cid)
        return _view(row, today_in_brasilia(now)) if row else None


def accept_file(
    uow: UnitOfWork,
    principal: Principal,
    client_id: int,
    *,
    box: SecretBox,
    name: str,
    size: int,
    data: bytes | None,
) -> str:
    """Check the sent file looks like a PKCS#12 and return it sealed (kept until the password)."""
    principal.require_manage()
    with uow:
        _client(uow, principal, client_id)
    if not name.lower().endswith(EXTENSIONS):
        raise NotAPfxFile(name)
    if data is None or size > MAX_SIZE or len(data) > MAX_SIZE:
        error = CertificateTooLarge(max(size, len(data or b"")), MAX_SIZE)
        raise CertificateRefused(error.message) from None
    try:
        open_certificate(data, "", max_size=MAX_SIZE)
    except (NotACertificate, CertificateTooLarge) as exc:
        raise CertificateRefused(exc.message) from None
    except CertificateError:
        pass  # protected by a password (as it should): judged in the next step
    return box.seal(data).decode("ascii")


def save_certificate(
    uow: UnitOfWork,
    principal: Principal,
    client_id: int,
    *,
    box: SecretBox,
    sealed_pfx: str,
    password: str,
    now: datetime,
) -> CertificateView:
    """Open the PFX with the password, check it serves the client, store it sealed; audited."""
    principal.require_manage()
    try:
        pfx = box.open(sealed_pfx.encode("ascii"))
    except (ServiceError, UnicodeEncodeError):
        raise UploadExpired() from None
    with uow:
        cid, documento = _client(uow, principal, client_id)
        try:
            info = read_certificate(pfx, password, now=now, max_size=MAX_SIZE)
            check_belongs_to(info, documento)
        except WrongCertificatePassword as exc:
            raise CertificateRefused(exc.message, wrong_password=True) from None
        except CertificateError as exc:
            raise CertificateRefused(exc.message) from None
        previous = uow.certificates.of_client(cid)
        before = _audit_facts(previous) if previous else None
        row = uow.certificates.put(
            Certificate(
                client_id=cid,
                subject_cn=info.subject_cn[:250],
                holder_name=info.holder_name[:250],
                documento=info.documento,
                issuer_cn=info.issuer_cn[:250],
                serial=info.serial[:80],
                fingerprint=info.fingerprint,
                not_before=info.not_before,
                not_after=info.not_after,
                pfx_encrypted=box.seal(pfx),
                password_encrypted=box.seal(password.encode("utf-8")),
                uploaded_at=now,
                uploaded_by=principal.identity_key,
            )
        )
        uow.audit.add(
            AuditEntry(
                at=now,
                gestor_id=principal.gestor_id,
                actor=principal.identity_key,
                client_id=cid,
                action="certificate.upload",
                before=before,
                after=_audit_facts(row),
            )
        )
        view = _view(row, today_in_brasilia(now))
        uow.commit()
        return view


def _audit_facts(row: Certificate) -> dict[str, str | None]:
    return {
        "titular": row.holder_name,
        "documento": row.documento,
        "validade": row.not_after.astimezone(BRASILIA).date().isoformat(),
        "fingerprint": row.fingerprint,
    }


def stored_secret(uow: UnitOfWork, box: SecretBox, client_id: int) -> tuple[bytes, str] | None:
    """The client's PFX and password in clear, in memory (for signing and SEFAZ calls)."""
    with uow:
        row = uow.certificates.of_client(client_id)
        if row is None:
            return None
        return box.open(row.pfx_encrypted), box.open(row.password_encrypted).decode("utf-8")


def rotate_keys(uow: UnitOfWork, box: SecretBox) -> int:
    """Re-seal every stored PFX and password under the first key; returns how many."""
    count = 0
    with uow:
        for row in uow.certificates.all_for_update():
            row.pfx_encrypted = box.reseal(row.pfx_encrypted)
            row.password_encrypted = box.reseal(row.password_encrypted)
            count += 1
        uow.commit()
    return count
