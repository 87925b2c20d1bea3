"""Generate A1 certificates (PKCS#12) for tests: chosen CNPJ, validity, password and encryption.

The holder's certificate is issued by a test CA and shaped like an ICP-Brasil e-CNPJ/e-CPF: the
CNPJ in SubjectAltName otherName 2.16.76.1.3.3 (as OCTET STRING or PrintableString), the
e-CPF data in 2.16.76.1.3.1, and the common name `RAZAO SOCIAL:CNPJ` unless told otherwise.
Keys are generated once per test session: RSA generation is the slow part.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import Enum

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
CNPJ = "11222333000181"
RAZAO_SOCIAL = "PADARIA BOM PAO LTDA"
PASSWORD = "s3nh@-do-certificado"
OID_CNPJ = x509.ObjectIdentifier("2.16.76.1.3.3")
OID_PF_DADOS = x509.ObjectIdentifier("2.16.76.1.3.1")
OID_RESPONSAVEL_NOME = x509.ObjectIdentifier("2.16.76.1.3.2")


class SanEncoding(Enum):
    """How the ICP-Brasil otherName value is encoded (CAs have used each)."""

    OCTET_STRING = 0x04
    PRINTABLE_STRING = 0x13
    UTF8_STRING = 0x0C


class Encryption(Enum):
    """How the PFX protects the key and the certificates."""

    MODERN = "AES-256 + PBKDF2-SHA256, MAC SHA-256"
    LEGACY_3DES = "pbeWithSHA1And3-KeyTripleDES-CBC, MAC SHA-1"


@dataclass(frozen=True)
class Ecpf:
    """The e-CPF holder data of otherName 2.16.76.1.3.1."""

    birth_date: date
    cpf: str


def der_string(text: str, encoding: SanEncoding) -> bytes:
    """The DER of a short string with the given universal tag."""
    raw = text.encode("utf-8")
    return bytes([encoding.value, len(raw)]) + raw


@functools.cache
def holder_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@functools.cache
def test_ca() -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "AC TESTE RFB v5")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(datetime(2020, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2040, 1, 1, tzinfo=UTC))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, certificate


def make_certificate(
    *,
    cnpj: str | None = CNPJ,
    san_encoding: SanEncoding | None = SanEncoding.OCTET_STRING,
    common_name: str | None = None,
    organization: str | None = None,
    ecpf: Ecpf | None = None,
    not_before: datetime = NOW - timedelta(days=100),
    not_after: datetime = NOW + timedelta(days=265),
    serial_number: int = 0x1F2E3D,
) -> x509.Certificate:
    """The holder's certificate; `san_encoding=None` leaves the CNPJ out of the SAN."""
    ca_key, ca_certificate = test_ca()
    if common_name is None:
        common_name = f"{RAZAO_SOCIAL}:{cnpj}" if cnpj else RAZAO_SOCIAL
    attributes = [x509.NameAttribute(NameOID.COUNTRY_NAME, "BR")]
    if organization:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    if common_name:
        attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    other_names: list[x509.GeneralName] = []
    if ecpf is not None:
        data = f"{ecpf.birth_date:%d%m%Y}{ecpf.cpf}{'0' * 11}{'0' * 15}"
        other_names.append(
            x509.OtherName(OID_PF_DADOS, der_string(data, SanEncoding.OCTET_STRING))
        )
    if cnpj and san_encoding is not None:
        other_names.append(
            x509.OtherName(OID_RESPONSAVEL_NOME, der_string("FULANO DE TAL", san_encoding))
        )
        other_names.append(x509.OtherName(OID_CNPJ, der_string(cnpj, san_encoding)))
    other_names.append(x509.RFC822Name("contato@padaria.example"))
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name(attributes))
        .issuer_name(ca_certificate.subject)
        .public_key(holder_key().public_key())
        .serial_number(serial_number)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(other_names), critical=False)
        .sign(ca_key, hashes.SHA256())
    )


def make_pfx(
    certificate: x509.Certificate | None = None,
    *,
    password: str = PASSWORD,
    with_key: bool = True,
    with_chain: bool = True,
    encryption: Encryption = Encryption.MODERN,
) -> bytes:
    """A PFX holding the certificate (default: `make_certificate()`), its key and the CA."""
    certificate = certificate or make_certificate()
    if encryption is Encryption.MODERN:
        protection: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(password.encode())
        )
    else:
        protection = (
            serialization.PrivateFormat.PKCS12.encryption_builder()
            .kdf_rounds(2048)
            .key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC)
            .hmac_hash(hashes.SHA1())  # noqa: S303 - the legacy format under test
            .build(password.encode())
        )
    cas = [test_ca()[1]] if with_chain else None
    if with_key:
        return pkcs12.serialize_key_and_certificates(
            b"certificado", holder_key(), certificate, cas, protection
        )
    return pkcs12.serialize_key_and_certificates(
        b"certificado", None, None, [certificate, *(cas or [])], protection
    )
