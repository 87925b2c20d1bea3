"""Configurações through the web app: the key rotation round trip on the integration API, status
Bloqueado → 403, and the software access link (landing page and server-to-server check)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from fastapi.testclient import TestClient

from bot.app import App
from bot.crypto import link_signer
from domain.clients import ContractStatus, Payer
from services import contracts, integration_keys, software_access
from services.clients import ClientCard
from services.software_access import LinkSigner
from tests.support import Office, add_client, make_office
from web.app import create_app


@pytest.fixture
def web(app: App) -> TestClient:
    return TestClient(create_app(app.uow_factory, routers=app.web_routers()))


@pytest.fixture
def office(app: App) -> Office:
    return make_office(app.uow_factory, 1)


@pytest.fixture
def client(app: App, office: Office) -> ClientCard:
    return add_client(app.uow_factory, office.gestor, 1)


@pytest.fixture
def signer(app: App) -> LinkSigner:
    return link_signer(app.settings)


def who(web: TestClient, key: str | None) -> int:
    return web.get("/api/v1/cliente", headers={"Authorization": f"Bearer {key}"}).status_code


def set_status(app: App, office: Office, client: ClientCard, status: ContractStatus) -> None:
    contracts.save_contract(
        app.uow_factory(), office.gestor, client.id, status=status, payer=Payer.GESTOR
    )


def token_of(url: str) -> str:
    return url.rsplit("/acesso/", 1)[1]


# -- chave de integração ---------------------------------------------------------------------


def test_after_gerar_nova_chave_the_old_key_gets_401_and_the_new_one_200(
    app: App, web: TestClient, office: Office, client: ClientCard
) -> None:
    assert who(web, client.integration_key) == 200

    new_key = integration_keys.regenerate(app.uow_factory(), office.gestor, client.id)

    old = web.get("/api/v1/cliente", headers={"Authorization": f"Bearer {client.integration_key}"})
    assert old.status_code == 401
    assert old.json() == {"detail": integration_keys.KeyRefused.message}
    assert who(web, new_key) == 200


@pytest.mark.parametrize("status", [ContractStatus.BLOQUEADO, ContractStatus.CANCELADO])
def test_a_cut_contract_gets_403_and_efetivado_restores_200(
    app: App, web: TestClient, office: Office, client: ClientCard, status: ContractStatus
) -> None:
    set_status(app, office, client, status)

    refused = web.get(
        "/api/v1/cliente", headers={"Authorization": f"Bearer {client.integration_key}"}
    )
    assert refused.status_code == 403
    assert refused.json() == {"detail": integration_keys.AccessCut.message}

    set_status(app, office, client, ContractStatus.EFETIVADO)
    assert who(web, client.integration_key) == 200


# -- Acessar software do cliente -------------------------------------------------------------


def test_the_landing_page_says_who_is_signed_in_and_the_link_works_once(
    app: App, web: TestClient, office: Office, client: ClientCard, signer: LinkSigner
) -> None:
    link = software_access.open_software(
        app.uow_factory(), office.gestor, client.id, signer=signer
    )
    assert link.url.startswith("https://app.faznota.com.br/acesso/")

    first = web.get(f"/acesso/{token_of(link.url)}")
    again = web.get(f"/acesso/{token_of(link.url)}")

    assert first.status_code == 200
    assert "FazNota: você entrou" in first.text
    assert "Você entrou como Cliente 001 Ltda (CNPJ/CPF 10.000.001/0001-90)." in first.text
    assert again.status_code == 409
    assert "já foi usado" in again.text
    assert first.headers["cache-control"] == "no-store"


def test_the_software_verifies_a_link_server_to_server(
    app: App, web: TestClient, office: Office, client: ClientCard, signer: LinkSigner
) -> None:
    link = software_access.open_software(
        app.uow_factory(), office.gestor, client.id, signer=signer
    )

    checked = web.post("/api/v1/acesso/verificar", json={"token": token_of(link.url)})
    reused = web.post("/api/v1/acesso/verificar", json={"token": token_of(link.url)})

    assert checked.status_code == 200
    assert checked.json() == {
        "cliente_id": client.id,
        "documento": "10.000.001/0001-90",
        "razao_social": "Cliente 001 Ltda",
        "software": "FazNota",
        "emitido_por": office.gestor.identity_key,
    }
    assert reused.status_code == 409
    assert reused.json() == {"detail": software_access.LinkUsed.message}


def test_a_link_opened_after_five_minutes_is_refused_as_expired(
    app: App, web: TestClient, office: Office, client: ClientCard, signer: LinkSigner
) -> None:
    link = software_access.open_software(
        app.uow_factory(), office.gestor, client.id, signer=signer
    )

    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=5, seconds=2)):
        late = web.post("/api/v1/acesso/verificar", json={"token": token_of(link.url)})
        page = web.get(f"/acesso/{token_of(link.url)}")

    assert late.status_code == 410
    assert late.json() == {"detail": software_access.LinkExpired.message}
    assert page.status_code == 410
    assert "expirou (vale 5 minutos)" in page.text


def test_a_link_of_a_client_blocked_since_is_refused(
    app: App, web: TestClient, office: Office, client: ClientCard, signer: LinkSigner
) -> None:
    link = software_access.open_software(
        app.uow_factory(), office.gestor, client.id, signer=signer
    )
    set_status(app, office, client, ContractStatus.BLOQUEADO)

    refused = web.post("/api/v1/acesso/verificar", json={"token": token_of(link.url)})

    assert refused.status_code == 403
    assert refused.json() == {"detail": software_access.LinkAccessCut.message}
    set_status(app, office, client, ContractStatus.EFETIVADO)
    assert web.post(
        "/api/v1/acesso/verificar", json={"token": token_of(link.url)}
    ).status_code == (200)


@pytest.mark.parametrize(
    "token",
    ["nada", "a.b.c", "x" * 300],
)
def test_malformed_tokens_are_refused(web: TestClient, token: str) -> None:
    response = web.post("/api/v1/acesso/verificar", json={"token": token})

    assert response.status_code in (401, 422)


def test_a_token_signed_with_another_key_or_altered_is_refused(
    app: App, web: TestClient, office: Office, client: ClientCard, signer: LinkSigner
) -> None:
    forged_signer = LinkSigner(b"k" * 32, signer.fallback_base_url)
    forged = software_access.open_software(
        app.uow_factory(), office.gestor, client.id, signer=forged_signer
    )
    real = software_access.open_software(
        app.uow_factory(), office.gestor, client.id, signer=signer
    )
    nonce, stamp, signature = token_of(real.url).split(".")
    longer = f"{nonce}.{int(stamp) + 3600}.{signature}"

    for token in (token_of(forged.url), longer):
        response = web.post("/api/v1/acesso/verificar", json={"token": token})
        assert response.status_code == 401
        assert response.json() == {"detail": software_access.LinkRefused.message}
    assert web.post(
        "/api/v1/acesso/verificar", json={"token": token_of(real.url)}
    ).status_code == (200)


def test_a_software_without_base_url_links_to_this_web_app(
    app: App, office: Office, client: ClientCard, signer: LinkSigner
) -> None:
    with app.uow_factory() as uow:
        software = uow.catalog.software_by_code("faznota")
        assert software is not None
        software.base_url = None
        uow.commit()
    try:
        link = software_access.open_software(
            app.uow_factory(), office.gestor, client.id, signer=signer
        )
    finally:
        with app.uow_factory() as uow:
            software = uow.catalog.software_by_code("faznota")
            assert software is not None
            software.base_url = "https://app.faznota.com.br"
            uow.commit()

    assert link.url.startswith("http://127.0.0.1:8000/acesso/")


def test_production_refuses_the_placeholder_link_signing_key() -> None:
    from pydantic import SecretStr, ValidationError

    from bot.settings import Settings

    # every other secret real, so that only this one can be the complaint
    others: dict[str, Any] = {
        name: "valor-real-de-teste-com-mais-de-32-caracteres"
        for name, info in Settings.model_fields.items()
        if info.annotation is SecretStr and name != "link_signing_key"
    }
    Settings(environment="production", _env_file=None, **{**others, "link_signing_key": "k" * 40})
    with pytest.raises(ValidationError, match="LINK_SIGNING_KEY"):
        Settings(
            environment="production", _env_file=None, **{**others, "link_signing_key": "change-me"}
        )
