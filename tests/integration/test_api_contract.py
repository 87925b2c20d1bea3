"""The integration API keeps its OpenAPI contract: schemathesis drives the app in process with a
valid integration key, on generated valid and invalid requests, and every answer must be a
documented status, with the documented content type and body schema, and never a 5xx.

Bounded and repeatable: a fixed number of examples per operation, derandomized, no example
database, no deadline. Runs on SQLite, and on PostgreSQL when TEST_DATABASE_URL is set."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.schemas import BaseSchema
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from bot.app import App
from tests.integration.fiscal_support import client_with_documento, zip_of
from tests.support import make_office
from tests.unit.fiscal_chat.factory import (
    EMITENTE_CNPJ,
    NotaSpec,
    cancelamento_xml,
    nfe_proc_xml,
)
from web.app import create_app

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
EXAMPLES_PER_OPERATION = 30  # per mode: 5 operations x 2 modes x 30 = 300 requests
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
]


def api_schema(app: App) -> tuple[BaseSchema, dict[str, str]]:
    """The app's /api/ operations, and the Authorization header of a client's valid key."""
    office = make_office(app.uow_factory, 1)
    card = client_with_documento(app.uow_factory, office.gestor, EMITENTE_CNPJ, "Emitente Ltda")
    web = create_app(app.uow_factory, routers=app.web_routers())
    schema = schemathesis.openapi.from_asgi("/openapi.json", web).include(path_regex="^/api/")
    return schema, {"Authorization": f"Bearer {card.integration_key}"}


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_generated_requests_get_documented_answers(app: App, mode: GenerationMode) -> None:
    schema, auth = api_schema(app)
    results = list(schema.get_all_operations())
    assert all(isinstance(result, Ok) for result in results), results  # the document loads
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert {"POST /api/v1/documentos", "GET /api/v1/documentos/{chave}"} <= {
        operation.label for operation in operations
    }

    for operation in operations:
        inputs = bool(operation.query or operation.path_parameters or operation.body)
        if mode is GenerationMode.NEGATIVE and not inputs:
            continue  # nothing to make invalid (the key is fixed)

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        )
        @given(case=operation.as_strategy(generation_mode=mode, headers=auth))
        def exercise(case: schemathesis.Case) -> None:
            case.call_and_validate(checks=CHECKS)

        exercise()


def test_the_success_answers_match_the_document(app: App) -> None:
    """Generated data seldom makes a valid note: send real ones and check what comes back."""
    schema, auth = api_schema(app)
    spec = NotaSpec(numero=1, dh_emi=datetime(2026, 10, 15, 10, 30, tzinfo=SAO_PAULO))
    lote = zip_of(
        {"2.xml": nfe_proc_xml(replace(spec, numero=2)), "c.xml": cancelamento_xml(spec)}
    )
    upload = schema["/api/v1/documentos"]["POST"]
    form: dict[str, Any] = {"arquivo": lote}  # schemathesis sends bytes as the file's content
    cases = [
        upload.Case(body=nfe_proc_xml(spec), media_type="application/octet-stream"),
        upload.Case(body=form, media_type="multipart/form-data"),
        schema["/api/v1/documentos"]["GET"].Case(query={"competencia": "2026-10", "modelo": "55"}),
        schema["/api/v1/documentos/{chave}"]["GET"].Case(path_parameters={"chave": spec.chave()}),
        schema["/api/v1/cliente"]["GET"].Case(),
    ]

    statuses = [case.call_and_validate(headers=auth, checks=CHECKS).status_code for case in cases]

    assert statuses == [201, 200, 200, 200, 200]
