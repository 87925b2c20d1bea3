"""Helpers for the fiscal chat tests: storing a client's notes through the real ingest service,
walking the chat to Gerenciar, and opening the documents the bot sent."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import pytest

from handlers import texts
from services.clients import ClientCard
from services.fiscal_ingest import IncomingFile, IngestReport, ingest
from services.messages import Document
from services.types import UnitOfWorkFactory
from tests.support import Chat
from tests.unit.fiscal_chat.factory import (
    NotaSpec,
    cancelamento_xml,
    month_specs,
    nfe_proc_xml,
)

# "Mês atual" in the tests is November 2026 (São Paulo); "Mês anterior" is October.
NOW = datetime(2026, 11, 16, 15, 0, tzinfo=UTC)


@dataclass(frozen=True)
class ClientRef:
    client_id: int
    documento: str


def store(
    uow_factory: UnitOfWorkFactory, card: ClientCard, files: Iterable[tuple[str, bytes]]
) -> IngestReport:
    """Store XMLs for the client through the ingest service; every file must be accepted."""
    report = ingest(
        uow_factory(),
        ClientRef(card.id, card.documento),
        [IncomingFile(name, data) for name, data in files],
        via="test",
    )
    assert report.recusados == 0, [o.motivo for o in report.refusals]
    return report


def store_emitted(
    uow_factory: UnitOfWorkFactory,
    card: ClientCard,
    count: int,
    *,
    modelo: str = "55",
    month: int = 10,
    cancel: Iterable[int] = (),
    seed: int = 7,
    year: int = 2026,
) -> list[NotaSpec]:
    """`count` notes issued by the client in `month`/`year`; the numbers in `cancel` cancelled."""
    specs = month_specs(
        count, year=year, month=month, modelo=modelo, emitente_cnpj=card.documento, seed=seed
    )
    files = [(f"{s.chave()}.xml", nfe_proc_xml(s)) for s in specs]
    files += [
        (f"{s.chave()}-can.xml", cancelamento_xml(s)) for s in specs if s.numero in set(cancel)
    ]
    store(uow_factory, card, files)
    return specs


def store_supplier_notes(
    uow_factory: UnitOfWorkFactory,
    card: ClientCard,
    count: int,
    *,
    month: int = 10,
    supplier: str = "FORNECEDOR DE ACO LTDA",
    seed: int = 11,
) -> list[NotaSpec]:
    """`count` NF-e issued to the client by a supplier in `month`/2026."""
    from tests.support import cnpj

    specs = [
        NotaSpec(
            numero=s.numero,
            dh_emi=s.dh_emi,
            emitente_cnpj=cnpj(700 + seed),
            emitente_nome=supplier,
            dest_cnpj=card.documento,
            dest_nome=card.razao_social,
            itens=s.itens,
            cnf=s.cnf,
        )
        for s in month_specs(count, month=month, seed=seed)
    ]
    store(uow_factory, card, [(f"{s.chave()}.xml", nfe_proc_xml(s)) for s in specs])
    return specs


def open_gerenciar(chat: Chat, client_name: str) -> None:
    chat.say("/menu")
    chat.press(texts.CLIENTES)
    chat.press(client_name)
    chat.press(texts.GERENCIAR)


def unzip(document: Document) -> dict[str, bytes]:
    """The members of a ZIP the bot sent, after zipfile checked every CRC."""
    with zipfile.ZipFile(io.BytesIO(document.data)) as archive:
        assert archive.testzip() is None
        return {name: archive.read(name) for name in archive.namelist()}


def limit_uploads(chat: Chat, limit: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Scale the chat's channel upload limit down (e.g. 12 kB standing for 50 MB)."""
    exports = chat.engine.dialogue.config.exports  # type: ignore[attr-defined]
    capabilities = exports.capabilities(chat.channel)
    monkeypatch.setitem(exports.channels, chat.channel, replace(capabilities, upload_limit=limit))
