"""The package's file name and resumo.txt (pure: the clock comes in `gerado_em`)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from domain.pacote import Grupo, Resumo, package_name, render_resumo


def test_the_package_name_is_ascii_with_the_month() -> None:
    assert package_name("ACME", "2026-11") == "ACME_2026-11_pacote.zip"
    assert package_name("Pão & Cia / Filial São João", "2026-01") == (
        "Pao_Cia_Filial_Sao_Joao_2026-01_pacote.zip"
    )
    assert package_name("***", "2026-01") == "cliente_2026-01_pacote.zip"


def test_the_resumo_counts_sums_and_says_what_the_totals_are() -> None:
    resumo = Resumo(
        cliente="ACME Comércio Ltda",
        documento="12.345.678/0001-95",
        competencia="2026-11",
        gerado_em=datetime(2026, 12, 1, 9, 0, tzinfo=UTC),  # 06:00 in São Paulo
        grupos=(
            Grupo("NF-e emitidas", 1200, 1190, 8, 2, Decimal("1234567.89"), 8),
            Grupo("NFC-e emitidas", 1, 1, 0, 0, Decimal("10.00"), 0),
        ),
        arquivos=("relatorios/relatorio_NF-e_emitidas_2026-11.pdf",),
    )

    text = render_resumo(resumo).decode()

    assert text.split("\r\n") == [
        "Pacote do mês — ACME Comércio Ltda (12.345.678/0001-95)",
        "Competência: 11/2026",
        "Gerado em: 01/12/2026 06:00 (horário de Brasília)",
        "",
        "NF-e emitidas: 1.200 notas (1.190 autorizadas, 8 canceladas, 2 outras); "
        "total autorizado R$ 1.234.567,89",
        "NFC-e emitidas: 1 nota (1 autorizada, 0 canceladas, 0 outras); total autorizado R$ 10,00",
        "",
        "Total: 1.201 notas",
        "Eventos de cancelamento incluídos: 8 eventos",
        "Valores: vNF (total da nota) das notas autorizadas; canceladas e denegadas não somam.",
        "",
        "Relatórios:",
        "- relatorios/relatorio_NF-e_emitidas_2026-11.pdf",
        "",
    ]
