"""`xsd_warnings` really validates against the official schemas shipped in the nfelib wheel:
notes against procNFe, events against the schema of their event type."""

from __future__ import annotations

import importlib.util
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from domain.fiscal import xsd_warnings
from services.fiscal_prepare import PreparedEvent, prepare
from tests.integration.fiscal_support import fixture_bytes
from tests.unit.fiscal_chat.factory import NotaSpec, cancelamento_xml

VALID = (
    "nfelib/nfelib/nfe/samples/v4_0/leiauteNFe/"
    "35180834128745000152550010000474281920007498-nfe.xml"
)

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("nfelib") is None, reason="nfelib is not installed"
)


def test_a_valid_real_note_has_no_xsd_warning() -> None:
    assert xsd_warnings(fixture_bytes(VALID)) == ()


def test_a_value_outside_the_schema_is_reported_with_its_line() -> None:
    data = fixture_bytes(VALID).replace(b"<cUF>35</cUF>", b"<cUF>99</cUF>", 1)

    warnings = xsd_warnings(data)

    assert len(warnings) == 1
    assert warnings[0].startswith("XSD (linha ")
    assert "cUF" in warnings[0]


def test_a_layout_3_10_note_is_a_warning_about_its_version() -> None:
    data = fixture_bytes("sped-nfe/tests/fixtures/xml/2017protocoled.xml")

    warnings = xsd_warnings(data)

    assert any("'3.10'" in warning for warning in warnings)


# --- events (procEventoNFe): each is checked against the schema of its event type ---------

CANCELLED_SPEC = NotaSpec(
    numero=77, dh_emi=datetime(2026, 10, 5, 10, 30, tzinfo=ZoneInfo("America/Sao_Paulo"))
)
CCE_CLEAN = (
    "sped-da/examples/nfe/fixtures/"
    "110110-53181011028793000173550010000066701204276800-1-procEventoNfe.xml"
)
CCE_SAMPLE = "sped-da/examples/nfe/fixtures/proccce.xml"  # signature values cut with "(...)"


def not_checked(warnings: tuple[str, ...]) -> list[str]:
    return [w for w in warnings if w.startswith("XSD não verificado")]


def test_a_cancellation_event_is_validated_against_the_cancellation_schema() -> None:
    warnings = xsd_warnings(cancelamento_xml(CANCELLED_SPEC))

    assert not_checked(warnings) == []
    # Whatever is left is about the test factory's signature, never the event's own fields.
    assert all("Signature" in warning for warning in warnings), warnings


def test_a_cancellation_event_outside_its_layout_is_reported() -> None:
    """detEvento is open in the generic event schema: only the 110111 schema sees this."""
    data = cancelamento_xml(CANCELLED_SPEC, desc_evento="Cancelada")  # signed as it is

    warnings = xsd_warnings(data)

    assert any("descEvento" in warning for warning in warnings), warnings


def test_a_real_carta_de_correcao_has_no_xsd_warning() -> None:
    assert xsd_warnings(fixture_bytes(CCE_CLEAN)) == ()


def test_a_real_event_sample_is_validated_not_skipped() -> None:
    warnings = xsd_warnings(fixture_bytes(CCE_SAMPLE))

    assert not_checked(warnings) == []
    assert all("Signature" in w or "X509" in w for w in warnings), warnings


def test_an_event_type_without_its_own_schema_uses_the_generic_event_schema() -> None:
    data = cancelamento_xml(CANCELLED_SPEC).replace(b"110111", b"110112")

    warnings = xsd_warnings(data)

    assert not_checked(warnings) == []
    assert all("Signature" in warning for warning in warnings), warnings


def test_the_xsd_stays_a_warning_for_events() -> None:
    data = cancelamento_xml(CANCELLED_SPEC, desc_evento="Cancelada")  # signed as it is

    prepared = prepare("cancelamento.xml", data, CANCELLED_SPEC.emitente_cnpj, check_xsd=True)

    assert isinstance(prepared, PreparedEvent), prepared
    assert any("descEvento" in aviso for aviso in prepared.avisos)
