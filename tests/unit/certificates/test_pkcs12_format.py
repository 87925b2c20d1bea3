"""The hand-read parts: RC2, BER, DER repairs, and PFX files `cryptography` cannot write.

Legacy files (RC2-40 certificates, no MAC) are written with the OpenSSL command line when it is
installed with its legacy provider; `cryptography` can write 3DES files but not RC2 ones.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from domain.certificates import (
    CertificateExpired,
    NotACertificate,
    WrongCertificatePassword,
    der,
    open_certificate,
    read_certificate,
    x509_der,
)
from domain.certificates.rc2 import rc2_cbc_decrypt
from tests.unit.certificates.pfx_factory import (
    CNPJ,
    NOW,
    PASSWORD,
    SanEncoding,
    holder_key,
    make_certificate,
)


@pytest.mark.parametrize(
    ("key", "effective_bits", "plain", "cipher"),
    [
        ("0000000000000000", 63, "0000000000000000", "ebb773f993278eff"),
        ("ffffffffffffffff", 64, "ffffffffffffffff", "278b27e42e2f0d49"),
        ("3000000000000000", 64, "1000000000000001", "30649edf9be7d2c2"),
        ("88", 64, "0000000000000000", "61a8a244adacccf0"),
        ("88bca90e90875a", 64, "0000000000000000", "6ccf4308974c267f"),
        ("88bca90e90875a7f0f79c384627bafb2", 64, "0000000000000000", "1a807d272bbe5db1"),
        ("88bca90e90875a7f0f79c384627bafb2", 128, "0000000000000000", "2269552ab0f85ca6"),
    ],
)
def test_rc2_decrypts_the_rfc_2268_test_vectors(
    key: str, effective_bits: int, plain: str, cipher: str
) -> None:
    # one CBC block with a zero IV is a plain block decryption
    decrypted = rc2_cbc_decrypt(
        bytes.fromhex(key), bytes(8), bytes.fromhex(cipher), effective_bits
    )

    assert decrypted.hex() == plain


def test_ber_indefinite_lengths_and_constructed_octet_strings_are_read() -> None:
    ber = bytes.fromhex("3080" + "2480" + "0402abcd" + "0401ef" + "0000" + "0000")

    (octets,) = der.read_one(ber).children()

    assert octets.octets() == bytes.fromhex("abcdef")


def test_absurdly_deep_nesting_is_refused_as_not_a_certificate() -> None:
    with pytest.raises(NotACertificate):
        read_certificate(b"\x30\x80" * 20_000, PASSWORD, now=NOW)


def _with_encoded_defaults(cert_der: bytes) -> bytes:
    """The certificate with `critical FALSE` on the SAN and `cA FALSE` spelled out, as CAs did."""
    certificate, *rest = der.read_one(cert_der).children()
    fields = certificate.children()
    for index, field in enumerate(fields):
        if field.tag != 0xA3:
            continue
        extensions = []
        for extension in field.children()[0].children():
            oid, *others = extension.children()
            value = others[-1]
            if oid.oid() == "2.5.29.19":
                value = der.Tlv(der.OCTET_STRING, der.encode(der.SEQUENCE, b"\x01\x01\x00"))
            critical = others[0] if len(others) == 2 else der.Tlv(der.BOOLEAN, b"\x00")
            parts = oid.encode() + critical.encode() + value.encode()
            extensions.append(der.encode(der.SEQUENCE, parts))
        fields[index] = der.Tlv(0xA3, der.encode(der.SEQUENCE, b"".join(extensions)))
    tbs = der.encode(der.SEQUENCE, b"".join(field.encode() for field in fields))
    return der.encode(der.SEQUENCE, tbs + b"".join(part.encode() for part in rest))


def test_a_certificate_with_encoded_defaults_is_repaired_for_reading() -> None:
    issued = _with_encoded_defaults(make_certificate().public_bytes(serialization.Encoding.DER))
    with pytest.raises(ValueError, match="EncodedDefault"):
        x509.load_der_x509_certificate(issued)

    repaired = x509.load_der_x509_certificate(x509_der.drop_encoded_defaults(issued))

    assert repaired.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    assert x509_der.other_names(issued)["2.16.76.1.3.3"] == b"\x04\x0e" + CNPJ.encode()


OPENSSL = shutil.which("openssl")
LEGACY_RC2 = ("-legacy", "-certpbe", "PBE-SHA1-RC2-40", "-keypbe", "PBE-SHA1-3DES")


def _pem(cert_der: bytes) -> bytes:
    text = base64.b64encode(cert_der)
    lines = b"".join(text[i : i + 64] + b"\n" for i in range(0, len(text), 64))
    return b"-----BEGIN CERTIFICATE-----\n" + lines + b"-----END CERTIFICATE-----\n"


def _openssl_pfx(tmp_path: Path, cert_der: bytes, *options: str) -> bytes:
    """A PFX written by the OpenSSL command line (skips the test when it cannot)."""
    if OPENSSL is None:
        pytest.skip("openssl command line not installed")
    (tmp_path / "cert.pem").write_bytes(_pem(cert_der))
    key_pem = holder_key().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (tmp_path / "key.pem").write_bytes(key_pem)
    command = [OPENSSL, "pkcs12", "-export", "-in", str(tmp_path / "cert.pem")]
    command += ["-inkey", str(tmp_path / "key.pem"), "-out", str(tmp_path / "out.pfx")]
    command += ["-passout", f"pass:{PASSWORD}", *options]
    done = subprocess.run(command, capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"openssl cannot write this PFX: {done.stderr.decode(errors='replace')}")
    return (tmp_path / "out.pfx").read_bytes()


def _der(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.DER)


def test_a_legacy_rc2_40_file_opens(tmp_path: Path) -> None:
    pfx = _openssl_pfx(tmp_path, _der(make_certificate()), *LEGACY_RC2, "-macalg", "sha1")

    assert read_certificate(pfx, PASSWORD, now=NOW).cnpj == CNPJ
    with pytest.raises(WrongCertificatePassword):
        read_certificate(pfx, "errada", now=NOW)


def test_without_a_mac_a_wrong_password_is_still_told_apart(tmp_path: Path) -> None:
    pfx = _openssl_pfx(tmp_path, _der(make_certificate()), *LEGACY_RC2, "-nomac")

    assert read_certificate(pfx, PASSWORD, now=NOW).cnpj == CNPJ
    with pytest.raises(WrongCertificatePassword):
        read_certificate(pfx, "errada", now=NOW)


def test_a_certificate_cryptography_refuses_is_read_by_hand(tmp_path: Path) -> None:
    certificate = make_certificate(
        san_encoding=SanEncoding.PRINTABLE_STRING,
        common_name="EMPRESA SEM CNPJ NO NOME",
        not_before=datetime(2024, 1, 1, tzinfo=UTC),
        not_after=datetime(2025, 1, 1, tzinfo=UTC),
    )
    issued = _with_encoded_defaults(_der(certificate))
    pfx = _openssl_pfx(tmp_path, issued, *LEGACY_RC2, "-macalg", "sha1")
    with pytest.raises(ValueError, match="EncodedDefault"):
        pkcs12.load_key_and_certificates(pfx, PASSWORD.encode())

    info = open_certificate(pfx, PASSWORD)

    assert info.cnpj == CNPJ
    assert info.holder_name == "EMPRESA SEM CNPJ NO NOME"
    assert info.fingerprint == hashlib.sha256(issued).hexdigest()
    with pytest.raises(CertificateExpired, match="31/12/2024"):  # 21:00 in Brasília
        read_certificate(pfx, PASSWORD, now=NOW)
    with pytest.raises(WrongCertificatePassword):
        open_certificate(pfx, "errada")
