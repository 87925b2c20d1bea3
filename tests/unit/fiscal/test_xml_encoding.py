"""What comes before `<?xml` and how the bytes are encoded: a byte order mark or blank lines are
harmless, a Latin-1 file is refused for its encoding (with the fix), a declared ISO-8859-1 file
is read. The size cap and the DTD refusal still apply to such files."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from domain.fiscal import (
    DangerousXmlError,
    DocumentTooLargeError,
    MalformedXmlError,
    NotaFiscal,
    XmlEncodingError,
    parse_document,
)
from services.fiscal_prepare import Outcome, PreparedNote, Status, prepare
from tests.unit.fiscal_chat.factory import DEST_CNPJ, NotaSpec, nfe_proc_xml

SPEC = NotaSpec(
    numero=321,
    dh_emi=datetime(2026, 10, 5, 10, 30, tzinfo=ZoneInfo("America/Sao_Paulo")),
    emitente_nome="AÇÚCAR E CAFÉ SÃO JOÃO LTDA",
)
NOTE = nfe_proc_xml(SPEC)
UTF8_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>'
BOM = b"\xef\xbb\xbf"


def as_latin1(xml: bytes, declaration: bytes) -> bytes:
    """The same note re-saved in ISO-8859-1, with `declaration` in place of the UTF-8 one."""
    assert xml.startswith(UTF8_DECLARATION)
    return declaration + xml.removeprefix(UTF8_DECLARATION).decode().encode("latin-1")


@pytest.mark.parametrize(
    "prefix",
    [BOM, b"\n\n", b"\r\n\r\n", b"  \t \n", BOM + b"\r\n  ", b"\n" + BOM + b"\n"],
    ids=["bom", "blank lines", "crlf lines", "spaces and tabs", "bom then blanks", "blank bom"],
)
def test_a_note_with_a_bom_or_blank_lines_before_the_declaration_is_read(prefix: bytes) -> None:
    nota = parse_document(prefix + NOTE)

    assert isinstance(nota, NotaFiscal)
    assert nota.chave.valor == SPEC.chave()
    assert nota.emitente.x_nome == "AÇÚCAR E CAFÉ SÃO JOÃO LTDA"


def test_a_note_with_a_bom_and_blank_lines_is_stored_as_sent() -> None:
    data = BOM + b"\r\n" + NOTE

    prepared = prepare("nota.xml", data, DEST_CNPJ)

    assert isinstance(prepared, PreparedNote), prepared
    assert prepared.xml.inflate() == data  # the file is kept byte for byte


def test_the_size_cap_counts_the_leading_bytes_too() -> None:
    with pytest.raises(DocumentTooLargeError):
        parse_document(b"\n" * 10 + NOTE, max_bytes=len(NOTE) + 5)


@pytest.mark.parametrize("prefix", [BOM, b"\n\n  ", BOM + b"\n"])
def test_a_doctype_behind_a_bom_or_blank_lines_is_still_refused(prefix: bytes) -> None:
    payload = b'<!DOCTYPE nfeProc [<!ENTITY x SYSTEM "file:///etc/passwd">]>' + NOTE.removeprefix(
        UTF8_DECLARATION
    )

    with pytest.raises(DangerousXmlError):
        parse_document(prefix + payload)


def test_a_utf16_note_with_its_own_bom_is_still_read() -> None:
    text = NOTE.decode().replace('encoding="UTF-8"', 'encoding="UTF-16"')

    nota = parse_document(text.encode("utf-16"))

    assert isinstance(nota, NotaFiscal)
    assert nota.emitente.x_nome == "AÇÚCAR E CAFÉ SÃO JOÃO LTDA"


def test_text_before_the_declaration_is_still_malformed() -> None:
    with pytest.raises(MalformedXmlError) as caught:
        parse_document(b"lixo\n" + NOTE)

    assert type(caught.value) is MalformedXmlError


def test_a_latin1_file_without_a_declaration_is_refused_for_its_encoding() -> None:
    data = as_latin1(NOTE, b"")

    with pytest.raises(XmlEncodingError) as caught:
        parse_document(data)

    message = caught.value.message
    assert message.startswith("O arquivo não está em UTF-8 e não declara a sua codificação")
    assert "ISO-8859-1" in message
    assert "salve o arquivo como UTF-8" in message
    assert 'declare a codificação na primeira linha: <?xml version="1.0" encoding=' in message
    assert "cortado" not in message
    assert caught.value.line == 1
    assert isinstance(caught.value, MalformedXmlError)  # still "not a readable XML"


def test_the_encoding_reason_says_the_line_of_the_first_bad_byte() -> None:
    data = b"<nfeProc>\n<a>ok</a>\n<xNome>CAF\xc9</xNome></nfeProc>"

    with pytest.raises(XmlEncodingError) as caught:
        parse_document(data)

    assert caught.value.line == 3
    assert "na linha 3" in caught.value.message


def test_a_latin1_file_that_declares_utf8_is_refused_for_its_encoding() -> None:
    data = as_latin1(NOTE, UTF8_DECLARATION)

    with pytest.raises(XmlEncodingError) as caught:
        parse_document(data)

    assert caught.value.declared
    assert caught.value.message.startswith(
        "O arquivo declara a codificação UTF-8, mas não está em UTF-8"
    )
    assert 'encoding="ISO-8859-1"' in caught.value.message


def test_the_encoding_refusal_has_its_own_code_for_the_api_and_the_cli() -> None:
    outcome = prepare("latin1.xml", as_latin1(NOTE, b""), DEST_CNPJ)

    assert isinstance(outcome, Outcome)
    assert outcome.status is Status.RECUSADO
    assert outcome.codigo == "codificacao"
    assert "não está em UTF-8" in (outcome.motivo or "")


@pytest.mark.parametrize("name", ["ISO-8859-1", "iso-8859-1", "latin1"])
def test_a_note_that_declares_iso_8859_1_is_read_and_stored(name: str) -> None:
    data = as_latin1(NOTE, f'<?xml version="1.0" encoding="{name}"?>'.encode())

    nota = parse_document(data)
    prepared = prepare("nota.xml", data, DEST_CNPJ)

    assert isinstance(nota, NotaFiscal)
    assert nota.emitente.x_nome == "AÇÚCAR E CAFÉ SÃO JOÃO LTDA"
    assert isinstance(prepared, PreparedNote), prepared


def test_a_truncated_utf8_note_keeps_the_truncated_reason() -> None:
    with pytest.raises(MalformedXmlError) as caught:
        parse_document(NOTE[:-60])

    assert type(caught.value) is MalformedXmlError
    assert "cortado" in caught.value.message
