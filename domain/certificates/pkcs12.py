"""The PKCS#12 (PFX) container read by hand, for what `cryptography`'s loader cannot tell us.

`cryptography` opens a PFX in one step and answers any failure with a `ValueError`, so it cannot
say whether the password is wrong or the file is damaged, and it refuses certificates with small
DER faults that real Brazilian certificates carry (DEFAULT values encoded explicitly).
This module checks the PFX structure, verifies the password against the file's MAC, and, once the
password is known to be right, reads the certificate bags itself (RFC 7292); `x509_der` then
repairs what `cryptography` refused in them.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from domain.certificates import der
from domain.certificates.rc2 import rc2_cbc_decrypt

_DATA = "1.2.840.113549.1.7.1"
_ENCRYPTED_DATA = "1.2.840.113549.1.7.6"
_KEY_BAG = "1.2.840.113549.1.12.10.1.1"
_SHROUDED_KEY_BAG = "1.2.840.113549.1.12.10.1.2"
_CERT_BAG = "1.2.840.113549.1.12.10.1.3"
_X509_CERTIFICATE = "1.2.840.113549.1.9.22.1"
_LOCAL_KEY_ID = "1.2.840.113549.1.9.21"
_PBES2 = "1.2.840.113549.1.5.13"
_PBKDF2 = "1.2.840.113549.1.5.12"
# the "pbeWithSHAAnd…" schemes of PKCS#12 itself: (cipher, key size in bytes)
_PKCS12_PBE = {
    "1.2.840.113549.1.12.1.3": ("3des", 24),
    "1.2.840.113549.1.12.1.4": ("3des", 16),
    "1.2.840.113549.1.12.1.5": ("rc2", 16),
    "1.2.840.113549.1.12.1.6": ("rc2", 5),
}
_DIGESTS = {
    "1.3.14.3.2.26": "sha1",
    "2.16.840.1.101.3.4.2.4": "sha224",
    "2.16.840.1.101.3.4.2.1": "sha256",
    "2.16.840.1.101.3.4.2.2": "sha384",
    "2.16.840.1.101.3.4.2.3": "sha512",
}
_HMAC_PRF: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "1.2.840.113549.2.7": hashes.SHA1,
    "1.2.840.113549.2.8": hashes.SHA224,
    "1.2.840.113549.2.9": hashes.SHA256,
    "1.2.840.113549.2.10": hashes.SHA384,
    "1.2.840.113549.2.11": hashes.SHA512,
}
_PBES2_CIPHERS = {
    "2.16.840.1.101.3.4.1.2": ("aes", 16),
    "2.16.840.1.101.3.4.1.22": ("aes", 24),
    "2.16.840.1.101.3.4.1.42": ("aes", 32),
    "1.2.840.113549.3.7": ("3des", 24),
}
# what walking a damaged structure can raise (der.Asn1Error and DecryptionFailed are ValueErrors)
_MALFORMED = (ValueError, IndexError, RecursionError)
# a PFX from a hostile sender must not keep the worker hashing for minutes: real files use
# 2,000-10,000 rounds; the PKCS#12 KDF runs in Python here, PBKDF2 in C
_MAX_ITERATIONS = 1_000_000
_MAX_KDF12_ITERATIONS = 100_000
_MAX_ENCRYPTED_PARTS = 8


class DecryptionFailed(ValueError):
    """A bag did not decrypt: with no MAC to check first, the sign of a wrong password."""


@dataclass(frozen=True, slots=True)
class _Mac:
    digest: str
    value: bytes
    salt: bytes
    iterations: int


@dataclass(frozen=True, slots=True)
class Pfx:
    """A structurally valid PFX: the authenticated content and its MAC, if one we can check."""

    auth_safe: bytes
    mac: _Mac | None


@dataclass(frozen=True, slots=True)
class PfxContents:
    """The certificates (DER, the key's own first when known) and whether a key is inside."""

    certificates: tuple[bytes, ...]
    has_private_key: bool


def parse_pfx(data: bytes) -> Pfx:
    """Check that `data` is a password-protected PFX; raises `der.Asn1Error` otherwise."""
    fields = der.read_one(data).expect(der.SEQUENCE).children()
    if len(fields) not in (2, 3) or fields[0].integer() != 3:
        raise der.Asn1Error("não é um PFX versão 3")
    auth_safe = _data_content(fields[1])
    mac = _parse_mac(fields[2]) if len(fields) == 3 else None
    return Pfx(auth_safe, mac)


def password_matches(pfx: Pfx, password: str) -> bool | None:
    """Whether the MAC accepts the password; None when there is no MAC we can afford to ask."""
    if pfx.mac is None or pfx.mac.iterations > _MAX_KDF12_ITERATIONS:
        return None
    mac = pfx.mac
    size = hashlib.new(mac.digest).digest_size
    for candidate in _bmp_passwords(password):
        key = _pkcs12_kdf(mac.digest, candidate, mac.salt, mac.iterations, 3, size)
        expected = hmac.new(key, pfx.auth_safe, mac.digest).digest()
        if hmac.compare_digest(expected, mac.value):
            return True
    return False


def opens_any_bag(pfx: Pfx, password: str) -> bool:
    """Whether the password decrypts some bag into well-formed ASN.1.

    When the MAC fails, this tells a damaged file (the password still opens the intact bags)
    from a wrong password (nothing decrypts).
    """
    try:
        infos = der.read_one(pfx.auth_safe).expect(der.SEQUENCE).children()
    except _MALFORMED:
        return False
    attempts = 0
    for info in infos:
        try:
            content_type, *rest = info.expect(der.SEQUENCE).children()
            if content_type.oid() == _ENCRYPTED_DATA:
                attempts += 1
                der.read_one(_decrypt_encrypted_data(rest[0], password))
                return True
            if content_type.oid() != _DATA:
                continue
            for bag in der.read_one(_data_content(info)).expect(der.SEQUENCE).children():
                bag_id, value = bag.expect(der.SEQUENCE).children()[:2]
                if bag_id.oid() == _SHROUDED_KEY_BAG and attempts < _MAX_ENCRYPTED_PARTS:
                    attempts += 1
                    shrouded = value.expect(der.CONTEXT_0).children()[0]
                    algorithm, encrypted = shrouded.expect(der.SEQUENCE).children()
                    der.read_one(_decrypt(algorithm, encrypted.octets(), password))
                    return True
        except _MALFORMED:
            pass
        if attempts >= _MAX_ENCRYPTED_PARTS:
            break
    return False


def read_contents(pfx: Pfx, password: str) -> PfxContents:
    """Decrypt the bags and list what is inside; raises `DecryptionFailed` or `der.Asn1Error`."""
    certificates: list[tuple[bytes, bytes | None]] = []
    key_ids: set[bytes | None] = set()
    infos = der.read_one(pfx.auth_safe).expect(der.SEQUENCE).children()
    if len(infos) > _MAX_ENCRYPTED_PARTS:
        raise der.Asn1Error("partes demais no PFX")
    for info in infos:
        content_type, *rest = info.expect(der.SEQUENCE).children()
        if content_type.oid() == _DATA:
            safe_contents = _data_content(info)
        elif content_type.oid() == _ENCRYPTED_DATA and rest:
            safe_contents = _decrypt_encrypted_data(rest[0], password)
        else:
            continue
        for bag in der.read_one(safe_contents).expect(der.SEQUENCE).children():
            bag_id, value, *attributes = bag.expect(der.SEQUENCE).children()
            local_key_id = _local_key_id(attributes[0]) if attributes else None
            if bag_id.oid() in (_KEY_BAG, _SHROUDED_KEY_BAG):
                key_ids.add(local_key_id)
            elif bag_id.oid() == _CERT_BAG:
                cert_type, cert_value = value.expect(der.CONTEXT_0).children()[0].children()
                if cert_type.oid() == _X509_CERTIFICATE:
                    cert_der = der.read_one(cert_value.content).octets()
                    certificates.append((cert_der, local_key_id))
    certificates.sort(key=lambda item: item[1] is None or item[1] not in key_ids)
    return PfxContents(tuple(cert for cert, _ in certificates), bool(key_ids))


def _data_content(content_info: der.Tlv) -> bytes:
    content_type, wrapper = content_info.expect(der.SEQUENCE).children()
    if content_type.oid() != _DATA:
        raise der.Asn1Error("PFX assinado por chave pública não é suportado")
    return der.read_one(wrapper.expect(der.CONTEXT_0).content).expect(der.OCTET_STRING).octets()


def _parse_mac(mac_data: der.Tlv) -> _Mac | None:
    """The MAC parameters; None for one not handled here (PBMAC1…), left to `cryptography`."""
    digest_info, salt, *rest = mac_data.expect(der.SEQUENCE).children()
    algorithm, value = digest_info.expect(der.SEQUENCE).children()
    oid = algorithm.expect(der.SEQUENCE).children()[0].oid()
    if oid not in _DIGESTS:
        return None
    iterations = rest[0].integer() if rest else 1
    if iterations < 1:
        raise der.Asn1Error("número de iterações do MAC inválido")
    return _Mac(_DIGESTS[oid], value.octets(), salt.octets(), iterations)


def _local_key_id(attributes: der.Tlv) -> bytes | None:
    for attribute in attributes.expect(der.SET).children():
        attribute_type, values = attribute.expect(der.SEQUENCE).children()
        if attribute_type.oid() == _LOCAL_KEY_ID:
            return values.children()[0].octets()
    return None


def _decrypt_encrypted_data(wrapper: der.Tlv, password: str) -> bytes:
    encrypted_data = wrapper.expect(der.CONTEXT_0).children()[0]
    _version, content_info = encrypted_data.expect(der.SEQUENCE).children()[:2]
    _content_type, algorithm, *encrypted = content_info.expect(der.SEQUENCE).children()
    if not encrypted or encrypted[0].tag not in (0x80, 0xA0):
        raise der.Asn1Error("EncryptedData sem conteúdo")
    return _decrypt(algorithm, encrypted[0].octets(), password)


def _decrypt(algorithm: der.Tlv, ciphertext: bytes, password: str) -> bytes:
    oid_tlv, params = algorithm.expect(der.SEQUENCE).children()
    oid = oid_tlv.oid()
    if oid in _PKCS12_PBE:
        cipher, key_size = _PKCS12_PBE[oid]
        salt, iterations = params.expect(der.SEQUENCE).children()
        rounds = _checked(iterations.integer(), _MAX_KDF12_ITERATIONS)
        secret = _bmp_passwords(password)[0]
        key = _pkcs12_kdf("sha1", secret, salt.octets(), rounds, 1, key_size)
        iv = _pkcs12_kdf("sha1", secret, salt.octets(), rounds, 2, 8)
        if cipher == "rc2":
            return _unpad(rc2_cbc_decrypt(key, iv, ciphertext, key_size * 8), 8)
        if key_size == 16:
            key += key[:8]
        return _cbc_decrypt(TripleDES(key), iv, ciphertext, 8)
    if oid == _PBES2:
        return _pbes2_decrypt(params, ciphertext, password)
    raise der.Asn1Error(f"cifra de PKCS#12 não suportada: {oid}")


def _pbes2_decrypt(params: der.Tlv, ciphertext: bytes, password: str) -> bytes:
    kdf, scheme = params.expect(der.SEQUENCE).children()
    kdf_oid, kdf_params = kdf.expect(der.SEQUENCE).children()
    if kdf_oid.oid() != _PBKDF2:
        raise der.Asn1Error("PBES2 sem PBKDF2 não é suportado")
    salt, iterations, *optional = kdf_params.expect(der.SEQUENCE).children()
    prf: hashes.HashAlgorithm = hashes.SHA1()  # noqa: S303 - the PRF RFC 8018 sets by default
    for item in optional:
        if item.tag == der.SEQUENCE:
            prf_oid = item.children()[0].oid()
            if prf_oid not in _HMAC_PRF:
                raise der.Asn1Error(f"PRF do PBKDF2 não suportada: {prf_oid}")
            prf = _HMAC_PRF[prf_oid]()
    scheme_oid, iv = scheme.expect(der.SEQUENCE).children()
    if scheme_oid.oid() not in _PBES2_CIPHERS:
        raise der.Asn1Error(f"cifra PBES2 não suportada: {scheme_oid.oid()}")
    cipher, key_size = _PBES2_CIPHERS[scheme_oid.oid()]
    key = PBKDF2HMAC(prf, key_size, salt.octets(), _checked(iterations.integer())).derive(
        password.encode("utf-8")
    )
    if cipher == "aes":
        return _cbc_decrypt(algorithms.AES(key), iv.octets(), ciphertext, 16)
    return _cbc_decrypt(TripleDES(key), iv.octets(), ciphertext, 8)


def _cbc_decrypt(
    algorithm: algorithms.AES | TripleDES, iv: bytes, ciphertext: bytes, block: int
) -> bytes:
    if not ciphertext or len(ciphertext) % block:
        raise DecryptionFailed("texto cifrado de tamanho inválido")
    decryptor = Cipher(algorithm, modes.CBC(iv)).decryptor()
    return _unpad(decryptor.update(ciphertext) + decryptor.finalize(), block)


def _unpad(plain: bytes, block: int) -> bytes:
    size = plain[-1] if plain else 0
    if not 1 <= size <= block or plain[-size:] != bytes([size]) * size:
        raise DecryptionFailed("preenchimento inválido depois de decifrar")
    return plain[:-size]


def _checked(iterations: int, limit: int = _MAX_ITERATIONS) -> int:
    if not 1 <= iterations <= limit:
        raise der.Asn1Error(f"número de iterações fora do razoável: {iterations}")
    return iterations


def _bmp_passwords(password: str) -> list[bytes]:
    """The password as PKCS#12 wants it (BMPString, NUL-terminated).

    An empty password is written either way by different tools, as two NULs or as nothing.
    """
    bmp = password.encode("utf-16-be") + b"\x00\x00"
    return [bmp, b""] if not password else [bmp]


def _pkcs12_kdf(
    digest: str, password: bytes, salt: bytes, iterations: int, purpose: int, size: int
) -> bytes:
    """RFC 7292 appendix B.2; `purpose` is 1 for a key, 2 for an IV, 3 for a MAC key."""
    u = hashlib.new(digest).digest_size
    v = hashlib.new(digest).block_size

    def stretched(value: bytes) -> bytes:
        if not value:
            return b""
        length = v * -(-len(value) // v)
        return (value * (length // len(value) + 1))[:length]

    material = bytearray(stretched(salt) + stretched(password))
    diversifier = bytes([purpose]) * v
    output = b""
    while len(output) < size:
        block = diversifier + bytes(material)
        for _ in range(iterations):
            block = hashlib.new(digest, block).digest()
        output += block
        addend = int.from_bytes((block * (v // u + 1))[:v], "big") + 1
        for start in range(0, len(material), v):
            total = int.from_bytes(material[start : start + v], "big") + addend
            material[start : start + v] = (total % (1 << 8 * v)).to_bytes(v, "big")
    return output[:size]
