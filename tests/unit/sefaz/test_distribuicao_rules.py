"""The distribution service's rules (NT 2014.002) and the docZip decoding, without a network."""

from __future__ import annotations

import base64
import gzip
from datetime import UTC, date, datetime, timedelta

import pytest

from domain.fiscal import FiscalDocumentError
from domain.fiscal.distribuicao import REGRAS, decode_doc_zip, ler_res_nfe, proxima_consulta
from domain.fiscal.manifestacao import (
    JustificativaInvalida,
    TipoManifestacao,
    checar_justificativa,
    prazo,
)
from tests.unit.fiscal.samples import Ide, res_nfe

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.mark.parametrize(
    ("c_stat", "ult", "maximo", "wait"),
    [
        ("138", "000000000000050", "000000000000120", timedelta(0)),  # more pages: go on
        ("138", "000000000000120", "000000000000120", HOUR),  # the last page: wait
        ("137", "000000000000120", "000000000000120", HOUR),  # nothing new: wait
        ("656", "000000000000000", "000000000000000", HOUR),  # blocked: an hour
        ("999", "000000000000010", "000000000000020", HOUR),  # unknown answer: never at once
    ],
)
def test_when_a_cnpj_may_be_asked_again(
    c_stat: str, ult: str, maximo: str, wait: timedelta
) -> None:
    assert proxima_consulta(c_stat, ult, maximo, NOW) == NOW + wait


def test_every_rule_says_where_it_comes_from() -> None:
    assert all("NT 2014.002" in regra.fonte for regra in REGRAS.values())


def test_a_doc_zip_is_base64_of_gzip_and_capped() -> None:
    xml = res_nfe(Ide())
    assert decode_doc_zip(base64.b64encode(gzip.compress(xml))) == xml
    bomb = base64.b64encode(gzip.compress(b"<a>" + b" " * 2_000_000 + b"</a>"))
    with pytest.raises(FiscalDocumentError, match="tamanho máximo"):
        decode_doc_zip(bomb, max_bytes=1_000_000)
    with pytest.raises(FiscalDocumentError, match="gzip"):
        decode_doc_zip(base64.b64encode(b"not gzip"))
    with pytest.raises(FiscalDocumentError, match="base64"):
        decode_doc_zip("***")


def test_a_res_nfe_reads_as_a_summary() -> None:
    resumo = ler_res_nfe(res_nfe(Ide(nnf="7"), c_sit_nfe=3, v_nf="12.34"))
    assert (resumo.chave, resumo.situacao, str(resumo.valor)) == (
        Ide(nnf="7").chave(),
        "cancelada",
        "12.34",
    )
    assert resumo.emitente_nome == "FORNECEDOR LTDA"


@pytest.mark.parametrize(("size", "ok"), [(14, False), (15, True), (255, True), (256, False)])
def test_the_justificativa_bounds(size: int, ok: bool) -> None:
    if ok:
        assert len(checar_justificativa("x" * size)) == size
    else:
        with pytest.raises(JustificativaInvalida):
            checar_justificativa("x" * size)


def test_a_deadline_past_says_it_is_over() -> None:
    over = prazo(date(2026, 1, 2), NOW.date(), TipoManifestacao.CONFIRMACAO)
    assert over.texto() == "prazo de manifestação encerrado em 01/07/2026"


def test_ciencia_has_ten_days_and_the_conclusive_events_180_from_the_authorization() -> None:
    autorizada = date(2026, 10, 15)
    hoje = date(2026, 10, 20)
    assert prazo(autorizada, hoje, TipoManifestacao.CIENCIA).ate == date(2026, 10, 25)
    for tipo in (
        TipoManifestacao.CONFIRMACAO,
        TipoManifestacao.DESCONHECIMENTO,
        TipoManifestacao.NAO_REALIZADA,
    ):
        assert prazo(autorizada, hoje, tipo).ate == date(2027, 4, 13)


def test_the_summary_keeps_its_authorization_time() -> None:
    resumo = ler_res_nfe(res_nfe(Ide(nnf="8")))
    assert resumo.autorizada_em == datetime.fromisoformat("2026-10-15T10:31:00-03:00")


def test_the_deadline_counts_the_authorization_day_in_brasilia() -> None:
    from services.sefaz_manifest import prazo_da_nota

    # 23:30 in Brasília on 31/10 is already 01/11 in UTC: the day is Brasília's
    late = datetime(2026, 11, 1, 2, 30, tzinfo=UTC)
    assert prazo_da_nota(late, date(2026, 11, 1)).ate == date(2027, 4, 29)


def test_the_consumo_indevido_rules_cite_the_version_that_made_them() -> None:
    assert "v1.12" in REGRAS["espera_sem_novidade_min"].fonte
    assert "v1.12" in REGRAS["consultas_chave_por_hora"].fonte
    assert REGRAS["consultas_chave_por_hora"].valor == 20
