"""The SEFAZ capture wired to this deployment: the HTTPS gateway, the certificate box, the
automatic Ciência and the summaries' XML asked by key (for the scheduler's `captura` job and
`revendabot sefaz capturar`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial

from bot.crypto import secret_box
from bot.gateways.sefaz import gateway_from_settings
from bot.settings import Settings
from services import sefaz_capture, sefaz_download, sefaz_manifest
from services.sefaz import SefazGateway
from services.types import UnitOfWorkFactory

CaptureRun = Callable[..., sefaz_capture.CaptureReport]


def capture_runner(
    settings: Settings, uow_factory: UnitOfWorkFactory, gateway: SefazGateway | None = None
) -> CaptureRun:
    """`run(now=…, holder=…, documento=None)` → the capture report."""
    gateway = gateway or gateway_from_settings(settings)
    box = secret_box(settings)

    def run(
        *, now: datetime, holder: str, documento: str | None = None
    ) -> sefaz_capture.CaptureReport:
        return sefaz_capture.capture(
            uow_factory,
            gateway,
            box,
            now=now,
            holder=holder,
            documento=documento,
            auto_ciencia=partial(sefaz_manifest.ciencia_automatica, gateway=gateway),
            baixar_pendentes=partial(sefaz_download.pendentes_da_varredura, gateway=gateway),
        )

    return run
