"""The operator's `revendabot` commands, run in-process with click's runner against the test
database (SQLite, and PostgreSQL when TEST_DATABASE_URL is set)."""

from __future__ import annotations

import json
import re
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, func, select

from bot.cli import main
from bot.demo import CONSOLE_CONTADOR, CONSOLE_GESTOR, DEMO_CNPJ
from domain.clients import Role
from services import access, catalog, clients
from services.types import UnitOfWorkFactory
from storage.db import make_engine, make_session_factory
from storage.models import Client, Invite
from tests.integration.test_storage import seed_catalog_restored  # noqa: F401
from tests.support import cnpj

CODE = r"[2-9A-HJ-NP-Z]{12}"


@pytest.fixture
def run(db_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(tmp_path)  # no stray .env is read, no ./data is created
    url = db_engine.url.render_as_string(hide_password=False)
    return CliRunner(env={"DATABASE_URL": url, "TELEGRAM_BOT_USERNAME": "RevendaTesteBot"})


@pytest.fixture
def uows(db_engine: Engine) -> UnitOfWorkFactory:
    return UnitOfWorkFactory(make_session_factory(db_engine))


def invoke(runner: CliRunner, *args: str) -> Result:
    return runner.invoke(main, list(args), catch_exceptions=False)


def _count(uows: UnitOfWorkFactory, model: type[object]) -> int:
    uow = uows()
    with uow:
        return uow.session.scalar(select(func.count()).select_from(model)) or 0


def test_db_upgrade_reports_the_database_is_up_to_date(run: CliRunner) -> None:
    result = invoke(run, "db", "upgrade")

    assert result.exit_code == 0
    assert result.stdout == "Banco de dados atualizado.\n"


def test_db_upgrade_creates_a_new_sqlite_database_from_nothing(
    run: CliRunner, tmp_path: Path
) -> None:
    target = tmp_path / "novo" / "banco.db"

    result = run.invoke(main, ["db", "upgrade"], env={"DATABASE_URL": f"sqlite:///{target}"})

    assert result.exit_code == 0
    assert target.is_file()
    engine = make_engine(f"sqlite:///{target}")
    uow = UnitOfWorkFactory(make_session_factory(engine))
    assert [s.name for s in catalog.list_softwares(uow())] == ["FazNota", "FazNota PDV"]
    engine.dispose()


def test_create_gestor_prints_an_invite_code_and_a_telegram_deep_link(
    run: CliRunner, uows: UnitOfWorkFactory
) -> None:
    result = invoke(
        run,
        "admin",
        "create-gestor",
        "--cnpj",
        "11.222.333/0001-81",
        "--razao-social",
        "Contábil Alfa Ltda",
        "--email",
        "alfa@contabil.com.br",
    )

    assert result.exit_code == 0, result.output
    code = re.search(rf"Código de convite .*: ({CODE})$", result.stdout, re.MULTILINE)
    assert code is not None
    assert f"https://t.me/RevendaTesteBot?start={code[1]}" in result.stdout
    assert "Papel: gestor" in result.stdout
    principal = access.redeem_invite(
        uows(),
        code=code[1],
        identity_key="tg:5001",
        channel="tg",
        address="5001",
        display_name=None,
    )
    assert (principal.gestor_name, principal.role) == ("Contábil Alfa Ltda", Role.GESTOR)


def test_create_gestor_with_a_bad_cnpj_fails_in_portuguese_and_stores_nothing(
    run: CliRunner, uows: UnitOfWorkFactory
) -> None:
    result = run.invoke(
        main,
        [
            "admin",
            "create-gestor",
            "--cnpj",
            "11.222.333/0001-00",
            "--razao-social",
            "Contábil Alfa Ltda",
            "--email",
            "alfa@contabil.com.br",
        ],
    )

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("Erro: Este CNPJ não é válido")
    uow = uows()
    with uow:
        assert uow.gestores.count() == 0
    assert _count(uows, Invite) == 0


def test_create_gestor_twice_with_the_same_cnpj_is_refused(
    run: CliRunner, uows: UnitOfWorkFactory
) -> None:
    args = ["admin", "create-gestor", "--cnpj", cnpj(1), "--razao-social", "Um Ltda"]
    invoke(run, *args, "--email", "um@exemplo.com.br")

    again = run.invoke(main, [*args, "--email", "outro@exemplo.com.br"])

    assert again.exit_code == 1
    assert "Erro: Já existe um gestor com o CNPJ" in again.stderr
    assert _count(uows, Invite) == 1


def test_admin_invite_issues_a_contador_invite_for_the_gestor(
    run: CliRunner, uows: UnitOfWorkFactory
) -> None:
    access.create_gestor(
        uows(), cnpj=cnpj(2), razao_social="Escritório Dois", email="dois@exemplo.com.br"
    )

    result = invoke(run, "admin", "invite", "--gestor", cnpj(2), "--role", "contador")

    assert result.exit_code == 0, result.output
    assert "Papel: contador" in result.stdout
    code = re.search(rf"\?start=({CODE})$", result.stdout, re.MULTILINE)
    assert code is not None
    principal = access.redeem_invite(
        uows(), code=code[1], identity_key="tg:6", channel="tg", address="6", display_name=None
    )
    assert principal.role is Role.CONTADOR


def _expiry_line(stdout: str) -> str:
    line = re.search(r"^Código de convite \(uso único, válido até (.*)\): ", stdout, re.MULTILINE)
    assert line is not None, stdout
    return line[1]


def _stored_expiry(uows: UnitOfWorkFactory) -> datetime:
    uow = uows()
    with uow:
        latest = uow.session.scalars(select(Invite.expires_at).order_by(Invite.id.desc())).first()
    assert latest is not None
    return latest


@pytest.mark.parametrize(
    "args",
    [
        ("create-gestor", "--cnpj", cnpj(4), "--razao-social", "Quatro", "--email", "q@q.com.br"),
        ("invite", "--gestor", cnpj(5), "--role", "contador"),
    ],
)
def test_the_invite_expiry_is_printed_in_brasilia_time_like_the_bot_shows_dates(
    run: CliRunner, uows: UnitOfWorkFactory, args: tuple[str, ...]
) -> None:
    access.create_gestor(uows(), cnpj=cnpj(5), razao_social="Cinco", email="c@c.com.br")

    result = invoke(run, "admin", *args)

    assert result.exit_code == 0, result.output
    local = _stored_expiry(uows).astimezone(ZoneInfo("America/Sao_Paulo"))
    assert _expiry_line(result.stdout) == f"{local:%d/%m/%Y %H:%M} (horário de Brasília)"
    assert "UTC" not in result.stdout


def test_admin_invite_for_an_unknown_gestor_fails(run: CliRunner) -> None:
    result = run.invoke(main, ["admin", "invite", "--gestor", cnpj(3), "--role", "gestor"])

    assert result.exit_code == 1
    assert "Erro: Nenhum gestor com o CNPJ" in result.stderr


def test_admin_invite_refuses_an_unknown_role(run: CliRunner) -> None:
    result = run.invoke(main, ["admin", "invite", "--gestor", cnpj(3), "--role", "chefe"])

    assert result.exit_code == 2
    assert "chefe" in result.stderr


def test_demo_creates_about_thirty_clients_once(run: CliRunner, uows: UnitOfWorkFactory) -> None:
    first = invoke(run, "demo")
    second = invoke(run, "demo")

    assert first.exit_code == second.exit_code == 0
    assert (
        "Demonstração criada: Contabilidade Exemplo Ltda com 30 clientes e 78 notas fiscais."
        in first.stdout
    )
    assert "1 lembrete(s) de certificado esperando no console." in first.stdout
    assert "revendabot console --as demo" in first.stdout
    assert "revendabot console --as contador" in first.stdout
    assert "A demonstração já existe" in second.stdout
    assert _count(uows, Client) == 30
    gestor = access.resolve_principal(uows(), CONSOLE_GESTOR)
    contador = access.resolve_principal(uows(), CONSOLE_CONTADOR)
    assert gestor is not None
    assert contador is not None
    assert (gestor.role, contador.role) == (Role.GESTOR, Role.CONTADOR)
    uow = uows()
    with uow:
        office = uow.gestores.by_cnpj(DEMO_CNPJ)
        assert office is not None
        assert office.id == gestor.gestor_id == contador.gestor_id


def test_a_demo_that_fails_half_way_leaves_nothing_and_can_be_run_again(
    run: CliRunner, uows: UnitOfWorkFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    register = clients.register_client
    calls: list[int] = []

    def fails_on_the_fifth(*args: Any, **kwargs: Any) -> clients.ClientCard:
        calls.append(1)
        if len(calls) == 5:
            raise RuntimeError("interrupted")
        return register(*args, **kwargs)

    monkeypatch.setattr(clients, "register_client", fails_on_the_fifth)
    failed = run.invoke(main, ["demo"])
    monkeypatch.setattr(clients, "register_client", register)
    again = invoke(run, "demo")

    assert failed.exit_code != 0
    assert "Demonstração criada" in again.stdout
    assert _count(uows, Client) == 30


@pytest.mark.usefixtures("seed_catalog_restored")
def test_catalog_load_reads_a_custom_file(
    run: CliRunner, uows: UnitOfWorkFactory, tmp_path: Path
) -> None:
    path = tmp_path / "catalogo.json"
    path.write_text(
        json.dumps(
            {
                "softwares": [
                    {
                        "code": "faznota",
                        "name": "FazNota",
                        "plans": [
                            {"code": "bronze", "name": "Bronze", "monthly_price": "84.90"},
                            {"code": "prata", "name": "Prata", "monthly_price": "119.90"},
                            {"code": "ouro", "name": "Ouro", "monthly_price": "179.90"},
                            {"code": "diamante", "name": "Diamante", "monthly_price": "299.90"},
                            {"code": "platina", "name": "Platina", "monthly_price": "399.00"},
                        ],
                    }
                ]
            }
        ),
        encoding="utf-8",
    )

    result = invoke(run, "catalog", "load", str(path))
    again = invoke(run, "catalog", "load", str(path))

    assert result.exit_code == again.exit_code == 0
    assert result.stdout == "Catálogo carregado: 1 software(s), 5 plano(s).\n"
    faznota = next(s for s in catalog.list_softwares(uows()) if s.name == "FazNota")
    assert [(p.name, p.list_price) for p in faznota.plans] == [
        ("Bronze", Decimal("84.90")),
        ("Prata", Decimal("119.90")),
        ("Ouro", Decimal("179.90")),
        ("Diamante", Decimal("299.90")),
        ("Platina", Decimal("399.00")),
    ]


def test_catalog_load_without_a_file_reloads_the_seed_catalog(
    run: CliRunner, uows: UnitOfWorkFactory
) -> None:
    before = catalog.list_softwares(uows())

    result = invoke(run, "catalog", "load")

    assert result.exit_code == 0
    assert result.stdout == "Catálogo carregado: 2 software(s), 6 plano(s).\n"
    assert catalog.list_softwares(uows()) == before


def test_catalog_load_of_a_missing_file_is_refused(run: CliRunner, tmp_path: Path) -> None:
    result = run.invoke(main, ["catalog", "load", str(tmp_path / "nada.json")])

    assert result.exit_code == 2
    assert "nada.json" in result.stderr
