"""The integration API's fiscal documents: send XML or ZIP (raw body or multipart form), list a
month, fetch one XML; every refusal a pt-BR `detail`.

Notes come from the chat-side factory, so they stay valid as it learns to sign them.
Runs on SQLite, and on PostgreSQL when TEST_DATABASE_URL is set (the `app` fixture)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from bot.app import App
from domain.clients import ContractStatus
from services import integration_keys
from storage.models import Client
from tests.integration.fiscal_support import client_with_documento, zip_of
from tests.support import make_office
from tests.unit.fiscal_chat.factory import (
    EMITENTE_CNPJ,
    NotaSpec,
    cancelamento_xml,
    nfe_proc_xml,
)
from web import api_documentos
from web.app import create_app

XML = {"Content-Type": "application/xml"}
ZIP = {"Content-Type": "application/zip"}
OUTUBRO = datetime(2026, 10, 15, 10, 30, tzinfo=ZoneInfo("America/Sao_Paulo"))


def nota(numero: int = 1234) -> NotaSpec:
    """An authorized NF-e of the client's (the factory's emitente), October 2026."""
    return NotaSpec(numero=numero, dh_emi=OUTUBRO)


@pytest.fixture
def api(app: App) -> TestClient:
    return TestClient(create_app(app.uow_factory, routers=app.web_routers()))


@pytest.fixture
def client(app: App) -> tuple[int, str]:
    """(client id, integration key) of the sample notes' emitente."""
    office = make_office(app.uow_factory, 1)
    card = client_with_documento(app.uow_factory, office.gestor, EMITENTE_CNPJ, "Emitente Ltda")
    assert card.integration_key is not None
    return card.id, card.integration_key


def auth(key: str, headers: dict[str, str] | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **(headers or {})}


def test_an_xml_round_trip_send_list_and_fetch(api: TestClient, client: tuple[int, str]) -> None:
    _, key = client
    data = nfe_proc_xml(nota())

    sent = api.post("/api/v1/documentos", content=data, headers=auth(key, XML))
    listed = api.get(
        "/api/v1/documentos", params={"competencia": "2026-10", "modelo": "55"}, headers=auth(key)
    )
    fetched = api.get(f"/api/v1/documentos/{nota().chave()}", headers=auth(key))

    assert sent.status_code == 201
    assert sent.json()["carregados"] == 1
    assert sent.json()["documentos"][0]["status"] == "carregado"
    assert listed.status_code == 200
    body = listed.json()
    assert (body["total"], body["pagina"], body["paginas"]) == (1, 1, 1)
    assert body["documentos"][0]["chave"] == nota().chave()
    assert body["documentos"][0]["valor"] == "150.00"
    assert body["documentos"][0]["situacao"] == "autorizada"
    assert fetched.status_code == 200
    assert fetched.headers["content-type"].startswith("application/xml")
    assert fetched.content == data


def test_sending_the_same_xml_again_answers_200_duplicate(
    api: TestClient, client: tuple[int, str]
) -> None:
    _, key = client
    api.post("/api/v1/documentos", content=nfe_proc_xml(nota()), headers=auth(key, XML))

    again = api.post("/api/v1/documentos", content=nfe_proc_xml(nota()), headers=auth(key, XML))

    assert again.status_code == 200
    assert again.json()["duplicados"] == 1


def test_a_refused_xml_answers_422_with_the_reason_in_portuguese(
    api: TestClient, client: tuple[int, str]
) -> None:
    _, key = client

    response = api.post("/api/v1/documentos", content=b"%PDF-1.4 danfe", headers=auth(key, XML))

    assert response.status_code == 422
    assert "PDF" in response.json()["detail"]
    assert response.json()["codigo"] == "xml_invalido"


def test_a_latin1_xml_answers_422_with_the_encoding_as_its_reason(
    api: TestClient, client: tuple[int, str]
) -> None:
    _, key = client
    latin1 = '<nfeProc xmlns="http://www.portalfiscal.inf.br/nfe"><xNome>AÇÚCAR</xNome>'

    response = api.post(
        "/api/v1/documentos", content=latin1.encode("latin-1"), headers=auth(key, XML)
    )

    assert response.status_code == 422
    assert response.json()["codigo"] == "codificacao"
    assert response.json()["detail"].startswith("O arquivo não está em UTF-8")
    assert "cortado" not in response.json()["detail"]


