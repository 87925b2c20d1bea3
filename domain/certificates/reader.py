"""Open an A1 certificate (PKCS#12 + password) and read who it belongs to and until when.

The order of the checks is the order of the questions a person can act on: is the file small
enough, is it a PKCS#12 at all, does the password open it, is the private key inside, is it in
its validity window. Each answer is its own `CertificateError`.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.serialization import Encoding, pkcs12
from cryptography.x509.oid import NameOID

from domain.certificates import der, x509_der
from domain.certificates import pkcs12 as pfx_format
from domain.certificates.errors import (
    CertificateExpired,
    CertificateNotYetValid,
    CertificateTooLarge,
    MissingPrivateKey,
    NotACertificate,
    WrongCertificatePassword,
)
from domain.certificates.model import CertificateInfo
from domain.documents import DocumentType, TaxId, normalize, parse_tax_id
from domain.errors import InvalidValue

DEFAULT_MAX_SIZE = 64 * 1024
# ICP-Brasil SubjectAltName otherNames (DOC-ICP-04)
OID_PF_DADOS_TITULAR = "2.16.76.1.3.1"  # e-CPF: birth date DDMMAAAA + CPF + NIS + RG…
OID_PJ_CNPJ = "2.16.76.1.3.3"  # e-CNPJ: the company's CNPJ
_CNPJ_SHAPE = re.compile(r"[A-Z0-9]{12}[0-9]{2}")
# what walking a hostile or damaged structure can raise (der.Asn1Error is a ValueError)
_MALFORMED = (ValueError, IndexError, RecursionError)


def read_certificate(
    pfx: bytes, password: str, *, now: datetime, max_size: int = DEFAULT_MAX_SIZE
) -> CertificateInfo:
    """Open the PFX with its password and refuse it unless it can sign at `now` (aware)."""
    info = open_certificate(pfx, password, max_size=max_size)
    check_validity(info, now)
    return info


def open_certificate(
    pfx: bytes, password: str, *, max_size: int = DEFAULT_MAX_SIZE
) -> CertificateInfo:
    """Open the PFX with its password and describe it, whatever its dates."""
    if len(pfx) > max_size:
        raise CertificateTooLarge(len(pfx), max_size)
    try:
        container = pfx_format.parse_pfx(pfx)
    except _MALFORMED as exc:
        raise NotACertificate(_what_it_is_instead(pfx)) from exc
    certificate, issued, has_key = _open(pfx, container, password)
    if not has_key:
        raise MissingPrivateKey()
    return describe(certificate, issued)


def check_validity(info: CertificateInfo, now: datetime) -> None:
    """Refuse a certificate outside its validity window at `now` (timezone-aware)."""
    if now.tzinfo is None:
        raise ValueError("`now` must be timezone-aware")
    if now < info.not_before:
        raise CertificateNotYetValid(info)
    if now > info.not_after:
        raise CertificateExpired(info)


def describe(certificate: x509.Certificate, issued_der: bytes | None = None) -> CertificateInfo:
    """The public facts of a certificate; `issued_der` when its bytes were repaired to load."""
    subject_cn = _name_value(certificate.subject, NameOID.COMMON_NAME)
    organization = _name_value(certificate.subject, NameOID.ORGANIZATION_NAME)
    issued = issued_der or certificate.public_bytes(Encoding.DER)
    other_names = _icp_other_names(issued)
    cnpj = _cnpj_from_san(other_names.get(OID_PJ_CNPJ))
    cpf = None if cnpj else _cpf_from_san(other_names.get(OID_PF_DADOS_TITULAR))
    cn_name, cn_document = _split_common_name(subject_cn)
    if not cnpj and not cpf and cn_document is not None:  # the SAN wins; the CN is a fallback
        if cn_document.kind is DocumentType.CPF:
            cpf = cn_document.value
        else:
            cnpj = cn_document.value
    return CertificateInfo(
        subject_cn=subject_cn,
        holder_name=cn_name or organization or subject_cn,
        cnpj=cnpj,
        cpf=cpf,
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
        fingerprint=hashlib.sha256(issued).hexdigest(),
        serial=format(certificate.serial_number, "X"),
        issuer_cn=_name_value(certificate.issuer, NameOID.COMMON_NAME),
    )


_Opened = tuple[x509.Certificate, bytes | None, bool]


def _open(data: bytes, container: pfx_format.Pfx, password: str) -> _Opened:
    """The holder's certificate, its issued bytes if repaired, and whether the key is inside."""
    try:
        key, certificate, extra = pkcs12.load_key_and_certificates(data, password.encode())
    except (ValueError, UnsupportedAlgorithm) as exc:
        return _open_by_hand(container, password, exc)
    if certificate is None and not extra:
        raise NotACertificate(_NO_CERTIFICATE)
    return (certificate or extra[0]), None, key is not None


