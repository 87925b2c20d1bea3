"""A client whose A1 is stored, the real gateway pointed at the stand-in, and sample documents."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.app import App
from bot.crypto import secret_box
from bot.gateways.sefaz import HttpsSefazGateway, SefazEndpoints
from services import certificates, sefaz_manifest
from services.crypto import SecretBox
from services.principal import Principal
from tests.integration.fiscal_support import client_with_documento
from tests.support_sefaz import StandIn
from tests.unit.certificates.pfx_factory import PASSWORD, make_certificate, make_pfx
from tests.unit.fiscal.samples import DEST_CNPJ

RECIPIENT = DEST_CNPJ  # the samples' notes are addressed to this CNPJ


@dataclass(frozen=True)
class Recipient:
    client_id: int
    cnpj: str


def pfx_valid_now(cnpj: str) -> bytes:
    now = datetime.now(UTC)
    return make_pfx(
        make_certificate(
            cnpj=cnpj, not_before=now - timedelta(days=10), not_after=now + timedelta(days=300)
        )
    )


def recipient(
    app: App,
    gestor: Principal,
    *,
    captura: bool = True,
    cnpj: str = RECIPIENT,
    name: str = "CONSTRUTORA BOA OBRA LTDA",
) -> Recipient:
    """The samples' destinatário (or `cnpj`) as a client of `gestor`, its A1 stored, capture on."""
    card = client_with_documento(app.uow_factory, gestor, cnpj, name)
    box = secret_box(app.settings)
    pfx = pfx_valid_now(cnpj)
    sealed = certificates.accept_file(
        app.uow_factory(), gestor, card.id, box=box, name="a1.pfx", size=len(pfx), data=pfx
    )
    certificates.save_certificate(
        app.uow_factory(),
        gestor,
        card.id,
        box=box,
        sealed_pfx=sealed,
        password=PASSWORD,
        now=datetime.now(UTC),
    )
    if captura:
        sefaz_manifest.set_switches(app.uow_factory(), gestor, card.id, captura=True)
    return Recipient(card.id, cnpj)


def gateway_for(stand_in: StandIn) -> HttpsSefazGateway:
    return HttpsSefazGateway(
        SefazEndpoints(base=stand_in.url), ca_bundle=stand_in.ca_bundle, timeout=10
    )


def box_of(app: App) -> SecretBox:
    return secret_box(app.settings)