def test_a_zip_answers_a_summary_per_document(api: TestClient, client: tuple[int, str]) -> None:
    _, key = client
    data = zip_of(
        {
            "1.xml": nfe_proc_xml(nota(1)),
            "2.xml": nfe_proc_xml(nota(2)),
            "c.xml": cancelamento_xml(nota(2)),
            "ruim.xml": b"<x",
        }
    )

    response = api.post("/api/v1/documentos", content=data, headers=auth(key, ZIP))

    assert response.status_code == 200
    body = response.json()
    assert (body["carregados"], body["cancelamentos"], body["recusados"]) == (2, 1, 1)
    assert {d["arquivo"]: d["status"] for d in body["documentos"]} == {
        "1.xml": "carregado",
        "2.xml": "carregado",
        "c.xml": "cancelamento",
        "ruim.xml": "recusado",
    }
    assert "gravados juntos" in body["gravacao"]


def test_a_zip_bomb_answers_413(api: TestClient, client: tuple[int, str]) -> None:
    _, key = client
    bomb = zip_of({"bomba.xml": b"<a>" + b" " * 4_000_000 + b"</a>"})

    response = api.post("/api/v1/documentos", content=bomb, headers=auth(key, ZIP))

    assert response.status_code == 413
    assert "ZIP bomb" in response.json()["detail"]


def test_an_empty_zip_answers_422(api: TestClient, client: tuple[int, str]) -> None:
    _, key = client

    response = api.post("/api/v1/documentos", content=zip_of({}), headers=auth(key, ZIP))

    assert response.status_code == 422
    assert response.json()["detail"].startswith("O ZIP está vazio")


def test_an_xml_above_the_size_cap_answers_413(api: TestClient, client: tuple[int, str]) -> None:
    _, key = client

    response = api.post(
        "/api/v1/documentos", content=b"<a>" + b" " * 6_000_000, headers=auth(key, XML)
    )

    assert response.status_code == 413


def test_an_unknown_content_type_answers_415(api: TestClient, client: tuple[int, str]) -> None:
    _, key = client

    response = api.post(
        "/api/v1/documentos", content=b"{}", headers=auth(key, {"Content-Type": "text/json"})
    )

    assert response.status_code == 415
    assert "application/xml" in response.json()["detail"]


def test_a_chave_of_another_client_answers_404(
    app: App, api: TestClient, client: tuple[int, str]
) -> None:
    _, key = client
    api.post("/api/v1/documentos", content=nfe_proc_xml(nota()), headers=auth(key, XML))
    other_office = make_office(app.uow_factory, 2)
    other = client_with_documento(app.uow_factory, other_office.gestor, "11444777000161", "Outra")
    assert other.integration_key is not None

    response = api.get(f"/api/v1/documentos/{nota().chave()}", headers=auth(other.integration_key))

    assert response.status_code == 404
    assert "não está guardada" in response.json()["detail"]


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"competencia": "10/2026", "modelo": "55"}, "AAAA-MM"),
        ({"competencia": "2026-10", "modelo": "57"}, "55 (NF-e) ou 65"),
        ({"competencia": "2026-10", "modelo": "55", "tipo": "x"}, "emitida ou fornecedor"),
    ],
)
def test_bad_list_parameters_answer_422_in_portuguese(
    api: TestClient, client: tuple[int, str], params: dict[str, str], words: str
) -> None:
    _, key = client

    response = api.get("/api/v1/documentos", params=params, headers=auth(key))

    assert response.status_code == 422
    assert words in response.json()["detail"]


def test_a_revoked_key_answers_401(app: App, api: TestClient, client: tuple[int, str]) -> None:
    client_id, key = client
    integration_keys.issue(app.uow_factory(), client_id, "test")  # replaces the key

    response = api.post("/api/v1/documentos", content=nfe_proc_xml(nota()), headers=auth(key, XML))

    assert response.status_code == 401
    assert "chave de integração" in response.json()["detail"].lower()


