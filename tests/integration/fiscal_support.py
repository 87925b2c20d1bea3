"""Helpers for the fiscal-document tests: a client with a chosen CNPJ, real and synthetic XMLs."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from domain.clients import Payer
from services import catalog, clients
from services.principal import Principal
from services.types import UnitOfWorkFactory
from tests.fixtures_manifest import fixtures_dir

FIXTURES = fixtures_dir()
NFELIB_SAMPLES = FIXTURES / "nfelib/nfelib/nfe/samples/v4_0/leiauteNFe"
# Ten authorized production NF-e of one emitter (a valid CNPJ), August 2018.
NFELIB_EMITENTE = "34128745000152"
# One of them (…474491454651420) is addressed to this company: a supplier note for it.
NFELIB_DESTINATARIO = "53232886000165"
NFELIB_TO_DESTINATARIO = "35180834128745000152550010000474491454651420"


def fixture_bytes(relative: str) -> bytes:
    path = FIXTURES / relative
    if not path.is_file():
        pytest.skip(f"real fiscal file not found: {path} (set FIXTURES_DIR)")
    return path.read_bytes()


def nfelib_notes() -> list[Path]:
    if not NFELIB_SAMPLES.is_dir():
        pytest.skip(f"real fiscal files not found at {NFELIB_SAMPLES} (set FIXTURES_DIR)")
    return sorted(NFELIB_SAMPLES.glob(f"35180*{NFELIB_EMITENTE}*-nfe.xml"))


def client_with_documento(
    uow_factory: UnitOfWorkFactory, principal: Principal, documento: str, name: str
) -> clients.ClientCard:
    """A client of `principal`'s office whose CNPJ/CPF is `documento` (e.g. a fixture's)."""
    software = catalog.list_softwares(uow_factory())[0]
    return clients.register_client(
        uow_factory(),
        principal,
        clients.NewClient(
            payer=Payer.GESTOR,
            software_id=software.id,
            plan_id=software.plans[0].id,
            documento=documento,
            razao_social=name,
            nome_fantasia=None,
            email=f"fiscal{documento}@empresa.com.br",
            telefone="(11) 98765-4321",
            cep="01310-100",
            endereco="Av. Paulista, 1000 - Bela Vista - São Paulo/SP",
        ),
    )


def zip_of(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()
