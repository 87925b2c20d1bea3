"""Every real XML in ../shared/fixtures goes through the ingest service: stored, or refused
with a pt-BR reason and a code; nothing raises, and what is reported stored is stored."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from domain.documents import parse_tax_id
from domain.errors import InvalidValue
from services.fiscal_ingest import IncomingFile, ingest
from services.fiscal_prepare import Status
from services.types import UnitOfWorkFactory
from storage.models_fiscal import FiscalDocument
from tests.integration.fiscal_support import FIXTURES, client_with_documento
from tests.support import make_office

FALLBACK = "11444777000161"


class Target:
    def __init__(self, client_id: int, documento: str) -> None:
        self.client_id = client_id
        self.documento = documento


def _emitente(data: bytes) -> str | None:
    """The emitente CNPJ read with a regular expression (independent of the parser)."""
    found = re.search(rb"<emit>\s*<CNPJ>\s*([0-9]{14})\s*<", data)
    if found is None:
        return None
    try:
        return parse_tax_id(found.group(1).decode()).value
    except InvalidValue:
        return None


def test_every_real_fixture_is_stored_or_refused_with_a_reason(
    uow_factory: UnitOfWorkFactory,
) -> None:
    paths = sorted(FIXTURES.rglob("*.xml"))
    if not paths:
        pytest.skip(f"real fiscal files not found at {FIXTURES} (set FIXTURES_DIR)")
    office = make_office(uow_factory, 1)
    by_cnpj: dict[str, list[IncomingFile]] = {}
    for path in paths:
        data = path.read_bytes()
        name = str(path.relative_to(FIXTURES))
        by_cnpj.setdefault(_emitente(data) or FALLBACK, []).append(IncomingFile(name, data))

    outcomes = []
    for n, (documento, files) in enumerate(sorted(by_cnpj.items())):
        client = client_with_documento(uow_factory, office.gestor, documento, f"Empresa {n}")
        report = ingest(uow_factory(), Target(client.id, documento), files, via="test")
        outcomes += report.outcomes

    assert len(outcomes) == len(paths)
    for outcome in outcomes:
        assert outcome.status in (Status.CARREGADO, Status.RECUSADO, Status.DUPLICADO), outcome
        if outcome.status is Status.RECUSADO:
            assert outcome.codigo
            assert outcome.motivo
            assert outcome.motivo.endswith((".", ")")), outcome.motivo
    loaded = [o for o in outcomes if o.status is Status.CARREGADO]
    uow = uow_factory()
    with uow:
        stored = uow.session.scalar(select(func.count()).select_from(FiscalDocument))
    assert stored == len(loaded)
    # The public projects reformatted their samples after signing, so no signature verifies:
    # the authorized notes among them are refused for that reason, never for a parse error.
    assert loaded == []
    nfelib = [o for o in outcomes if "samples/v4_0/leiauteNFe/35180834128745" in o.nome]
    assert len(nfelib) == 10
    assert {o.codigo for o in nfelib} == {"assinatura_invalida"}
    cancelada = next(o for o in outcomes if o.nome.endswith("cancelada_55_new.xml"))
    assert cancelada.codigo == "assinatura_invalida"
