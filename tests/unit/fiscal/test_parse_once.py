"""One parse for the XSD check and the reader: the same warnings and the same verdicts as when
each parsed the bytes on its own (the XSD runs on the tree before the signature check)."""

from __future__ import annotations

import importlib.util
from datetime import datetime, timedelta, timezone

import pytest

from domain.fiscal import NotaFiscal, parse_document, xsd_warnings
from domain.fiscal.safe_xml import load_xml
from domain.fiscal.xsd import xsd_warnings_of
from services.fiscal_prepare import Outcome, PreparedEvent, PreparedNote, Status, prepare
from tests.unit.fiscal_chat.factory import NotaSpec, cancelamento_xml, nfe_proc_xml

BRT = timezone(timedelta(hours=-3))
SPEC = NotaSpec(numero=601, dh_emi=datetime(2026, 10, 20, 14, 0, tzinfo=BRT))
EMITENTE = SPEC.emitente_cnpj
needs_nfelib = pytest.mark.skipif(
    importlib.util.find_spec("nfelib") is None, reason="nfelib is not installed"
)


@needs_nfelib
@pytest.mark.parametrize(
    "data",
    [
        nfe_proc_xml(SPEC),
        nfe_proc_xml(SPEC).replace(b"<mod>55</mod>", b"<mod>55</mod><extra>1</extra>"),
        cancelamento_xml(SPEC),
    ],
    ids=["valid", "off-schema", "event"],
)
def test_the_xsd_of_the_parsed_tree_says_what_it_says_of_the_bytes(data: bytes) -> None:
    assert xsd_warnings_of(load_xml(data)) == xsd_warnings(data)


@needs_nfelib
def test_an_off_schema_note_gets_the_same_warnings_through_prepare() -> None:
    data = nfe_proc_xml(SPEC).replace(b"<mod>55</mod>", b"<mod>55</mod><extra>1</extra>")
    expected = xsd_warnings(data)
    assert expected  # the change really breaks the schema

    prepared = prepare("n.xml", data, EMITENTE, check_xsd=True)

    assert isinstance(prepared, Outcome)  # the signature no longer covers these bytes
    assert prepared.codigo == "assinatura_invalida"


def test_a_good_note_keeps_the_readers_and_the_xsds_warnings() -> None:
    data = nfe_proc_xml(SPEC)
    document = parse_document(data)
    assert isinstance(document, NotaFiscal)

    prepared = prepare("n.xml", data, EMITENTE, check_xsd=True)

    assert isinstance(prepared, PreparedNote)
    assert prepared.avisos == document.avisos + xsd_warnings(data)


@pytest.mark.parametrize("check_xsd", [False, True])
def test_an_edited_note_is_refused_for_its_signature_with_or_without_the_xsd(
    check_xsd: bool,
) -> None:
    data = nfe_proc_xml(SPEC).replace(b"<vNF>150.00</vNF>", b"<vNF>1150.00</vNF>")

    prepared = prepare("n.xml", data, EMITENTE, check_xsd=check_xsd)

    assert isinstance(prepared, Outcome)
    assert prepared.status is Status.RECUSADO
    assert prepared.codigo == "assinatura_invalida"


def test_a_cancellation_is_read_the_same_with_the_xsd() -> None:
    prepared = prepare("c.xml", cancelamento_xml(SPEC), EMITENTE, check_xsd=True)

    assert isinstance(prepared, PreparedEvent)
    assert prepared.avisos == xsd_warnings(cancelamento_xml(SPEC))
