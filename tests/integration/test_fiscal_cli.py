"""`revendabot import-xml`: a folder and a ZIP, a progress bar, a final summary with reasons."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, func, select

from bot.cli import main
from services.types import UnitOfWorkFactory
from storage.db import make_session_factory
from storage.models_fiscal import FiscalDocument
from tests.integration.fiscal_support import client_with_documento, zip_of
from tests.support import make_office
from tests.unit.fiscal.samples import EMITENTE_CNPJ, Ide, nfe_proc, proc_evento


@pytest.fixture
def runner(db_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(tmp_path)  # no stray .env is read
    return CliRunner(env={"DATABASE_URL": db_engine.url.render_as_string(hide_password=False)})


@pytest.fixture
def uows(db_engine: Engine) -> UnitOfWorkFactory:
    return UnitOfWorkFactory(make_session_factory(db_engine))


def stored_count(uows: UnitOfWorkFactory) -> int:
    uow = uows()
    with uow:
        return uow.session.scalar(select(func.count()).select_from(FiscalDocument)) or 0


def test_import_xml_loads_a_folder_and_a_zip_and_prints_the_summary(
    runner: CliRunner, uows: UnitOfWorkFactory, tmp_path: Path
) -> None:
    office = make_office(uows, 1)
    client_with_documento(uows, office.gestor, EMITENTE_CNPJ, "Emitente Ltda")
    folder = tmp_path / "xmls" / "outubro"
    folder.mkdir(parents=True)
    for n in (1, 2, 3):
        (folder / f"nota{n}.xml").write_bytes(nfe_proc(Ide(nnf=str(n))))
    (folder / "DANFE.pdf").write_bytes(b"%PDF-1.4")  # not picked from a folder
    (folder / "copia.xml").write_bytes(nfe_proc(Ide(nnf="1")))
    (folder / "estragado.xml").write_bytes(b"%PDF-1.4 renomeado")
    lote = tmp_path / "lote.zip"
    lote.write_bytes(
        zip_of({"n4.xml": nfe_proc(Ide(nnf="4")), "c1.xml": proc_evento(Ide(nnf="1").chave())})
    )

    result = runner.invoke(
        main,
        ["import-xml", "--client", "11.222.333/0001-81", str(tmp_path / "xmls"), str(lote)],
        catch_exceptions=False,
    )

    assert result.exit_code == 0, result.output
    assert "Cliente: Emitente Ltda (11.222.333/0001-81)" in result.stdout
    assert "Carregados: 4\n" in result.stdout
    assert "Duplicados: 1\n" in result.stdout
    assert "Cancelamentos registrados: 1\n" in result.stdout
    assert "Recusados: 1\n" in result.stdout
    assert f"  - {folder / 'estragado.xml'}: O arquivo é um PDF" in result.stdout
    assert "Importando XMLs" in result.stderr
    assert stored_count(uows) == 4


def test_import_xml_reports_a_refused_zip_and_goes_on(
    runner: CliRunner, uows: UnitOfWorkFactory, tmp_path: Path
) -> None:
    office = make_office(uows, 1)
    client_with_documento(uows, office.gestor, EMITENTE_CNPJ, "Emitente Ltda")
    (tmp_path / "vazio.zip").write_bytes(zip_of({}))
    (tmp_path / "nota.xml").write_bytes(nfe_proc())

    paths = [str(tmp_path / "vazio.zip"), str(tmp_path / "nota.xml")]

    result = runner.invoke(
        main, ["import-xml", "--client", EMITENTE_CNPJ, *paths], catch_exceptions=False
    )

    assert result.exit_code == 0, result.output
    assert "Carregados: 1\n" in result.stdout
    assert "vazio.zip: O ZIP está vazio" in result.stdout


def test_import_xml_for_an_unknown_client_fails_with_a_message(
    runner: CliRunner, tmp_path: Path
) -> None:
    (tmp_path / "nota.xml").write_bytes(nfe_proc())

    result = runner.invoke(main, ["import-xml", "--client", EMITENTE_CNPJ, str(tmp_path)])

    assert result.exit_code == 1
    assert "Nenhum cliente com o CNPJ/CPF" in result.stderr
