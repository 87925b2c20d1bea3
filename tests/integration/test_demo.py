"""The demo office builder: what `revendabot demo` puts in, and that it went through the
normal services (notes that verify, certificates sealed, the reminder waiting)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.app import App
from bot.crypto import secret_box
from bot.demo import CONSOLE_GESTOR, DEMO_CNPJ, DemoResult, build_demo
from bot.demo_notes import CERT_PASSWORD, DemoNotes
from bot.gateways.payments import billing_from_settings
from domain.certificates import read_certificate
from domain.certificates.status import CertificateStatus
from domain.fiscal import EventoFiscal, parse_document
from services import access, certificates
from services.fiscal_prepare import inflate
from services.types import UnitOfWorkFactory
from storage.models import Client, Gestor, Notice
from storage.models_billing import Fatura
from storage.models_config import Certificate
from storage.models_fiscal import FiscalDocument
from storage.models_links import ContractingLink

# Mid-month, and the first half hour of a month (the current month has almost no time yet).
NOW = datetime(2026, 10, 14, 15, 0, tzinfo=UTC)
MONTH_START = datetime(2026, 11, 1, 3, 20, tzinfo=UTC)  # 00:20 in São Paulo


def build(app: App, now: datetime = NOW, *, fresh: bool = False) -> DemoResult:
    return build_demo(
        app.uow_factory,
        box=secret_box(app.settings),
        billing_setup=billing_from_settings(app.settings),
        fresh=fresh,
        now=now,
    )


def rows(uows: UnitOfWorkFactory, *columns: Any) -> list[Any]:
    uow = uows()
    with uow:
        return list(uow.session.execute(select(*columns)).all())


def count(uows: UnitOfWorkFactory, model: type[object]) -> int:
    uow = uows()
    with uow:
        return uow.session.scalar(select(func.count()).select_from(model)) or 0


def test_the_demo_has_clients_of_every_status_and_both_payers(app: App) -> None:
    result = build(app)

    statuses = Counter(status for (status,) in rows(app.uow_factory, Client.status))
    payers = Counter(payer for (payer,) in rows(app.uow_factory, Client.payer))
    assert result.created
    assert result.clients == 30
    assert statuses == {"efetivado": 18, "teste": 6, "bloqueado": 4, "cancelado": 2}
    assert set(payers) == {"gestor", "cliente"}


@pytest.mark.parametrize("now", [NOW, MONTH_START], ids=["mid-month", "month-start"])
def test_every_stored_note_and_event_verifies_and_sits_in_its_month(
    app: App, now: datetime
) -> None:
    result = build(app, now)

    documents = rows(
        app.uow_factory,
        FiscalDocument.tipo,
        FiscalDocument.modelo,
        FiscalDocument.competencia,
        FiscalDocument.situacao,
        FiscalDocument.reconhecida_em,
        FiscalDocument.xml_deflate,
        FiscalDocument.cancelamento_deflate,
    )
    previous, current = ("2026-09", "2026-10") if now == NOW else ("2026-10", "2026-11")
    assert result.notes == len(documents) == 78
    kinds = Counter((tipo, modelo, competencia) for tipo, modelo, competencia, *_ in documents)
    assert kinds[("emitida", "55", previous)] == 14 + 4 + 8
    assert kinds[("emitida", "55", current)] == 6 + 4
    assert kinds[("emitida", "65", previous)] == 10 + 14
    assert kinds[("emitida", "65", current)] == 5 + 7
    assert kinds[("fornecedor", "55", previous)] == kinds[("fornecedor", "55", current)] == 3
    assert Counter(row[3] for row in documents)["cancelada"] == 5
    assert sum(1 for row in documents if row[0] == "fornecedor" and row[4] is not None) == 2
    for *_, xml, cancel in documents:
        for data in (xml, cancel):
            if data is None:
                continue
            parsed = parse_document(inflate(data))
            assinatura = parsed.assinatura
            assert assinatura is not None
            assert assinatura.valida, assinatura.problema
            if not isinstance(parsed, EventoFiscal):
                assert parsed.protocolo is not None
                assert parsed.protocolo.dig_val == assinatura.digest_value


def test_certificates_are_sealed_and_valid_expiring_and_expired(app: App) -> None:
    build(app)

    principal = access.resolve_principal(app.uow_factory(), CONSOLE_GESTOR)
    assert principal is not None
    box = secret_box(app.settings)
    health: Counter[CertificateStatus] = Counter()
    for client_id, sealed in rows(
        app.uow_factory, Certificate.client_id, Certificate.pfx_encrypted
    ):
        view = certificates.certificate_status(app.uow_factory(), principal, client_id, now=NOW)
        assert view is not None
        health[view.health.status] += 1
        assert b"certificado" not in sealed  # the PKCS#12 friendly name: not in clear
        pfx = box.open(sealed)
        info = read_certificate(pfx, CERT_PASSWORD, now=view.uploaded_at)
        assert info.documento is not None
    assert health == {
        CertificateStatus.VALID: 2,
        CertificateStatus.EXPIRING: 1,
        CertificateStatus.EXPIRED: 1,
    }


def test_the_reminder_link_and_fatura_with_its_boleto_are_waiting(app: App) -> None:
    result = build(app)

    notices = rows(app.uow_factory, Notice.kind, Notice.payload)
    faturas = rows(app.uow_factory, Fatura.competencia, Fatura.nosso_numero, Fatura.due_date)
    assert result.reminders == 1
    reminder = next(payload for kind, payload in notices if kind == "certificado.vencendo")
    assert reminder["days_left"] == 7
    assert reminder["razao_social"] == "Auto Peças Ipê 13 ME"
    assert faturas == [("2026-09", "00000001", date(2026, 10, 10))]
    assert count(app.uow_factory, ContractingLink) == 1


def test_running_it_again_reuses_the_office(app: App) -> None:
    first = build(app)
    second = build(app)

    assert (first.created, second.created) == (True, False)
    assert second.reminders == 0
    assert count(app.uow_factory, Gestor) == 1
    assert count(app.uow_factory, Client) == 30
    assert count(app.uow_factory, FiscalDocument) == 78
    assert count(app.uow_factory, Notice) == 2  # the fatura and the reminder, once


def test_fresh_deletes_the_office_and_builds_it_again(app: App) -> None:
    build(app)
    # Each build makes new certificates (keys and serials): what the old office had is gone.
    old = {fingerprint for (fingerprint,) in rows(app.uow_factory, Certificate.fingerprint)}
    fresh = build(app, fresh=True)

    new = {fingerprint for (fingerprint,) in rows(app.uow_factory, Certificate.fingerprint)}
    uow = app.uow_factory()
    with uow:
        office = uow.gestores.by_cnpj(DEMO_CNPJ)
    assert fresh.created
    assert fresh.reminders == 1  # a new office: its reminder is new too
    assert office is not None
    assert count(app.uow_factory, Gestor) == 1
    assert count(app.uow_factory, Client) == 30
    assert len(new) == 4
    assert not old & new
    assert count(app.uow_factory, FiscalDocument) == 78
    assert count(app.uow_factory, Fatura) == 1
    assert access.resolve_principal(app.uow_factory(), CONSOLE_GESTOR) is not None


def test_a_fresh_rebuild_that_fails_keeps_the_old_office(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    build(app)

    def interrupted(*args: object, **kwargs: object) -> int:
        raise RuntimeError("interrupted")

    monkeypatch.setattr(DemoNotes, "issue", interrupted)
    with pytest.raises(RuntimeError, match="interrupted"):
        build(app, fresh=True)

    assert count(app.uow_factory, Gestor) == 1
    assert count(app.uow_factory, Client) == 30
    assert count(app.uow_factory, FiscalDocument) == 78
