"""`xsd_warnings` really validates against the official schemas shipped in the nfelib wheel."""

from __future__ import annotations

import importlib.util

import pytest

from domain.fiscal import xsd_warnings
from tests.integration.fiscal_support import fixture_bytes

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
