"""/cadastro (no link): linked to the gestor whose e-mail the client gives as its contador's,
or kept for the operator (`revendabot admin signups`)."""

from __future__ import annotations

from pathlib import Path

import lxml.html
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from bot.app import App
from bot.cli import main
from services import signup_form, signups
from tests.support import make_office
from tests.unit.links.support import (
    GOOD_POST,
    elements,
    stored_clients,
    stored_notices,
    stored_sign_ups,
    strings,
)
from web.app import create_app


@pytest.fixture
def web(app: App) -> TestClient:
    return TestClient(create_app(app.uow_factory, routers=app.web_routers()))


def post(web: TestClient, data: dict[str, str]) -> tuple[int, lxml.html.HtmlElement]:
    """Render the form (for its CSRF token) and post it: the status and the page."""
    page = lxml.html.fromstring(web.get("/cadastro").text)
    [csrf] = strings(page, '//input[@name="csrf"]/@value')
    response = web.post("/cadastro", data={**data, "csrf": csrf})
    return response.status_code, lxml.html.fromstring(response.text)


def text_of(doc: lxml.html.HtmlElement) -> str:
    return " ".join(elements(doc, "//main")[0].text_content().split())


def plan_id(app: App, label_start: str) -> str:
    plans = signups.plan_options(app.uow_factory())
    return str(next(p.id for p in plans if p.label.startswith(label_start)))


def test_the_open_form_offers_every_plan_with_its_price(web: TestClient) -> None:
    doc = lxml.html.fromstring(web.get("/cadastro").text)

    assert [o.text_content() for o in elements(doc, '//select[@name="plano"]/option')] == [
        "Escolha…",
        "FazNota — Bronze — R$ 79,90/mês",
        "FazNota — Prata — R$ 119,90/mês",
        "FazNota — Ouro — R$ 179,90/mês",
        "FazNota — Diamante — R$ 299,90/mês",
        "FazNota PDV — 1 caixa — R$ 69,90/mês",
        "FazNota PDV — Até 3 caixas — R$ 149,90/mês",
    ]


def test_a_contador_email_of_a_gestor_makes_the_client_that_gestors_and_notifies_it(
    app: App, web: TestClient
) -> None:
    office = make_office(app.uow_factory, 1)
    make_office(app.uow_factory, 2)
    data = {
        **GOOD_POST,
        "plano": plan_id(app, "FazNota — Ouro"),
        "email_contador": "GESTOR1@escritorio1.com.br",
    }

    status, doc = post(web, data)

    assert status == 200
    assert "Escritório 1 Ltda já foi avisado e vai liberar o seu acesso." in text_of(doc)
    [client] = stored_clients(app.uow_factory)
    assert (client.gestor_id, client.status, client.created_via, client.payer) == (
        office.gestor.gestor_id,
        "teste",
        "link",
        "cliente",
    )
    assert client.plan_id == int(data["plano"])
    assert client.email_contador == "gestor1@escritorio1.com.br"
    [notice] = stored_notices(app.uow_factory)
    assert (notice.gestor_id, notice.kind, notice.payload) == (
        office.gestor.gestor_id,
        "signup.linked",
        {"cid": client.id},
    )
    assert stored_sign_ups(app.uow_factory) == []


def test_an_unknown_contador_email_keeps_the_sign_up_for_the_operator(
    app: App, web: TestClient, db_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_office(app.uow_factory, 1)
    data = {
        **GOOD_POST,
        "plano": plan_id(app, "FazNota PDV — 1 caixa"),
        "email_contador": "contador@outro.com.br",
    }

    status, doc = post(web, data)

    assert status == 200
    assert "Nossa equipe vai conferir o cadastro e indicar um gestor para a sua conta." in (
        text_of(doc)
    )
    assert stored_clients(app.uow_factory) == []
    assert stored_notices(app.uow_factory) == []
    [kept] = stored_sign_ups(app.uow_factory)
    assert (kept.documento, kept.email_contador) == ("11222333000181", "contador@outro.com.br")

    monkeypatch.chdir(tmp_path)
    url = db_engine.url.render_as_string(hide_password=False)
    result = CliRunner(env={"DATABASE_URL": url}).invoke(main, ["admin", "signups"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "1 cadastro(s) sem gestor:"
    assert lines[1].endswith(
        " · 11.222.333/0001-81 · Padaria Pão Quente Ltda · contato@paoquente.com.br · "
        "(11) 98765-4321 · FazNota PDV 1 caixa · contador: contador@outro.com.br"
    )


def test_the_operator_is_told_when_there_are_no_sign_ups(
    app: App, db_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    url = db_engine.url.render_as_string(hide_password=False)
    result = CliRunner(env={"DATABASE_URL": url}).invoke(main, ["admin", "signups"])

    assert result.output == "Nenhum cadastro sem gestor.\n"


def test_the_open_form_requires_a_plan(app: App, web: TestClient) -> None:
    status, doc = post(web, {**GOOD_POST, "plano": ""})

    assert status == 422
    assert elements(doc, '//p[@id="erro-plano"]')[0].text_content() == "Escolha o plano."
    assert stored_sign_ups(app.uow_factory) == []


def test_an_inactive_or_unknown_plan_is_refused(app: App, web: TestClient) -> None:
    status, doc = post(web, {**GOOD_POST, "plano": "99999"})

    assert status == 422
    assert elements(doc, '//p[@id="erro-plano"]')[0].text_content() == "Escolha o plano."


def test_sending_the_open_form_twice_keeps_one_sign_up(app: App, web: TestClient) -> None:
    data = {**GOOD_POST, "plano": plan_id(app, "FazNota — Bronze")}

    post(web, data)
    status, doc = post(web, data)

    assert status == 200
    assert text_of(doc).startswith("Cadastro concluído!")
    assert len(stored_sign_ups(app.uow_factory)) == 1


def test_another_person_with_a_cpf_cnpj_already_kept_is_refused(app: App, web: TestClient) -> None:
    data = {**GOOD_POST, "plano": plan_id(app, "FazNota — Bronze")}
    post(web, data)

    status, doc = post(web, {**data, "email": "outra@pessoa.com.br"})

    assert status == 422
    assert elements(doc, '//p[@id="erro-documento"]')[0].text_content() == signup_form.DOC_TAKEN


def test_the_open_form_refuses_a_post_without_csrf(app: App, web: TestClient) -> None:
    web.get("/cadastro")
    response = web.post("/cadastro", data={**GOOD_POST, "plano": plan_id(app, "FazNota")})

    assert response.status_code == 403
    assert stored_sign_ups(app.uow_factory) == []
