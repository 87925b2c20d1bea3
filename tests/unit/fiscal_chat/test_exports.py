"""File names of the fiscal exports, and each channel's upload limit."""

from __future__ import annotations

import pytest

from bot.app import CHANNEL_CAPABILITIES
from services.capabilities import MB
from services.fiscal_exports import ExportOptions, file_base


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("ACME", "ACME_2026-10_NFe"),
        ("Padaria Pão Quente Ltda", "Padaria-Pao-Quente-Ltda_2026-10_NFe"),
        ("  J&J / Comércio: Ferragens  ", "J-J-Comercio-Ferragens_2026-10_NFe"),
        ("../../etc/passwd", "etc-passwd_2026-10_NFe"),
        ("Ação", "Acao_2026-10_NFe"),
        ("—", "cliente_2026-10_NFe"),
    ],
)
def test_a_client_name_becomes_a_safe_file_name(name: str, expected: str) -> None:
    assert file_base(name, "2026-10", "NFe") == expected


def test_a_long_name_is_cut_to_forty_characters() -> None:
    base = file_base("Empresa " * 20, "2026-10")
    assert base == "Empresa-Empresa-Empresa-Empresa-Empresa_2026-10"


@pytest.mark.parametrize(
    ("channel", "limit"), [("telegram", 50 * MB), ("whatsapp", 100 * MB), ("console", 50 * MB)]
)
def test_each_channel_has_its_upload_limit(channel: str, limit: int) -> None:
    assert ExportOptions(channels=CHANNEL_CAPABILITIES).upload_limit(channel) == limit
