"""Just enough ASN.1 (BER/DER) to walk a PKCS#12 file and the fields ICP-Brasil adds.

Tolerant of the BER that PKCS#12 writers use (indefinite lengths, constructed OCTET STRINGs), and
bounded: nesting depth and sizes come from the input, so every read is checked against it.
"""

from __future__ import annotations

from dataclasses import dataclass

SEQUENCE = 0x30
SET = 0x31
INTEGER = 0x02
BOOLEAN = 0x01
OCTET_STRING = 0x04
OID = 0x06
UTF8_STRING = 0x0C
PRINTABLE_STRING = 0x13
IA5_STRING = 0x16
CONTEXT_0 = 0xA0
_CONSTRUCTED = 0x20
_MAX_DEPTH = 40


class Asn1Error(ValueError):
    """The bytes are not the ASN.1 structure expected."""


@dataclass(frozen=True, slots=True)
class Tlv:
    """One ASN.1 element: its identifier octet and its content octets."""

    tag: int
    content: bytes

    @property
    def constructed(self) -> bool:
        return bool(self.tag & _CONSTRUCTED)

    def children(self) -> list[Tlv]:
        if not self.constructed:
            raise Asn1Error(f"o elemento 0x{self.tag:02x} não é composto")
        return read_all(self.content)

    def expect(self, tag: int) -> Tlv:
        if self.tag != tag:
            raise Asn1Error(f"esperado 0x{tag:02x}, encontrado 0x{self.tag:02x}")
        return self

    def octets(self, depth: int = 0) -> bytes:
        """The value of an OCTET STRING (or [n] IMPLICIT one), joining BER constructed pieces."""
        if not self.constructed:
            return self.content
        if depth > _MAX_DEPTH:
            raise Asn1Error("aninhamento ASN.1 profundo demais")
        return b"".join(child.octets(depth + 1) for child in self.children())

    def integer(self) -> int:
        if self.tag != INTEGER or not self.content:
            raise Asn1Error("esperado um INTEGER")
        return int.from_bytes(self.content, "big", signed=True)

    def oid(self) -> str:
        if self.tag != OID or not self.content or self.content[-1] & 0x80:
            raise Asn1Error("esperado um OBJECT IDENTIFIER")
        arcs: list[int] = []
        value = 0
        for byte in self.content:
            value = value << 7 | byte & 0x7F
            if not byte & 0x80:
                arcs.append(value)
                value = 0
        first = min(arcs[0] // 40, 2)
        return ".".join(str(arc) for arc in [first, arcs[0] - 40 * first, *arcs[1:]])

    def encode(self) -> bytes:
        """DER bytes of this element (definite length)."""
        return encode(self.tag, self.content)


def encode(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:
        return bytes([tag, size]) + content
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + content


def _read(data: bytes, pos: int, depth: int) -> tuple[Tlv, int]:
    """The element starting at `pos` and the position right after it."""
    if depth > _MAX_DEPTH:
        raise Asn1Error("aninhamento ASN.1 profundo demais")
    if pos + 2 > len(data):
        raise Asn1Error("fim inesperado dos dados")
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise Asn1Error("etiquetas ASN.1 de vários bytes não são esperadas aqui")
    first = data[pos + 1]
    pos += 2
    if first == 0x80:
        if not tag & _CONSTRUCTED:
            raise Asn1Error("comprimento indefinido num elemento primitivo")
        start = pos
        while data[pos : pos + 2] != b"\x00\x00":
            _, pos = _read(data, pos, depth + 1)
        return Tlv(tag, _definite(data[start:pos], depth + 1)), pos + 2
    if first & 0x80:
        count = first & 0x7F
        if count > 4 or pos + count > len(data):
            raise Asn1Error("comprimento ASN.1 inválido")
        size = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    else:
        size = first
    end = pos + size
    if end > len(data):
        raise Asn1Error("o comprimento declarado passa do fim dos dados")
    return Tlv(tag, data[pos:end]), end


def _definite(content: bytes, depth: int) -> bytes:
    """Re-encode the children of an indefinite-length element with definite lengths."""
    parts = []
    pos = 0
    while pos < len(content):
        child, pos = _read(content, pos, depth)
        parts.append(child.encode())
    return b"".join(parts)


def read_all(data: bytes) -> list[Tlv]:
    """The consecutive elements that fill `data` exactly."""
    items = []
    pos = 0
    while pos < len(data):
        item, pos = _read(data, pos, 0)
        items.append(item)
    return items


def read_one(data: bytes) -> Tlv:
    """The single element that fills `data` exactly."""
    item, end = _read(data, 0, 0)
    if end != len(data):
        raise Asn1Error("sobram bytes depois do elemento ASN.1")
    return item


def string_value(data: bytes) -> str:
    """The text of a DER OCTET STRING, PrintableString, UTF8String or IA5String."""
    item = read_one(data)
    if item.tag not in (OCTET_STRING, PRINTABLE_STRING, UTF8_STRING, IA5_STRING):
        raise Asn1Error(f"tipo de texto inesperado 0x{item.tag:02x}")
    return item.octets().decode("utf-8" if item.tag == UTF8_STRING else "latin-1")
