"""`revendabot billing close|paid` and the payment gateway's signed callback."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from click.testing import CliRunner, Result
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from bot.app import App
from bot.cli import main
from domain.clients import ContractStatus
from services.types import UnitOfWorkFactory
from storage.models import Notice
from tests.support import make_office
from tests.unit.billing_service.support import client_in, faturas_of, make_fatura
from web.app import create_app
from web.payments import payments_router, signature

SECRET = "segredo-do-gateway-123"


@pytest.fixture
def run(db_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    url = db_engine.url.render_as_string(hide_password=False)
    return CliRunner(env={"DATABASE_URL": url})


def invoke(runner: CliRunner, *args: str) -> Result:
    return runner.invoke(main, list(args), catch_exceptions=False)


def test_billing_close_creates_the_faturas_and_says_so(
    run: CliRunner, uow_factory: UnitOfWorkFactory
) -> None:
    office = make_office(uow_factory, 1)
    client_in(uow_factory, office.gestor, 1, status=ContractStatus.EFETIVADO, plan="Ouro")
    client_in(uow_factory, office.gestor, 2, status=ContractStatus.TESTE)

    with time_machine.travel(datetime(2026, 11, 1, 12, tzinfo=UTC), tick=False):
        first = invoke(run, "billing", "close", "--competencia", "2026-10")
        again = invoke(run, "billing", "close", "--competencia", "2026-10")

    assert first.exit_code == 0
    assert first.stdout == (
        "Competência 2026-10: 1 fatura(s) criada(s) (R$ 89,95), 0 já existia(m), "
        "0 gestor(es) sem nada a cobrar.\n"
    )
    assert again.stdout == (
        "Competência 2026-10: 0 fatura(s) criada(s) (R$ 0,00), 1 já existia(m), "
        "0 gestor(es) sem nada a cobrar.\n"
    )
    [fatura] = faturas_of(uow_factory, office.gestor.gestor_id)
    assert (fatura.total, fatura.due_date.isoformat()) == (Decimal("89.95"), "2026-11-10")


def test_billing_close_without_competencia_closes_the_previous_month(
    run: CliRunner, uow_factory: UnitOfWorkFactory
) -> None:
    office = make_office(uow_factory, 1)
    client_in(uow_factory, office.gestor, 1, status=ContractStatus.EFETIVADO)

    with time_machine.travel(datetime(2026, 12, 1, 12, tzinfo=UTC), tick=False):
        result = invoke(run, "billing", "close")

    assert result.stdout.startswith("Competência 2026-11: 1 fatura(s) criada(s)")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("10/2026", "Erro: Competência “10/2026” inválida: use AAAA-MM, por exemplo 2026-10.\n"),
        ("2030-01", "Erro: A competência 2030-01 ainda não começou: não há o que fechar.\n"),
    ],
)
def test_billing_close_refuses_a_bad_competencia(run: CliRunner, value: str, message: str) -> None:
    result = invoke(run, "billing", "close", "--competencia", value)

    assert result.exit_code == 1
    assert result.stderr == message


def test_billing_paid_marks_the_fatura_once(
    run: CliRunner, uow_factory: UnitOfWorkFactory
) -> None:
    office = make_office(uow_factory, 1)
    fatura = make_fatura(uow_factory, office.gestor)

    first = invoke(run, "billing", "paid", str(fatura.id))
    again = invoke(run, "billing", "paid", str(fatura.id))

    assert first.stdout == f"Fatura {fatura.id} (2026-10, R$ 39,95): marcada como paga.\n"
    assert again.stdout == f"Fatura {fatura.id} (2026-10, R$ 39,95): já estava paga; nada mudou.\n"
    [stored] = faturas_of(uow_factory, office.gestor.gestor_id)
    assert (stored.status, stored.paid_via) == ("paga", "operador")
    with uow_factory() as uow:
        kinds = [n.kind for n in uow.session.query(Notice).order_by(Notice.id)]
    assert kinds.count("fatura.paga") == 1


def test_billing_paid_of_an_unknown_fatura_fails(run: CliRunner) -> None:
    result = invoke(run, "billing", "paid", "999")

    assert result.exit_code == 1
    assert result.stderr == "Erro: Fatura não encontrada.\n"


@pytest.fixture
def api(app: App) -> TestClient:
    return TestClient(
        create_app(app.uow_factory, routers=[payments_router(app.uow_factory, SECRET)])
    )


def post(api: TestClient, body: dict[str, object], *, secret: str = SECRET) -> object:
    raw = json.dumps(body).encode()
    return api.post(
        "/payments/callback",
        content=raw,
        headers={"X-Signature": signature(secret, raw), "Content-Type": "application/json"},
    )


def test_a_signed_callback_marks_the_fatura_paid(api: TestClient, app: App) -> None:
    office = make_office(app.uow_factory, 1)
    fatura = make_fatura(app.uow_factory, office.gestor)

    response = post(api, {"nosso_numero": f"{fatura.id:08d}", "valor": "39.95"})
    assert response.status_code == 404  # type: ignore[attr-defined]  # no boleto yet
    response = post(api, {"fatura_id": fatura.id, "valor": "39.95"})

    assert response.status_code == 200  # type: ignore[attr-defined]
    assert response.json() == {  # type: ignore[attr-defined]
        "fatura_id": fatura.id,
        "competencia": "2026-10",
        "status": "paga",
        "newly_paid": True,
    }
    [stored] = faturas_of(app.uow_factory, office.gestor.gestor_id)
    assert (stored.status, stored.paid_via) == ("paga", "gateway")
    assert post(api, {"fatura_id": fatura.id}).json()["newly_paid"] is False  # type: ignore[attr-defined]


def test_a_callback_with_a_bad_signature_or_another_amount_changes_nothing(
    api: TestClient, app: App
) -> None:
    office = make_office(app.uow_factory, 1)
    fatura = make_fatura(app.uow_factory, office.gestor)

    forged = post(api, {"fatura_id": fatura.id}, secret="outro")
    unsigned = api.post("/payments/callback", json={"fatura_id": fatura.id})
    wrong_amount = post(api, {"fatura_id": fatura.id, "valor": "1.00"})
    garbage = post(api, {"fatura": "x"})

    assert forged.status_code == unsigned.status_code == 401  # type: ignore[attr-defined]
    assert forged.json() == {"detail": "Assinatura ausente ou inválida."}  # type: ignore[attr-defined]
    assert wrong_amount.status_code == 409  # type: ignore[attr-defined]
    assert garbage.status_code == 400  # type: ignore[attr-defined]
    [stored] = faturas_of(app.uow_factory, office.gestor.gestor_id)
    assert stored.status == "pendente"


def test_without_a_configured_secret_every_callback_is_refused(app: App) -> None:
    office = make_office(app.uow_factory, 1)
    fatura = make_fatura(app.uow_factory, office.gestor)
    client = TestClient(create_app(app.uow_factory, routers=app.web_routers()))
    raw = json.dumps({"fatura_id": fatura.id}).encode()

    response = client.post(
        "/payments/callback", content=raw, headers={"X-Signature": signature("", raw)}
    )

    assert response.status_code == 401
    assert faturas_of(app.uow_factory, office.gestor.gestor_id)[0].status == "pendente"


@pytest.mark.parametrize("fatura_id", [0, -1, 2**31, 2**63, 10**30])
def test_a_signed_callback_with_an_id_out_of_range_is_404_not_500(
    api: TestClient, app: App, fatura_id: int
) -> None:
    make_fatura(app.uow_factory, make_office(app.uow_factory, 1).gestor)

    response = post(api, {"fatura_id": fatura_id})

    assert response.status_code == 404  # type: ignore[attr-defined]
    assert response.json() == {"detail": "Fatura não encontrada."}  # type: ignore[attr-defined]


@pytest.mark.parametrize("value", [str(2**31), str(2**63), "0"])
def test_billing_paid_with_an_id_out_of_range_says_not_found(run: CliRunner, value: str) -> None:
    result = invoke(run, "billing", "paid", value)

    assert result.exit_code == 1
    assert result.stderr == "Erro: Fatura não encontrada.\n"