def _open_by_hand(container: pfx_format.Pfx, password: str, failure: Exception) -> _Opened:
    """`cryptography` refused the file: tell a wrong password from a file it cannot read."""
    password_ok = pfx_format.password_matches(container, password)
    if not password_ok:
        if not pfx_format.opens_any_bag(container, password):
            raise WrongCertificatePassword() from failure
        if password_ok is False:
            raise NotACertificate(_DAMAGED) from failure
    try:
        contents = pfx_format.read_contents(container, password)
    except pfx_format.DecryptionFailed as exc:
        raise NotACertificate(_DAMAGED) from exc
    except _MALFORMED as exc:
        raise NotACertificate(_UNSUPPORTED) from exc
    if not contents.certificates:
        raise NotACertificate(_NO_CERTIFICATE) from failure
    issued = contents.certificates[0]
    try:
        certificate = x509.load_der_x509_certificate(issued)
    except ValueError:
        try:
            certificate = x509.load_der_x509_certificate(x509_der.drop_encoded_defaults(issued))
        except _MALFORMED as exc:
            raise NotACertificate() from exc
    return certificate, issued, contents.has_private_key


_NO_CERTIFICATE = (
    "O arquivo PKCS#12 não traz nenhum certificado. Exporte o certificado de novo, com a chave "
    "privada, e envie o arquivo .pfx (ou .p12)."
)
_DAMAGED = (
    "O arquivo do certificado está corrompido: a senha confere, mas o conteúdo não passou na "
    "verificação de integridade. Exporte o certificado de novo e envie outra vez."
)
_UNSUPPORTED = (
    "O arquivo parece um certificado A1, mas foi gravado num formato que não consigo abrir. "
    "Exporte o certificado de novo (.pfx, com a chave privada) e envie outra vez."
)


def _what_it_is_instead(data: bytes) -> str | None:
    """A message naming what the file is, when it is recognizably something else."""
    if not data.strip():
        return "O arquivo chegou vazio. Envie de novo o arquivo .pfx (ou .p12) do certificado A1."
    if data.startswith(b"%PDF"):
        return "Este arquivo é um PDF, não o certificado. Envie o arquivo .pfx (ou .p12)."
    if data.startswith(b"PK\x03\x04"):
        return "Este arquivo é um ZIP. Extraia o certificado e envie só o arquivo .pfx (ou .p12)."
    if b"-----BEGIN CERTIFICATE-----" in data or _is_der_certificate(data):
        return (
            "Este arquivo é só o certificado público (.cer/.crt/.pem), sem a chave privada. "
            "Envie o arquivo .pfx (ou .p12), que traz o certificado com a chave."
        )
    return None


def _is_der_certificate(data: bytes) -> bool:
    try:
        x509.load_der_x509_certificate(data)
    except ValueError:
        return False
    return True


def _name_value(name: x509.Name, oid: x509.ObjectIdentifier) -> str:
    attributes = name.get_attributes_for_oid(oid)
    value = attributes[0].value if attributes else ""
    return (value.decode("utf-8", "replace") if isinstance(value, bytes) else value).strip()


def _icp_other_names(cert_der: bytes) -> dict[str, bytes]:
    try:
        return x509_der.other_names(cert_der)
    except _MALFORMED:
        return {}


def _san_text(value: bytes | None) -> str:
    if value is None:
        return ""
    try:
        return der.string_value(value).strip()
    except (der.Asn1Error, UnicodeDecodeError):
        return ""


def _cnpj_from_san(value: bytes | None) -> str | None:
    cnpj = normalize(_san_text(value))
    if _CNPJ_SHAPE.fullmatch(cnpj) and cnpj.strip("0"):
        return cnpj
    return None


def _cpf_from_san(value: bytes | None) -> str | None:
    cpf = _san_text(value)[8:19]  # after the holder's birth date DDMMAAAA
    return cpf if len(cpf) == 11 and cpf.isdigit() and cpf.strip("0") else None


def _split_common_name(common_name: str) -> tuple[str, TaxId | None]:
    """`RAZAO SOCIAL:CNPJ` (ICP-Brasil), or a CN that is the document alone; else (CN, None).

    The name is split off whenever the tail has a document's shape; the document is only
    trusted when its check digits are right, since the common name is free text.
    """
    name, separator, tail = common_name.rpartition(":")
    candidate = normalize(tail if separator else common_name)
    if not (_CNPJ_SHAPE.fullmatch(candidate) or (len(candidate) == 11 and candidate.isdigit())):
        return common_name, None
    try:
        return name.strip(), parse_tax_id(candidate)
    except InvalidValue:
        return name.strip(), None
