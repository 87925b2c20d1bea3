"""The integration API's authentication: Bearer integration key, pt-BR JSON errors."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from bot.app import App
from domain.clients import ContractStatus
from storage.models import Client
from tests.support import add_client, make_office
from web.app import create_app


@pytest.fixture
def api(app: App) -> TestClient:
    return TestClient(create_app(app.uow_factory, routers=app.web_routers()))


def test_the_api_answers_with_the_client_of_the_key(app: App, api: TestClient) -> None:
    office = make_office(app.uow_factory, 1)
    card = add_client(app.uow_factory, office.gestor, 1)

    response = api.get(
        "/api/v1/cliente", headers={"Authorization": f"Bearer {card.integration_key}"}
    )

    assert response.status_code == 200
    assert response.json() == {
        "id": card.id,
        "documento": card.documento[:2]
        + "."
        + card.documento[2:5]
        + "."
        + card.documento[5:8]
        + "/"
        + card.documento[8:12]
        + "-"
        + card.documento[12:],
        "razao_social": card.razao_social,
    }


@pytest.mark.parametrize(
    "header", [None, "Basic abc", "Bearer ", "Bearer rvb_desconhecida", "rvb_semesquema"]
)
def test_a_missing_or_unknown_key_gets_401_with_a_pt_br_detail(
    api: TestClient, header: str | None
) -> None:
    headers = {"Authorization": header} if header is not None else {}

    response = api.get("/api/v1/cliente", headers=headers)

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "chave de integração" in response.json()["detail"].lower()


def test_a_blocked_client_gets_403(app: App, api: TestClient) -> None:
    office = make_office(app.uow_factory, 1)
    card = add_client(app.uow_factory, office.gestor, 1)
    uow = app.uow_factory()
    with uow:
        uow.session.execute(
            update(Client).where(Client.id == card.id).values(status=ContractStatus.BLOQUEADO)
        )
        uow.commit()

    response = api.get(
        "/api/v1/cliente", headers={"Authorization": f"Bearer {card.integration_key}"}
    )

    assert response.status_code == 403
    assert "bloqueado ou cancelado" in response.json()["detail"]


def test_the_openapi_document_lists_the_integration_routes(api: TestClient) -> None:
    assert "/api/v1/cliente" in api.get("/openapi.json").json()["paths"]


def test_an_unknown_api_address_answers_404_in_portuguese(api: TestClient) -> None:
    response = api.get("/api/v1/notas")

    assert response.status_code == 404
    assert response.json() == {
        "detail": "Endereço não encontrado na API. Confira o caminho; as rotas estão em /docs."
    }


def test_a_wrong_method_on_the_api_answers_405_in_portuguese_with_allow(api: TestClient) -> None:
    response = api.delete("/api/v1/cliente")

    assert response.status_code == 405
    assert response.headers["allow"] == "GET"
    assert "Allow" in response.json()["detail"]


def test_pages_outside_the_api_keep_fastapis_answers(api: TestClient) -> None:
    response = api.delete("/healthz")

    assert response.status_code == 405
    assert response.headers["allow"] == "GET"
    assert response.json() == {"detail": "Method Not Allowed"}


def test_the_openapi_document_declares_the_bearer_key(api: TestClient) -> None:
    document = api.get("/openapi.json").json()
    operation = document["paths"]["/api/v1/cliente"]["get"]

    schemes = document["components"]["securitySchemes"]
    assert [scheme["scheme"] for scheme in schemes.values()] == ["bearer"]
    assert operation["security"] == [{name: []} for name in schemes]
    assert operation["responses"]["401"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Erro"
    }
