"""Certificate fields read from the DER by hand, where `cryptography` is stricter than the CAs.

Real ICP-Brasil certificates (the SEFAZ-RS test chain among them) encode DEFAULT values that DER
forbids, `critical FALSE` and `cA FALSE`; `cryptography` refuses to load the certificate, or to
parse any of its extensions once one is faulty. Reading the SubjectAltName here keeps the CNPJ
readable whatever the other extensions hold.
"""

from __future__ import annotations

from domain.certificates import der

_TBS_EXTENSIONS = 0xA3
_SUBJECT_ALT_NAME = "2.5.29.17"
_BASIC_CONSTRAINTS = "2.5.29.19"
_FALSE = der.Tlv(der.BOOLEAN, b"\x00")


def drop_encoded_defaults(cert_der: bytes) -> bytes:
    """The certificate without the explicit `critical FALSE` and `cA FALSE` it carries.

    The signature no longer matches the bytes afterwards, which is fine: this only reads the
    fields, it does not verify the chain. Keep the issued bytes for the fingerprint.
    """
    certificate, *rest = der.read_one(cert_der).expect(der.SEQUENCE).children()
    tbs_fields = certificate.expect(der.SEQUENCE).children()
    for index, field in enumerate(tbs_fields):
        if field.tag == _TBS_EXTENSIONS:
            extensions = field.children()[0].expect(der.SEQUENCE).children()
            repaired = der.encode(der.SEQUENCE, b"".join(map(_repair_extension, extensions)))
            tbs_fields[index] = der.Tlv(_TBS_EXTENSIONS, repaired)
    tbs = der.encode(der.SEQUENCE, b"".join(field.encode() for field in tbs_fields))
    return der.encode(der.SEQUENCE, tbs + b"".join(part.encode() for part in rest))


def other_names(cert_der: bytes) -> dict[str, bytes]:
    """The SubjectAltName otherNames: type OID → DER of the value inside its [0] EXPLICIT."""
    names: dict[str, bytes] = {}
    for oid, value in _extensions(cert_der):
        if oid != _SUBJECT_ALT_NAME:
            continue
        for general_name in der.read_one(value).expect(der.SEQUENCE).children():
            if general_name.tag != der.CONTEXT_0:  # otherName [0]; others are not ICP fields
                continue
            type_id, explicit = general_name.children()
            names.setdefault(type_id.oid(), explicit.expect(der.CONTEXT_0).children()[0].encode())
    return names


def _extensions(cert_der: bytes) -> list[tuple[str, bytes]]:
    certificate = der.read_one(cert_der).expect(der.SEQUENCE).children()[0]
    found = []
    for field in certificate.expect(der.SEQUENCE).children():
        if field.tag == _TBS_EXTENSIONS:
            for extension in field.children()[0].expect(der.SEQUENCE).children():
                parts = extension.expect(der.SEQUENCE).children()
                found.append((parts[0].oid(), parts[-1].expect(der.OCTET_STRING).octets()))
    return found


def _repair_extension(extension: der.Tlv) -> bytes:
    parts = extension.expect(der.SEQUENCE).children()
    if len(parts) == 3 and parts[1] == _FALSE:
        parts = [parts[0], parts[2]]
    if parts[0].oid() == _BASIC_CONSTRAINTS:
        constraints = der.read_one(parts[-1].octets()).expect(der.SEQUENCE).children()
        if constraints and constraints[0] == _FALSE:
            value = der.encode(der.SEQUENCE, b"".join(c.encode() for c in constraints[1:]))
            parts[-1] = der.Tlv(der.OCTET_STRING, value)
    return der.encode(der.SEQUENCE, b"".join(part.encode() for part in parts))