def test_a_blocked_client_answers_403(app: App, api: TestClient, client: tuple[int, str]) -> None:
    client_id, key = client
    uow = app.uow_factory()
    with uow:
        uow.session.execute(
            update(Client).where(Client.id == client_id).values(status=ContractStatus.BLOQUEADO)
        )
        uow.commit()

    response = api.get(
        "/api/v1/documentos", params={"competencia": "2026-10", "modelo": "55"}, headers=auth(key)
    )

    assert response.status_code == 403
    assert "bloqueado ou cancelado" in response.json()["detail"]


def test_the_openapi_document_shows_the_document_routes(api: TestClient) -> None:
    paths = api.get("/openapi.json").json()["paths"]

    assert {"post", "get"} <= set(paths["/api/v1/documentos"])
    assert "get" in paths["/api/v1/documentos/{chave}"]
    upload = paths["/api/v1/documentos"]["post"]["requestBody"]["content"]
    assert {"application/xml", "application/zip"} <= set(upload)


def test_an_oversized_xml_sent_as_octet_stream_also_answers_413(
    api: TestClient, client: tuple[int, str]
) -> None:
    _, key = client
    body = b"<nfeProc>" + b" " * 6_000_000 + b"</nfeProc>"

    response = api.post(
        "/api/v1/documentos",
        content=body,
        headers=auth(key, {"Content-Type": "application/octet-stream"}),
    )

    assert response.status_code == 413
    assert "limite" in response.json()["detail"]


# --- multipart uploads (curl -F arquivo=@nota.xml) ------------------------------------------


def test_an_xml_sent_as_a_multipart_form_is_stored_like_the_raw_body(
    api: TestClient, client: tuple[int, str]
) -> None:
    _, key = client
    data = nfe_proc_xml(nota())

    sent = api.post(
        "/api/v1/documentos",
        files={"arquivo": ("nota.xml", data, "application/xml")},
        headers=auth(key),
    )
    fetched = api.get(f"/api/v1/documentos/{nota().chave()}", headers=auth(key))

    assert sent.status_code == 201
    assert sent.json()["carregados"] == 1
    assert fetched.content == data


def test_a_zip_sent_as_a_multipart_form_answers_a_summary_per_document(
    api: TestClient, client: tuple[int, str]
) -> None:
    _, key = client
    data = zip_of({"1.xml": nfe_proc_xml(nota(1)), "c.xml": cancelamento_xml(nota(1))})

    response = api.post(
        "/api/v1/documentos",
        files={"arquivo": ("lote.zip", data, "application/zip")},
        headers=auth(key),
    )

    assert response.status_code == 200
    assert {d["arquivo"]: d["status"] for d in response.json()["documentos"]} == {
        "1.xml": "carregado",
        "c.xml": "cancelamento",
    }


def test_a_refused_xml_in_a_form_answers_422_with_the_summary(
    api: TestClient, client: tuple[int, str]
) -> None:
    _, key = client

    response = api.post(
        "/api/v1/documentos",
        files={"arquivo": ("danfe.pdf", b"%PDF-1.4 danfe")},
        headers=auth(key),
    )

    assert response.status_code == 422
    assert response.json()["codigo"] == "xml_invalido"
    assert response.json()["recusados"] == 1


@pytest.mark.parametrize(
    ("files", "words"),
    [
        ({"outro": ("nota.xml", b"<a/>")}, "campo arquivo"),
        ({"arquivo": ("nota.xml", b"")}, "vazio"),
    ],
)
def test_a_form_without_the_file_answers_422_in_portuguese(
    api: TestClient, client: tuple[int, str], files: dict[str, tuple[str, bytes]], words: str
) -> None:
    _, key = client

    response = api.post("/api/v1/documentos", files=files, headers=auth(key))

    assert response.status_code == 422
    assert words in response.json()["detail"]


