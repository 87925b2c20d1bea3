"""Helpers for the Configurações dialogue tests: reaching the screens, sending files and
passwords, certificates generated around today's date."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from handlers import texts
from services.messages import FileBody, Outbound, TextBody
from services.types import UnitOfWorkFactory
from storage.models_config import Certificate
from tests.support import Chat, cnpj
from tests.unit.certificates.pfx_factory import PASSWORD, make_certificate, make_pfx

PFX_MIME = "application/x-pkcs12"


def open_manage(chat: Chat, client_name: str) -> None:
    chat.say("/menu")
    chat.press(texts.CLIENTES)
    chat.press(client_name)
    chat.press(texts.GERENCIAR)


def open_config(chat: Chat, client_name: str, section: str | None = None) -> None:
    open_manage(chat, client_name)
    chat.press(texts.CONFIGURACOES)
    if section:
        chat.press(section)


def send_pfx(chat: Chat, data: bytes | None, name: str = "certificado.pfx") -> list[Outbound]:
    size = len(data) if data is not None else 30 * 1024 * 1024
    return chat.deliver(chat.event(FileBody("ref", name, PFX_MIME, size, data)))


def type_password(chat: Chat, password: str, ref: str = "m900") -> list[Outbound]:
    return chat.deliver(replace(chat.event(TextBody(password)), message_ref=ref))


def pfx_for(
    n: int,
    *,
    days_left: int = 300,
    password: str = PASSWORD,
    documento: str | None = None,
    **options: object,
) -> bytes:
    """A PFX for client n (cnpj(n)), valid until `days_left` days from now."""
    now = datetime.now(UTC)
    certificate = make_certificate(
        cnpj=documento or cnpj(n),
        not_before=now - timedelta(days=30),
        not_after=now + timedelta(days=days_left),
    )
    return make_pfx(certificate, password=password, **options)  # type: ignore[arg-type]


def stored_certificate(uow_factory: UnitOfWorkFactory, client_id: int) -> Certificate | None:
    with uow_factory() as uow:
        row = uow.session.scalar(select(Certificate).where(Certificate.client_id == client_id))
        if row is not None:
            uow.session.expunge(row)
        return row
