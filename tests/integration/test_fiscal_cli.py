"""`revendabot import-xml`: a folder and a ZIP, a progress bar, a final summary with reasons,
and an exit code a script can trust (refusals and "nothing loaded" are failures)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

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
from tests.unit.fiscal_chat.factory import NotaSpec, nfe_proc_xml

OCTOBER = datetime(2026, 10, 5, 10, 30, tzinfo=ZoneInfo("America/Sao_Paulo"))


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
        [
            "import-xml",
            "--client",
            "11.222.333/0001-81",
            "--allow-refused",
            str(tmp_path / "xmls"),
            str(lote),
        ],
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


def test_import_xml_reports_a_refused_zip_goes_on_and_fails_the_exit_code(
    runner: CliRunner, uows: UnitOfWorkFactory, tmp_path: Path
) -> None:
    office = make_office(uows, 1)
    client_with_documento(uows, office.gestor, EMITENTE_CNPJ, "Emitente Ltda")
    (tmp_path / "vazio.zip").write_bytes(zip_of({}))
    (tmp_path / "nota.xml").write_bytes(nfe_proc_xml(NotaSpec(numero=1, dh_emi=OCTOBER)))

    paths = [str(tmp_path / "vazio.zip"), str(tmp_path / "nota.xml")]

    result = runner.invoke(
        main, ["import-xml", "--client", EMITENTE_CNPJ, *paths], catch_exceptions=False
    )

    assert result.exit_code == 1, result.output
    assert "Carregados: 1\n" in result.stdout
    assert "Recusados: 1\n" in result.stdout
    assert "vazio.zip: O ZIP está vazio" in result.stdout
    assert "\nErro: 1 arquivo recusado (os motivos estão acima)." in result.stderr
    assert "--allow-refused" in result.stderr
    assert stored_count(uows) == 1  # what was good stays loaded


def test_allow_refused_keeps_exit_zero_when_something_loaded(
    runner: CliRunner, uows: UnitOfWorkFactory, tmp_path: Path
) -> None:
    office = make_office(uows, 1)
    client_with_documento(uows, office.gestor, EMITENTE_CNPJ, "Emitente Ltda")
    (tmp_path / "nota.xml").write_bytes(nfe_proc_xml(NotaSpec(numero=1, dh_emi=OCTOBER)))
    (tmp_path / "danfe.xml").write_bytes(b"%PDF-1.4 renomeado")
    (tmp_path / "outro.xml").write_bytes(b"<nao-fecha>")

    result = runner.invoke(
        main,
        ["import-xml", "--client", EMITENTE_CNPJ, "--allow-refused", str(tmp_path)],
        catch_exceptions=False,
    )

    assert result.exit_code == 0, result.output
    assert "Recusados: 2\n" in result.stdout
    assert f"  - {tmp_path / 'danfe.xml'}: O arquivo é um PDF" in result.stdout
    assert f"  - {tmp_path / 'outro.xml'}: O arquivo não é um XML de NF-e válido" in result.stdout
    assert result.stderr.count("Erro") == 0


@pytest.mark.parametrize("allow_refused", [False, True])
def test_nothing_loaded_is_a_failure_even_with_allow_refused(
    runner: CliRunner, uows: UnitOfWorkFactory, tmp_path: Path, allow_refused: bool
) -> None:
    office = make_office(uows, 1)
    client_with_documento(uows, office.gestor, EMITENTE_CNPJ, "Emitente Ltda")
    # Latin-1 files without a declaration: each refused with the encoding as its reason.
    for n in (1, 2):
        xml = f'<nfeProc xmlns="http://www.portalfiscal.inf.br/nfe"><xNome>AÇÚCAR {n}</xNome>'
        (tmp_path / f"latin1-{n}.xml").write_bytes(xml.encode("latin-1"))
    flags = ["--allow-refused"] if allow_refused else []

    result = runner.invoke(main, ["import-xml", "--client", EMITENTE_CNPJ, *flags, str(tmp_path)])

    assert result.exit_code == 1, result.output
    assert "Carregados: 0\n" in result.stdout
    assert "Recusados: 2\n" in result.stdout
    for n in (1, 2):
        assert f"  - {tmp_path / f'latin1-{n}.xml'}: O arquivo não está em UTF-8" in result.stdout
    assert (
        "\nErro: nenhum XML foi carregado: 2 arquivos recusados (os motivos estão acima).\n"
    ) in result.stderr
    assert stored_count(uows) == 0


def test_a_folder_of_only_non_xml_files_in_a_zip_is_a_failure(
    runner: CliRunner, uows: UnitOfWorkFactory, tmp_path: Path
) -> None:
    office = make_office(uows, 1)
    client_with_documento(uows, office.gestor, EMITENTE_CNPJ, "Emitente Ltda")
    (tmp_path / "danfes.zip").write_bytes(zip_of({"a.pdf": b"%PDF-1.4", "b.pdf": b"%PDF-1.4"}))

    result = runner.invoke(
        main, ["import-xml", "--client", EMITENTE_CNPJ, "--allow-refused", str(tmp_path)]
    )

    assert result.exit_code == 1, result.output
    assert "Ignorados (não são XML): 2\n" in result.stdout
    assert "Erro: nenhum XML foi carregado" in result.stderr


def test_importing_the_same_folder_again_is_not_a_failure(
    runner: CliRunner, uows: UnitOfWorkFactory, tmp_path: Path
) -> None:
    office = make_office(uows, 1)
    client_with_documento(uows, office.gestor, EMITENTE_CNPJ, "Emitente Ltda")
    for n in (1, 2):
        spec = NotaSpec(numero=n, dh_emi=OCTOBER)
        (tmp_path / f"nota{n}.xml").write_bytes(nfe_proc_xml(spec))
    command = ["import-xml", "--client", EMITENTE_CNPJ, str(tmp_path)]
    assert runner.invoke(main, command).exit_code == 0

    again = runner.invoke(main, command)

    assert again.exit_code == 0, again.output
    assert "Carregados: 0\nDuplicados: 2\n" in again.stdout
    assert stored_count(uows) == 2


def test_import_xml_for_an_unknown_client_fails_with_a_message(
    runner: CliRunner, tmp_path: Path
) -> None:
    (tmp_path / "nota.xml").write_bytes(nfe_proc())

    result = runner.invoke(main, ["import-xml", "--client", EMITENTE_CNPJ, str(tmp_path)])

    assert result.exit_code == 1
    assert "Nenhum cliente com o CNPJ/CPF" in result.stderr
