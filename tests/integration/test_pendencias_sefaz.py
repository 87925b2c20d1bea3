"""Pendências fed by the SEFAZ capture: supplier notes awaiting manifestação and summaries
without their XML, for clients whose capture is on, within the deadline, until a conclusive
event is on record; each item opens the client's pending supplier notes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
import time_machine

from bot.app import App
from domain.clients import Role
from domain.pendencias import Kind
from handlers import texts
from handlers.core import go_pendentes
from services import pendencias
from services.reminders import SAO_PAULO
from services.types import UnitOfWorkFactory
from storage.models_fiscal import FiscalDocument
from storage.models_sefaz import FiscalEvent, SefazCursor
from tests.support import Chat, Office, add_client, add_member, make_office
from tests.unit.helpers import step_of, texts_of

TODAY = date(2026, 3, 16)
_numbers = iter(range(1, 10_000))


def sp(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=SAO_PAULO).astimezone(UTC)


@pytest.fixture(autouse=True)
def clock() -> Iterator[None]:
    with time_machine.travel(sp(TODAY), tick=True):
        yield


@pytest.fixture
def chat(app: App) -> Chat:
    return Chat(app.conversation, app.uow_factory, files=app.files)


@pytest.fixture
def office(app: App, chat: Chat) -> Office:
    return make_office(app.uow_factory, 1, identity_key=chat.identity_key)


def capturing(uow_factory: UnitOfWorkFactory, client_id: int, cnpj: str, on: bool = True) -> None:
    with uow_factory() as uow:
        uow.session.add(SefazCursor(client_id=client_id, cnpj=cnpj, captura_ativa=on))
        uow.commit()


def supplier_note(
    uow_factory: UnitOfWorkFactory, client_id: int, day: date, *, resumo: bool, emitente: str
) -> str:
    numero = next(_numbers)
    chave = f"35{numero:042d}"
    with uow_factory() as uow:
        uow.session.add(
            FiscalDocument(
                client_id=client_id,
                tipo="fornecedor",
                modelo="55",
                chave=chave,
                serie=1,
                numero=numero,
                emitida_em=sp(day),
                emitida_offset_min=-180,
                competencia=f"{day.year}-{day.month:02d}",
                emitente_documento="11222333000181",
                emitente_nome=emitente,
                valor=Decimal("10.00"),
                situacao="autorizada",
                recebida_em=sp(day),
                recebida_via="sefaz",
                resumo=resumo,
                xml_crc32=0,
                xml_size=0,
                xml_deflate=b"",
            )
        )
        uow.commit()
    return chave


def conclude(uow_factory: UnitOfWorkFactory, client_id: int, chave: str, tp_evento: str) -> None:
    with uow_factory() as uow:
        uow.session.add(
            FiscalEvent(
                client_id=client_id,
                chave=chave,
                tp_evento=tp_evento,
                n_seq=1,
                descricao="evento",
                c_stat="135",
                registrado_em=sp(TODAY),
                origem="manifestacao",
            )
        )
        uow.commit()


def test_supplier_notes_to_manifest_and_summaries_are_listed_with_their_deadline(
    app: App, chat: Chat, office: Office
) -> None:
    uows = app.uow_factory
    padaria = add_client(uows, office.gestor, 1, name="Padaria Pão Bom")
    capturing(uows, padaria.id, padaria.documento)
    supplier_note(uows, padaria.id, TODAY - timedelta(days=10), resumo=False, emitente="Moinho")
    supplier_note(uows, padaria.id, TODAY - timedelta(days=20), resumo=True, emitente="Laticínio")
    done = supplier_note(uows, padaria.id, TODAY - timedelta(days=5), resumo=False, emitente="X")
    conclude(uows, padaria.id, done, "210200")  # confirmed: nothing left to do
    ciencia = supplier_note(
        uows, padaria.id, TODAY - timedelta(days=6), resumo=False, emitente="Y"
    )
    conclude(uows, padaria.id, ciencia, "210210")  # Ciência alone does not close it
    supplier_note(uows, padaria.id, TODAY - timedelta(days=200), resumo=False, emitente="Old")
    quiet = add_client(uows, office.gestor, 2, name="Mercado Sem Captura")
    capturing(uows, quiet.id, quiet.documento, on=False)
    supplier_note(uows, quiet.id, TODAY - timedelta(days=3), resumo=False, emitente="Z")

    page = pendencias.list_page(uows(), office.gestor, page=1, page_size=20)

    kinds = [(item.kind, item.detail) for item in page.items]
    assert (Kind.MANIFESTACAO, "Moinho") in kinds
    assert (Kind.MANIFESTACAO, "Y") in kinds
    assert (Kind.RESUMO_SEM_XML, "Laticínio") in kinds
    assert all(detail not in ("X", "Old", "Z") for _, detail in kinds)
    moinho = next(item for item in page.items if item.detail == "Moinho")
    assert moinho.due == TODAY - timedelta(days=10) + timedelta(days=180)

    chat.say("/menu")
    chat.press(texts.PENDENCIAS_BUTTON.format(count=page.total))
    listed = "\n".join(texts_of(chat.received[-1:]))
    until = (TODAY + timedelta(days=170)).strftime("%d/%m/%Y")
    assert f"Padaria Pão Bom — nota de Moinho: manifestar até {until} (170 dias)" in listed
    assert "resumo de Laticínio sem o XML: Ciência até" in listed

    chat.press_id(go_pendentes(padaria.id))
    assert step_of(chat) == ("fornecedores", "lista")


def test_a_contador_sees_them_and_another_gestor_does_not(app: App, office: Office) -> None:
    uows = app.uow_factory
    padaria = add_client(uows, office.gestor, 1, name="Padaria Pão Bom")
    capturing(uows, padaria.id, padaria.documento)
    supplier_note(uows, padaria.id, TODAY - timedelta(days=10), resumo=True, emitente="Moinho")
    contador = add_member(uows, office, "test:contador", Role.CONTADOR)
    other = make_office(uows, 2, identity_key="test:gestor2")

    seen = pendencias.list_page(uows(), contador, page=1, page_size=20)
    theirs = pendencias.list_page(uows(), other.gestor, page=1, page_size=20)

    assert [item.kind for item in seen.items] == [Kind.RESUMO_SEM_XML]
    assert theirs.total == 0
