"""The archive holds only genuine notes, each in the month it says, through every way in.

One month of really signed notes from states west of Brasília (issued at 23:30 on the last day
of October, already November in São Paulo), a note cancelled in the next month, and the defects
met in the field (a value edited after signing, another company's certificate, a protocol of
another version). They go in through `import-xml`, the integration API and the ingest the chat
relies on; the chat's ZIP and report of October must hold exactly the genuine notes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from bot.app import App
from bot.cli import main
from domain.money import format_brl
from handlers import texts
from services.clients import ClientCard
from services.types import UnitOfWorkFactory
from storage.db import make_session_factory
from storage.models_fiscal import FiscalDocument
from storage.uow import UnitOfWorkFactory as SessionUnitOfWorkFactory
from tests.integration.fiscal_support import client_with_documento
from tests.support import Chat, Office, make_office
from tests.unit.fiscal_chat.chat_support import NOW, open_gerenciar, store, unzip
from tests.unit.fiscal_chat.factory import NotaSpec, cancelamento_xml, nfe_proc_xml
from web.app import create_app

EMITENTE = "11222333000181"
NAME = "ACME Comércio Ltda"


def tz(hours: int) -> timezone:
    return timezone(timedelta(hours=hours))


MANAUS = NotaSpec(1, datetime(2026, 10, 31, 23, 30, tzinfo=tz(-4)), c_uf=13, cnf=10000001)
CUIABA = NotaSpec(2, datetime(2026, 10, 31, 23, 30, tzinfo=tz(-4)), c_uf=51, cnf=10000002)
RIO_BRANCO = NotaSpec(3, datetime(2026, 10, 31, 23, 30, tzinfo=tz(-5)), c_uf=12, cnf=10000003)
CANCELLED = NotaSpec(4, datetime(2026, 10, 15, 9, 0, tzinfo=tz(-3)), cnf=10000004)
CANCELLED_ON = datetime(2026, 11, 3, 10, 0, tzinfo=tz(-3))  # the next month
WITH_BOM = NotaSpec(5, datetime(2026, 10, 10, 8, 0, tzinfo=tz(-3)), cnf=10000005)
BLANK_LINES = NotaSpec(6, datetime(2026, 10, 11, 8, 0, tzinfo=tz(-3)), cnf=10000006)
GENUINE = (MANAUS, CUIABA, RIO_BRANCO, CANCELLED, WITH_BOM, BLANK_LINES)
AUTHORIZED = (MANAUS, CUIABA, RIO_BRANCO, WITH_BOM, BLANK_LINES)
SUPPLIER = "45723174000110"
# a supplier's note to the client, cancelled by the supplier
SUPPLIER_NOTE = NotaSpec(
    20,
    datetime(2026, 10, 12, 9, 0, tzinfo=tz(-3)),
    emitente_cnpj=SUPPLIER,
    emitente_nome="FORNECEDOR DE ACO LTDA",
    dest_cnpj=EMITENTE,
    cnf=10000020,
)


def good_files() -> list[tuple[str, bytes]]:
    """The genuine notes, two of them as some ERPs save them (a BOM; blank lines first)."""
    files = [(f"{spec.chave()}.xml", nfe_proc_xml(spec)) for spec in GENUINE]
    files[4] = (files[4][0], b"\xef\xbb\xbf" + files[4][1])
    files[5] = (files[5][0], b"\r\n\n   " + files[5][1])
    files.append(("cancelamento.xml", cancelamento_xml(CANCELLED, when=CANCELLED_ON)))
    files.append(("fornecedor.xml", nfe_proc_xml(SUPPLIER_NOTE)))
    files.append(("fornecedor-cancelamento.xml", cancelamento_xml(SUPPLIER_NOTE)))
    return files


def latin1_without_declaration() -> bytes:
    """A note re-saved by an editor as ISO-8859-1, its declaration dropped."""
    data = nfe_proc_xml(NotaSpec(13, datetime(2026, 10, 20, 10, 0, tzinfo=tz(-3)), cnf=10000013))
    body = data.split(b"?>", 1)[1].decode()
    return body.replace("Sao Paulo", "São Paulo").encode("latin-1")


def bad_files() -> dict[str, tuple[bytes, str]]:
    """name → (XML, words of the reason)."""
    base = datetime(2026, 10, 20, 10, 0, tzinfo=tz(-3))
    tampered = nfe_proc_xml(NotaSpec(10, base, cnf=10000010))
    return {
        "latin1.xml": (latin1_without_declaration(), "não está em UTF-8"),
        "vnf-editado.xml": (
            tampered.replace(b"<vNF>150.00</vNF>", b"<vNF>15000.00</vNF>"),
            "a assinatura digital não confere: o XML foi alterado depois de assinado",
        ),
        "outro-cnpj.xml": (
            nfe_proc_xml(NotaSpec(11, base, cnf=10000011, assinante_cnpj="45723174000110")),
            "assinada com o certificado de outro CNPJ",
        ),
        "outra-versao.xml": (
            nfe_proc_xml(NotaSpec(12, base, cnf=10000012, dig_val="b3V0cmEgdmVyc2Fv")),
            "o protocolo de autorização é de outra versão da nota",
        ),
    }


def stored_months(engine: Engine) -> dict[int, tuple[str, str]]:
    with make_session_factory(engine)() as session:
        rows = session.execute(
            select(FiscalDocument.numero, FiscalDocument.competencia, FiscalDocument.situacao)
        ).all()
    return {numero: (competencia, situacao) for numero, competencia, situacao in rows}


EXPECTED_MONTHS = {
    1: ("2026-10", "autorizada"),
    2: ("2026-10", "autorizada"),
    3: ("2026-10", "autorizada"),
    4: ("2026-10", "cancelada"),
    5: ("2026-10", "autorizada"),
    6: ("2026-10", "autorizada"),
    20: ("2026-10", "cancelada"),
}


def test_import_xml_stores_the_genuine_notes_in_their_own_month_and_names_each_refusal(
    db_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    uows = make_uows(db_engine)
    client_with_documento(uows, make_office(uows, 1).gestor, EMITENTE, NAME)
    folder = tmp_path / "xmls"
    folder.mkdir()
    for name, data in good_files():
        (folder / name).write_bytes(data)
    for name, (data, _) in bad_files().items():
        (folder / name).write_bytes(data)
    runner = CliRunner(env={"DATABASE_URL": db_engine.url.render_as_string(hide_password=False)})

    result = runner.invoke(main, ["import-xml", "--client", EMITENTE, str(folder)])

    assert result.exit_code == 1  # some files were refused (--allow-refused would say 0)
    output = " ".join(result.output.split())
    for name, (_, words) in bad_files().items():
        assert name in output
        assert words in output
    assert stored_months(db_engine) == EXPECTED_MONTHS


def test_the_api_stores_the_genuine_notes_and_refuses_each_defect_in_portuguese(
    app: App, db_engine: Engine
) -> None:
    api = TestClient(create_app(app.uow_factory, routers=app.web_routers()))
    card = client_with_documento(
        app.uow_factory, make_office(app.uow_factory, 1).gestor, EMITENTE, NAME
    )
    headers = {
        "Authorization": f"Bearer {card.integration_key}",
        "Content-Type": "application/xml",
    }

    for name, data in good_files():
        sent = api.post("/api/v1/documentos", content=data, headers=headers)
        # a cancellation changes a stored note (200); a new note is created (201)
        assert sent.status_code == (200 if name.endswith("cancelamento.xml") else 201)
    for data, words in bad_files().values():
        answer = api.post("/api/v1/documentos", content=data, headers=headers)
        assert answer.status_code == 422
        assert words in answer.text

    assert stored_months(db_engine) == EXPECTED_MONTHS
    listed = api.get(
        "/api/v1/documentos",
        params={"competencia": "2026-10", "modelo": "55"},
        headers={"Authorization": f"Bearer {card.integration_key}"},
    ).json()
    assert {d["chave"] for d in listed["documentos"]} == {s.chave() for s in GENUINE}
    manaus = next(d for d in listed["documentos"] if d["chave"] == MANAUS.chave())
    assert manaus["emitida_em"].startswith("2026-10-31T23:30:00-04:00")


@pytest.fixture
def clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=True):  # "Mês anterior" is October 2026
        yield


@pytest.fixture
def acme(uow_factory: UnitOfWorkFactory, chat: Chat, clock: None) -> ClientCard:
    office: Office = make_office(uow_factory, 1, identity_key=chat.identity_key)
    card = client_with_documento(uow_factory, office.gestor, EMITENTE, NAME)
    store(uow_factory, card, good_files())
    return card


def test_the_months_zip_holds_the_late_western_notes_and_the_next_months_cancellation(
    chat: Chat, acme: ClientCard
) -> None:
    open_gerenciar(chat, NAME)
    chat.press(texts.XMLS_EMITIDOS)
    chat.press(texts.MES_ANTERIOR)

    chat.press(texts.NFE)

    [document] = chat.documents()
    assert document.name.endswith("_2026-10_NFe.zip")
    assert set(unzip(document)) == {f"{s.chave()}-nfe.xml" for s in GENUINE} | {
        f"{CANCELLED.chave()}-cancelamento.xml"
    }


def test_the_months_report_counts_them_on_their_own_day_and_the_cancelled_one_as_cancelled(
    chat: Chat, acme: ClientCard
) -> None:
    open_gerenciar(chat, NAME)
    chat.press(texts.RELATORIOS)
    chat.press(texts.MES_ANTERIOR)
    chat.press(texts.NFE)
    total = sum((s.v_nf for s in AUTHORIZED), start=Decimal(0))
    assert f"Valor total das autorizadas (soma do vNF): {format_brl(total)}" in (
        chat.last_text().text
    )

    chat.press(texts.RELATORIO_CSV)

    _, table = chat.documents()
    rows = list(csv.reader(io.StringIO(table.data.decode("utf-8-sig")), delimiter=";"))[1:]
    assert rows[-1][0] == "TOTAL"  # after the notes, one totals line a program skips
    rows = rows[:-1]
    by_number = {int(row[3]): row for row in rows}
    assert set(by_number) == {1, 2, 3, 4, 5, 6}
    assert by_number[1][4] == "31/10/2026 23:30:00"  # the note's own clock, not São Paulo's
    assert by_number[3][4] == "31/10/2026 23:30:00"
    assert by_number[4][9] == "Cancelada"


def make_uows(engine: Engine) -> UnitOfWorkFactory:
    return SessionUnitOfWorkFactory(make_session_factory(engine))


def test_the_cancelled_supplier_note_is_not_pending_and_cannot_be_acknowledged(
    chat: Chat, acme: ClientCard
) -> None:
    open_gerenciar(chat, NAME)

    chat.press(texts.XMLS_FORNECEDORES)

    overview = chat.last_text().text
    assert "Pendentes: 0" in overview
    assert "❌ Canceladas pelo emitente (nada a reconhecer): 1" in overview
    chat.press(texts.PENDENTES)
    assert "❌ cancelada" in chat.last_text().text
    chat.press(next(label for label in chat.labels() if label.startswith("❌")))
    assert "Reconhecer" not in chat.labels()