def test_a_malformed_form_answers_422_in_portuguese(
    api: TestClient, client: tuple[int, str]
) -> None:
    _, key = client

    response = api.post(
        "/api/v1/documentos",
        content=b"--x\r\nsem cabecalhos",
        headers=auth(key, {"Content-Type": "multipart/form-data"}),  # no boundary
    )

    assert response.status_code == 422
    assert "curl -F arquivo=@nota.xml" in response.json()["detail"]


def test_a_form_above_the_cap_answers_413_while_being_read(
    api: TestClient, client: tuple[int, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, key = client
    monkeypatch.setattr(api_documentos, "MAX_ZIP_BODY", 4096)
    boundary = "limite"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="arquivo"; filename="n.xml"\r\n'
        "Content-Type: application/xml\r\n\r\n"
    ).encode()

    def chunks() -> Iterator[bytes]:  # streamed: no Content-Length to refuse up front
        yield head
        for _ in range(200):
            yield b" " * 1024

    response = api.post(
        "/api/v1/documentos",
        content=chunks(),
        headers=auth(key, {"Content-Type": f"multipart/form-data; boundary={boundary}"}),
    )

    assert response.status_code == 413
    assert "limite" in response.json()["detail"]


# --- pt-BR answers for every refusal -------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"modelo": "55"}, "Informe o parâmetro competencia. Mês das notas, no formato AAAA-MM"),
        ({"competencia": "2026-10"}, "Informe o parâmetro modelo. Modelo: 55 (NF-e) ou 65"),
        ({"competencia": "2026-13", "modelo": "55"}, "AAAA-MM"),
        ({"competencia": "1999-10", "modelo": "55"}, "AAAA-MM"),
        ({"competencia": "2026-10", "modelo": "55", "pagina": "0"}, "Parâmetro pagina inválido"),
        ({"competencia": "2026-10", "modelo": "55", "pagina": "um"}, "Parâmetro pagina inválido"),
        ({"competencia": "2026-10", "modelo": "55", "por_pagina": "501"}, "de 1 a 500"),
    ],
)
def test_missing_or_invalid_list_parameters_answer_422_with_what_to_send(
    api: TestClient, client: tuple[int, str], params: dict[str, str], words: str
) -> None:
    _, key = client

    response = api.get("/api/v1/documentos", params=params, headers=auth(key))

    assert response.status_code == 422
    assert list(response.json()) == ["detail"]
    assert words in response.json()["detail"]


@pytest.mark.parametrize(
    ("chave", "words"),
    [
        ("123", "os 44 caracteres da tag chNFe"),
        ("3526101122233300018155001000001234112345678", "os 44 caracteres"),  # 43 characters
        (NotaSpec(1, OUTUBRO).chave()[:-1] + "9", "o dígito verificador (posição 44) não confere"),
    ],
)
def test_a_bad_chave_in_the_path_answers_422_in_portuguese(
    api: TestClient, client: tuple[int, str], chave: str, words: str
) -> None:
    _, key = client

    response = api.get(f"/api/v1/documentos/{chave}", headers=auth(key))

    assert response.status_code == 422
    assert words in response.json()["detail"]


@pytest.mark.parametrize(
    ("content", "headers", "status", "words"),
    [
        (b"", XML, 422, "vazio"),
        (b"<a/>", {}, 415, "multipart"),
        (b"<a/>", {"Content-Type": "application/json"}, 415, "application/zip"),
    ],
)
def test_an_empty_or_untyped_body_answers_in_portuguese(
    api: TestClient,
    client: tuple[int, str],
    content: bytes,
    headers: dict[str, str],
    status: int,
    words: str,
) -> None:
    _, key = client

    response = api.post("/api/v1/documentos", content=content, headers=auth(key, headers))

    assert response.status_code == status
    assert words in response.json()["detail"]


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", "/api/v1/documentos", "GET, POST"),
        ("PUT", "/api/v1/documentos", "GET, POST"),
        ("POST", f"/api/v1/documentos/{NotaSpec(1, OUTUBRO).chave()}", "GET"),
    ],
)
def test_a_wrong_method_answers_405_with_every_allowed_method(
    api: TestClient, client: tuple[int, str], method: str, path: str, allow: str
) -> None:
    _, key = client

    response = api.request(method, path, headers=auth(key))

    assert response.status_code == 405
    assert response.headers["allow"] == allow
    assert "Allow" in response.json()["detail"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/documentos?competencia=2026-10&modelo=55"),
        ("GET", f"/api/v1/documentos/{NotaSpec(1, OUTUBRO).chave()}"),
        ("POST", "/api/v1/documentos"),
    ],
)
def test_an_unknown_key_answers_401_on_every_document_route(
    api: TestClient, method: str, path: str
) -> None:
    response = api.request(method, path, content=b"<a/>", headers=auth("rvb_desconhecida", XML))

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "chave de integração" in response.json()["detail"].lower()


