"""Relatórios e documentos in the chat: month → model → the month's chart as a picture, then
the PDF report with CSV or XLSX, or the month's DANFEs as a ZIP (cancelled notes watermarked)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator

import pytest
import time_machine
from openpyxl import load_workbook  # type: ignore[import-untyped]
from pypdf import PdfReader

from domain.documents import format_tax_id
from domain.fiscal import Modelo, Situacao
from domain.fiscal.report import Cabecalho, summarize
from domain.fiscal.report_chart import render_report_chart
from domain.fiscal.report_pdf import render_report_pdf
from domain.fiscal.report_tables import render_csv, render_xlsx
from domain.money import format_brl
from handlers import texts
from services import fiscal_exports
from services.clients import ClientCard
from services.fiscal_prepare import TipoNota
from services.messages import Document, Image, Text
from services.types import UnitOfWorkFactory
from storage.models import ConversationState
from tests.support import Chat, Office, add_client, make_office
from tests.unit.fiscal_chat.chat_support import (
    NOW,
    limit_uploads,
    open_gerenciar,
    store_emitted,
    unzip,
)
from tests.unit.helpers import step_of


@pytest.fixture(autouse=True)
def clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture
def office(uow_factory: UnitOfWorkFactory, chat: Chat) -> Office:
    return make_office(uow_factory, 1, identity_key=chat.identity_key)


@pytest.fixture
def acme(uow_factory: UnitOfWorkFactory, office: Office) -> ClientCard:
    return add_client(uow_factory, office.gestor, 1, name="ACME Comércio Ltda")


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def open_report_kind(chat: Chat, model: str = texts.NFE) -> None:
    open_gerenciar(chat, "ACME Comércio Ltda")
    chat.press(texts.RELATORIOS)
    chat.press(texts.MES_ANTERIOR)
    chat.press(model)


def test_the_kind_question_summarizes_the_month(
    chat: Chat, acme: ClientCard, uow_factory: UnitOfWorkFactory
) -> None:
    specs = store_emitted(uow_factory, acme, 6, cancel=[3])

    open_report_kind(chat)

    authorized = sum((s.v_nf for s in specs if s.numero != 3), start=specs[0].v_nf * 0)
    assert chat.last_text().text == (
        "📊 ACME Comércio Ltda — NF-e 10/2026: 6 notas (Autorizada: 5, Cancelada: 1).\n"
        f"Valor total das autorizadas (soma do vNF): {format_brl(authorized)}\n\n"
        "O que você quer receber?"
    )
    assert chat.labels() == [
        "Relatório PDF + CSV",
        "Relatório PDF + XLSX",
        "DANFEs do mês",
        "Voltar",
        "Menu",
    ]


def test_the_pdf_report_and_the_csv_arrive_together(
    chat: Chat, acme: ClientCard, uow_factory: UnitOfWorkFactory
) -> None:
    specs = store_emitted(uow_factory, acme, 6, cancel=[3])
    open_report_kind(chat)

    replies = chat.press(texts.RELATORIO_CSV)

    assert replies[0] == Text(
        "⏳ Gerando o relatório de 10/2026… Envio aqui assim que ficar pronto."
    )
    pdf, csv = chat.documents()
    assert pdf.name == "ACME-Comercio-Ltda_2026-10_NFe_relatorio.pdf"
    assert pdf.mime == "application/pdf"
    assert pdf.caption == (
        "📊 Relatório — ACME Comércio Ltda — NF-e 10/2026. O valor total é a soma do vNF (valor "
        "total da nota) das notas autorizadas."
    )
    text = pdf_text(pdf.data)
    authorized = [s for s in specs if s.numero != 3]
    total = sum((s.v_nf for s in authorized), start=specs[0].v_nf * 0)
    assert f"Total (vNF): {format_brl(total)}" in text
    assert "Cliente: ACME Comércio Ltda — CNPJ " in text
    assert "Notas canceladas (1)" in text
    assert specs[2].chave() in text
    assert csv.name == "ACME-Comercio-Ltda_2026-10_NFe_relatorio.csv"
    assert csv.caption == "📋 As mesmas notas em planilha — ACME Comércio Ltda — NF-e 10/2026."
    lines = csv.data.decode("utf-8-sig").splitlines()
    assert len(lines) == 8  # header, six notes, TOTAL
    assert sum(1 for line in lines if ";Cancelada;" in line) == 1
    assert lines[-1].startswith("TOTAL;")
    assert f";{format_brl(total).removeprefix('R$ ').replace('.', '')};" in lines[-1]


def test_the_xlsx_variant_has_one_row_per_note(
    chat: Chat, acme: ClientCard, uow_factory: UnitOfWorkFactory
) -> None:
    store_emitted(uow_factory, acme, 4)
    open_report_kind(chat)

    chat.press(texts.RELATORIO_XLSX)

    _pdf, xlsx = chat.documents()
    assert xlsx.name == "ACME-Comercio-Ltda_2026-10_NFe_relatorio.xlsx"
    rows = list(load_workbook(io.BytesIO(xlsx.data)).active.iter_rows(values_only=True))
    assert len(rows) == 6  # header, four notes, TOTAL
    assert {row[9] for row in rows[1:-1]} == {Situacao.AUTORIZADA.label}
    assert rows[-1][0] == "TOTAL"


def test_the_months_chart_comes_as_a_picture_before_the_pdf(
    chat: Chat, acme: ClientCard, uow_factory: UnitOfWorkFactory
) -> None:
    specs = store_emitted(uow_factory, acme, 6, cancel=[3])
    open_report_kind(chat)

    replies = chat.press(texts.RELATORIO_CSV)

    sent = [m for m in replies if isinstance(m, Image | Document)]
    assert [type(m) for m in sent] == [Image, Document, Document]
    chart, pdf, _csv = sent
    assert isinstance(chart, Image)
    assert chart.name == "ACME-Comercio-Ltda_2026-10_NFe_relatorio_grafico.png"
    assert chart.mime == "image/png"
    assert chart.data.startswith(b"\x89PNG\r\n\x1a\n")
    assert 0 < len(chart.data) < 200_000
    total = sum((s.v_nf for s in specs if s.numero != 3), start=specs[0].v_nf * 0)
    assert chart.caption == (
        f"📈 ACME Comércio Ltda — NF-e 10/2026: {format_brl(total)} em notas autorizadas (soma "
        "do vNF). Em cima, o valor por dia; embaixo, por CFOP (soma do vProd dos itens). O "
        "relatório completo vem a seguir."
    )
    # the PDF carries the same picture
    [embedded] = PdfReader(io.BytesIO(pdf.data)).pages[0].images
    assert embedded.image is not None
    assert embedded.image.size == (1200, 800)


def test_a_month_with_nothing_authorized_gets_no_chart(
    chat: Chat, acme: ClientCard, uow_factory: UnitOfWorkFactory
) -> None:
    store_emitted(uow_factory, acme, 2, cancel=[1, 2])
    open_report_kind(chat)

    chat.press(texts.RELATORIO_XLSX)

    assert not [m for m in chat.received if isinstance(m, Image)]
    assert [d.name for d in chat.documents()] == [
        "ACME-Comercio-Ltda_2026-10_NFe_relatorio.pdf",
        "ACME-Comercio-Ltda_2026-10_NFe_relatorio.xlsx",
    ]


def test_danfes_do_mes_is_a_zip_of_pdfs_with_the_cancelled_watermarked(
    chat: Chat, acme: ClientCard, uow_factory: UnitOfWorkFactory
) -> None:
    specs = store_emitted(uow_factory, acme, 3, cancel=[2])
    open_report_kind(chat)

    chat.press(texts.DANFES_DO_MES)

    [document] = chat.documents()
    assert document.name == "ACME-Comercio-Ltda_2026-10_DANFEs_NFe.zip"
    assert document.caption == (
        "🧾 DANFEs — ACME Comércio Ltda — NF-e 10/2026: 3 PDFs (as canceladas levam a marca "
        "CANCELADA)."
    )
    members = unzip(document)
    assert set(members) == {f"DANFE_{s.chave()}.pdf" for s in specs}
    assert "CANCELADA" in pdf_text(members[f"DANFE_{specs[1].chave()}.pdf"])
    assert "CANCELADA" not in pdf_text(members[f"DANFE_{specs[0].chave()}.pdf"])


def test_danfces_of_nfce_are_printed_as_coupons(
    chat: Chat, acme: ClientCard, uow_factory: UnitOfWorkFactory
) -> None:
    specs = store_emitted(uow_factory, acme, 2, modelo="65")
    open_report_kind(chat, texts.NFCE)

    chat.press(texts.DANFES_DO_MES)

    [document] = chat.documents()
    assert document.name == "ACME-Comercio-Ltda_2026-10_DANFEs_NFCe.zip"
    assert set(unzip(document)) == {f"DANFCE_{s.chave()}.pdf" for s in specs}


def test_the_danfe_zip_is_split_above_the_channel_limit(
    chat: Chat, acme: ClientCard, uow_factory: UnitOfWorkFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_emitted(uow_factory, acme, 4)
    limit_uploads(chat, 9_000, monkeypatch)
    open_report_kind(chat)

    chat.press(texts.DANFES_DO_MES)

    documents = chat.documents()
    assert [d.name for d in documents] == [
        f"ACME-Comercio-Ltda_2026-10_DANFEs_NFe.part{n}.zip" for n in range(1, 5)
    ]
    assert sum(len(unzip(d)) for d in documents) == 4


def test_an_empty_month_says_so_and_stays_on_the_model_question(
    chat: Chat, acme: ClientCard
) -> None:
    open_report_kind(chat, texts.NFCE)

    assert chat.last_text().text.startswith(
        "Nenhuma NFC-e de ACME Comércio Ltda em 10/2026. Escolha o outro tipo ou volte."
    )
    assert step_of(chat) == ("relatorios", "modelo")


def test_another_gestors_client_gets_no_report(
    chat: Chat, acme: ClientCard, uow_factory: UnitOfWorkFactory
) -> None:
    other = make_office(uow_factory, 2)
    theirs = add_client(uow_factory, other.gestor, 2, name="Cliente Alheio Ltda")
    store_emitted(uow_factory, theirs, 2)
    store_emitted(uow_factory, acme, 2)
    open_report_kind(chat)
    with uow_factory() as uow:
        row = uow.session.get(ConversationState, chat.identity_key)
        assert row is not None
        row.data = {**row.data, "cid": theirs.id}
        uow.session.commit()

    chat.press(texts.RELATORIO_CSV)

    assert chat.documents() == []
    assert any(
        "Cliente não encontrado." in m.text for m in chat.received[-2:] if isinstance(m, Text)
    )


@pytest.mark.parametrize("formato", [texts.RELATORIO_CSV, texts.RELATORIO_XLSX])
def test_the_report_read_in_one_pass_is_byte_for_byte_the_report_of_the_whole_month(
    chat: Chat, acme: ClientCard, office: Office, uow_factory: UnitOfWorkFactory, formato: str
) -> None:
    """The job streams the month (totals and table filled as each note is read); the files
    are the ones rendered from every row held at once."""
    store_emitted(uow_factory, acme, 9, cancel=[2, 7])
    with time_machine.travel(NOW, tick=False):
        open_report_kind(chat)
        replies = chat.press(formato)
        chart, pdf, table = [m for m in replies if isinstance(m, Image | Document)]

        export = fiscal_exports.Export(
            acme.id, TipoNota.EMITIDA, Modelo.NFE, "2026-10", "NF-e 10/2026", "x"
        )
        linhas = list(fiscal_exports.report_lines(uow_factory(), office.gestor, export))
        cabecalho = Cabecalho(
            "ACME Comércio Ltda", format_tax_id(acme.documento), "2026-10", Modelo.NFE, NOW
        )
        drawn = render_report_chart(cabecalho, summarize(linhas))
        assert chart.data == drawn
        assert pdf.data == render_report_pdf(cabecalho, linhas, chart=drawn)
        if formato == texts.RELATORIO_CSV:
            assert table.data == render_csv(linhas)
        else:
            # openpyxl stamps each sheet with its temporary file's real mtime: the members
            assert _members(table.data) == _members(render_xlsx(cabecalho, linhas))
    assert len(linhas) == 9
    assert [linha.dh_emi for linha in linhas] == sorted(linha.dh_emi for linha in linhas)


def _members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}
