"""Bad input: attacks, not-XML, wrong namespace, size cap; never a bare lxml exception."""

from __future__ import annotations

import importlib.util
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree

import domain.fiscal.safe_xml as safe_xml
from domain.fiscal import (
    NFE_NS,
    DangerousXmlError,
    DocumentTooLargeError,
    FiscalDocumentError,
    MalformedXmlError,
    UnsupportedDocumentError,
    WrongNamespaceError,
    parse_document,
    xsd_warnings,
)
from tests.unit.fiscal.samples import Ide, nfe, nfe_proc

BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10)
    )
    + f']><nfeProc xmlns="{NFE_NS}">&lol9;</nfeProc>'
)


def external_entity(url: str) -> str:
    return (
        f'<?xml version="1.0"?><!DOCTYPE nfeProc [<!ENTITY xxe SYSTEM "{url}">]>'
        f'<nfeProc xmlns="{NFE_NS}"><NFe>&xxe;</NFe></nfeProc>'
    )


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text("TOP-SECRET-MARKER")
    return path


@pytest.fixture
def listening_socket() -> Iterator[socket.socket]:
    """A local port that records whether anything connected to it."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.setblocking(False)
    yield server
    server.close()


def assert_no_connection(server: socket.socket) -> None:
    with pytest.raises(BlockingIOError):
        server.accept()


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_a_billion_laughs_payload_is_refused_as_dangerous(encoding: str) -> None:
    payload = BILLION_LAUGHS.replace('<?xml version="1.0"?>', "")

    with pytest.raises(DangerousXmlError) as caught:
        parse_document(payload.encode(encoding))

    assert "DOCTYPE" in caught.value.message


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])  # utf-16 slips past a byte scan
def test_an_external_file_entity_is_refused_without_reading_the_file(
    secret_file: Path, encoding: str
) -> None:
    payload = external_entity(secret_file.as_uri()).replace('<?xml version="1.0"?>', "")

    with pytest.raises(DangerousXmlError) as caught:
        parse_document(payload.encode(encoding))

    assert "TOP-SECRET-MARKER" not in caught.value.message
    assert "TOP-SECRET-MARKER" not in repr(caught.value.__cause__)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_an_external_network_entity_is_refused_without_connecting(
    listening_socket: socket.socket, encoding: str
) -> None:
    port = listening_socket.getsockname()[1]
    payload = external_entity(f"http://127.0.0.1:{port}/x").replace('<?xml version="1.0"?>', "")

    with pytest.raises(DangerousXmlError):
        parse_document(payload.encode(encoding))

    assert_no_connection(listening_socket)


def test_an_external_dtd_is_refused_without_connecting(listening_socket: socket.socket) -> None:
    port = listening_socket.getsockname()[1]
    payload = f'<!DOCTYPE nfeProc SYSTEM "http://127.0.0.1:{port}/nfe.dtd"><nfeProc/>'

    with pytest.raises(DangerousXmlError):
        parse_document(payload.encode("utf-16"))

    assert_no_connection(listening_socket)


@pytest.mark.parametrize("kind", ["billion laughs", "file entity", "network entity", "bare"])
def test_past_the_byte_scan_the_parsed_tree_still_refuses_any_doctype(
    monkeypatch: pytest.MonkeyPatch,
    secret_file: Path,
    listening_socket: socket.socket,
    kind: str,
) -> None:
    """Second line of defence, for an encoding the byte scan would not recognise."""
    monkeypatch.setattr(safe_xml, "_declares_dtd", lambda data: False)
    port = listening_socket.getsockname()[1]
    payload = {
        "billion laughs": BILLION_LAUGHS,
        "file entity": external_entity(secret_file.as_uri()),
        "network entity": external_entity(f"http://127.0.0.1:{port}/x"),
        "bare": f'<!DOCTYPE nfeProc><nfeProc xmlns="{NFE_NS}"/>',
    }[kind]

    with pytest.raises(DangerousXmlError) as caught:
        parse_document(payload.encode())

    assert "TOP-SECRET-MARKER" not in repr(caught.value.__cause__)
    assert_no_connection(listening_socket)


def test_a_pdf_renamed_xml_is_refused_as_not_xml() -> None:
    pdf = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"

    with pytest.raises(MalformedXmlError) as caught:
        parse_document(pdf)

    assert "PDF" in caught.value.message
    assert "não um XML" in caught.value.message


def test_a_zip_is_refused_as_not_xml() -> None:
    with pytest.raises(MalformedXmlError) as caught:
        parse_document(b"PK\x03\x04" + b"\x00" * 30)

    assert "ZIP" in caught.value.message


@pytest.mark.parametrize(
    "data", [b"", b"   \n", b"\xff\xfe\x00garbage", b"not xml at all", b"<a>&nbsp;</a>"]
)
def test_empty_or_garbage_bytes_are_refused_as_malformed(data: bytes) -> None:
    with pytest.raises(MalformedXmlError):
        parse_document(data)


def test_truncated_xml_is_refused_as_malformed_and_chained_to_the_lxml_error() -> None:
    data = nfe_proc()[:-40]

    with pytest.raises(MalformedXmlError) as caught:
        parse_document(data)

    assert isinstance(caught.value.__cause__, etree.XMLSyntaxError)
    assert "linha" in caught.value.message
    assert isinstance(caught.value, FiscalDocumentError)


def test_an_nfe_without_namespace_is_refused_with_the_wrong_namespace_reason() -> None:
    data = nfe(Ide(), xmlns=False).encode()

    with pytest.raises(WrongNamespaceError) as caught:
        parse_document(data)

    assert caught.value.namespace is None
    assert NFE_NS in caught.value.message


def test_an_nfe_in_another_namespace_is_refused_with_the_wrong_namespace_reason() -> None:
    data = nfe_proc().replace(NFE_NS.encode(), b"http://example.com/nfe")

    with pytest.raises(WrongNamespaceError) as caught:
        parse_document(data)

    assert caught.value.namespace == "http://example.com/nfe"


@pytest.mark.parametrize(
    ("xml", "root"),
    [
        ('<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"/>', "Envelope"),
        (f'<enviNFe xmlns="{NFE_NS}"><idLote>1</idLote></enviNFe>', "enviNFe"),
        (f'<evento xmlns="{NFE_NS}"/>', "evento"),
        ("<html><body>oi</body></html>", "html"),
    ],
)
def test_documents_that_are_not_notes_or_events_are_refused_as_unsupported(
    xml: str, root: str
) -> None:
    with pytest.raises(UnsupportedDocumentError) as caught:
        parse_document(xml.encode())

    assert type(caught.value) is UnsupportedDocumentError
    assert caught.value.root == root


def test_the_size_cap_is_checked_before_parsing() -> None:
    data = b"<" * 2048  # would be malformed, but is refused for its size first

    with pytest.raises(DocumentTooLargeError) as caught:
        parse_document(data, max_bytes=1024)

    assert (caught.value.size, caught.value.limit) == (2048, 1024)
    assert "limite de 1 KB" in caught.value.message


def test_a_note_just_at_the_size_cap_is_read() -> None:
    data = nfe_proc()

    assert parse_document(data, max_bytes=len(data)).chave.valor == Ide().chave()


@pytest.mark.skipif(importlib.util.find_spec("nfelib") is not None, reason="nfelib installed")
def test_the_xsd_check_is_a_no_op_without_nfelib() -> None:
    assert xsd_warnings(nfe_proc()) == ()


def test_the_xsd_check_reports_warnings_from_the_schemas_shipped_in_nfelib(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    schemas = tmp_path / "nfelib" / "nfe" / "schemas" / "v4_0"
    schemas.mkdir(parents=True)
    (tmp_path / "nfelib" / "__init__.py").write_text("")
    (schemas / "procNFe_v4.00.xsd").write_text(FAKE_PROC_NFE_XSD)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "nfelib", raising=False)

    assert xsd_warnings(nfe_proc()) == ()
    warnings = xsd_warnings(nfe_proc().replace(b'versao="4.00">', b'versao="3.10">', 1))
    assert len(warnings) == 1
    assert warnings[0].startswith("XSD (linha 1)")
    assert xsd_warnings(nfe(Ide()).encode())[0].startswith("XSD não verificado")


FAKE_PROC_NFE_XSD = f"""<?xml version="1.0"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="{NFE_NS}"
    elementFormDefault="qualified">
  <xs:element name="nfeProc">
    <xs:complexType>
      <xs:sequence><xs:any processContents="skip" maxOccurs="unbounded"/></xs:sequence>
      <xs:attribute name="versao" type="xs:string" fixed="4.00" use="required"/>
    </xs:complexType>
  </xs:element>
</xs:schema>
"""