def test_another_clients_notes_are_not_listed(
    app: App, api: TestClient, client: tuple[int, str]
) -> None:
    _, key = client
    api.post("/api/v1/documentos", content=nfe_proc_xml(nota()), headers=auth(key, XML))
    other_office = make_office(app.uow_factory, 2)
    other = client_with_documento(app.uow_factory, other_office.gestor, "11444777000161", "Outra")
    assert other.integration_key is not None

    response = api.get(
        "/api/v1/documentos",
        params={"competencia": "2026-10", "modelo": "55"},
        headers=auth(other.integration_key),
    )

    assert response.status_code == 200
    assert (response.json()["total"], response.json()["documentos"]) == (0, [])


def test_the_openapi_document_describes_both_upload_forms_and_the_errors(
    api: TestClient,
) -> None:
    paths = api.get("/openapi.json").json()["paths"]
    upload = paths["/api/v1/documentos"]["post"]
    body = upload["requestBody"]["content"]
    erro = {"$ref": "#/components/schemas/Erro"}

    assert {"application/xml", "text/xml", "application/zip", "application/octet-stream"} <= set(
        body
    )
    form = body["multipart/form-data"]["schema"]
    assert form["required"] == ["arquivo"]
    assert form["properties"]["arquivo"]["format"] == "binary"
    for code in ("401", "403", "405", "415"):
        assert upload["responses"][code]["content"]["application/json"]["schema"] == erro
    for code in ("413", "422"):
        assert erro in upload["responses"][code]["content"]["application/json"]["schema"]["anyOf"]
    listing = paths["/api/v1/documentos"]["get"]["responses"]
    fetch = paths["/api/v1/documentos/{chave}"]["get"]["responses"]
    assert listing["422"]["content"]["application/json"]["schema"] == erro
    assert fetch["404"]["content"]["application/json"]["schema"] == erro
    assert "Allow" in fetch["405"]["headers"]


def test_a_sefaz_summary_is_neither_listed_nor_served_as_the_notes_xml(
    app: App, api: TestClient, client: tuple[int, str]
) -> None:
    from services.sefaz import DocumentoDistribuido
    from services.sefaz_capture import ClientCapture, store_page
    from storage.sefaz import CaptureTarget
    from tests.unit.fiscal.samples import Ide, res_nfe

    client_id, key = client
    ide = Ide(cnpj="11222333000181", nnf="4321")  # a supplier's note, known only by its resNFe
    target = CaptureTarget(0, client_id, 0, EMITENTE_CNPJ, "SP", "Emitente Ltda", False, None)
    uow = app.uow_factory()
    with uow:
        doc = DocumentoDistribuido("1", "resNFe_v1.01.xsd", res_nfe(ide))
        store_page(uow, target, (doc,), ClientCapture(client_id, EMITENTE_CNPJ, ""), OUTUBRO)
        uow.commit()

    listed = api.get(
        "/api/v1/documentos",
        params={"competencia": "2026-10", "modelo": "55", "tipo": "fornecedor"},
        headers=auth(key),
    )
    fetched = api.get(f"/api/v1/documentos/{ide.chave()}", headers=auth(key))

    assert listed.status_code == 200
    assert listed.json()["total"] == 0
    assert fetched.status_code == 404
    assert "só há o resumo da SEFAZ (sem XML)" in fetched.json()["detail"]
