"""Pendências: one list across the office's clients, most urgent first, grouped, paged; each
item a button straight to its action, refused to a contador and to another gestor."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import Engine, update

from bot.app import App, build_app
from bot.scheduler import options_from as scheduler_options
from bot.settings import Settings
from domain.clients import ContractStatus, Payer, Role
from domain.pendencias import Kind
from domain.text import fill
from handlers import texts
from handlers.core import go_card, go_cert
from handlers.pendencias import PAGE_SIZE, go_contrato, go_fatura, go_link
from services import contracts, pendencias
from services.errors import Forbidden, NotFound
from services.messages import Document
from services.principal import Principal
from storage.models_billing import Fatura
from storage.models_links import ContractingLink
from tests.integration.pendencias_support import (
    TODAY,
    Seeded,
    put_note,
    seed_each_kind,
    set_status,
    sp,
)
from tests.integration.reminder_support import put_certificate
from tests.support import Chat, Office, add_client, add_member, make_office
from tests.unit.helpers import offer, step_of, texts_of


@pytest.fixture(autouse=True)
def mid_march() -> Iterator[None]:
    with time_machine.travel(sp(TODAY), tick=True):
        yield


@pytest.fixture
def office(app: App, chat: Chat) -> Office:
    return make_office(app.uow_factory, 1, identity_key=chat.identity_key)


@pytest.fixture
def seeded(app: App, office: Office) -> Seeded:
    return seed_each_kind(app.uow_factory, office)


def listed(app: App, principal: Principal, **kwargs: object) -> list[tuple[Kind, int]]:
    page = pendencias.list_page(app.uow_factory(), principal, page_size=50, **kwargs)  # type: ignore[arg-type]
    return [(item.kind, item.object_id) for item in page.items]


def test_the_list_puts_overdue_groups_first_then_the_nearest_deadline_then_the_rest(
    app: App, office: Office, seeded: Seeded
) -> None:
    page = pendencias.list_page(app.uow_factory(), office.gestor, page_size=50)

    assert [(g.kind, g.count, g.overdue) for g in page.groups] == [
        (Kind.FATURA, 2, 1),  # overdue since 10/03
        (Kind.CERTIFICADO, 2, 1),  # expired on 13/03
        (Kind.LINK, 1, 0),  # expires in April
        (Kind.TESTE, 1, 0),
        (Kind.SEM_NOTAS, 1, 0),
    ]
    assert [(item.kind, item.object_id) for item in page.items] == [
        (Kind.FATURA, seeded.overdue_fatura),
        (Kind.FATURA, seeded.due_fatura),
        (Kind.CERTIFICADO, seeded.expired_cert),
        (Kind.CERTIFICADO, seeded.expiring_cert),
        (Kind.LINK, seeded.link),
        (Kind.TESTE, seeded.teste),
        (Kind.SEM_NOTAS, seeded.sem_notas),
    ]
    assert page.total == 7
    assert pendencias.count(app.uow_factory(), office.gestor) == 7


def test_the_menu_counts_them_and_the_list_shows_each_group_with_its_count(
    chat: Chat, seeded: Seeded
) -> None:
    chat.say("/menu")
    chat.press(texts.PENDENCIAS_BUTTON.format(count=7))

    text = chat.last_text().text
    assert text.startswith(fill(texts.PENDENCIAS_HEADER, total=7, page=1, pages=1))
    assert "🧾 Minhas faturas em aberto → Gerar boleto (2) — 1 já venceu" in text
    assert "🔐 Certificado digital vencido ou vencendo → Enviar certificado (2)" in text
    assert "1. Fatura 02/2026 — venceu em 10/03/2026" in text
    assert "3. Alfa Vencido Ltda — certificado venceu (13/03/2026)" in text
    assert "4. Beta Vencendo Ltda — certificado vence em 10 dias (26/03/2026)" in text
    assert "6. Delta Teste Ltda — em Teste desde 24/02/2026" in text
    assert "7. Zeta Parou Ltda — nenhuma nota em 03/2026" in text
    ids = [c.id.split("|", 1)[1] for c in chat.last_with_buttons().choices]
    assert ids == [
        go_fatura(seeded.overdue_fatura),
        go_fatura(seeded.due_fatura),
        go_cert(seeded.expired_cert),
        go_cert(seeded.expiring_cert),
        go_link(seeded.link),
        go_contrato(seeded.teste),
        go_card(seeded.sem_notas),
        "nav:menu",
    ]


def test_each_kind_leaves_the_list_when_its_object_is_dealt_with(
    app: App, office: Office, seeded: Seeded
) -> None:
    uow_factory = app.uow_factory
    put_certificate(uow_factory, seeded.expired_cert, TODAY + timedelta(days=365), tag="novo")
    set_status(uow_factory, seeded.expiring_cert, "cancelado", None)
    with uow_factory() as uow:
        uow.session.execute(
            update(Fatura).where(Fatura.id == seeded.overdue_fatura).values(status="paga")
        )
        uow.session.execute(
            update(ContractingLink)
            .where(ContractingLink.id == seeded.link)
            .values(used_at=sp(TODAY))
        )
        uow.commit()
    contracts.save_contract(
        uow_factory(),
        office.gestor,
        seeded.teste,
        status=ContractStatus.EFETIVADO,
        payer=Payer.GESTOR,
    )
    put_note(uow_factory, seeded.sem_notas, TODAY)

    assert listed(app, office.gestor) == [(Kind.FATURA, seeded.due_fatura)]


def test_a_client_put_back_in_teste_is_listed_once_it_has_been_there_too_long(
    app: App, office: Office
) -> None:
    card = add_client(app.uow_factory, office.gestor, 30)
    set_status(app.uow_factory, card.id, "efetivado", sp(TODAY - timedelta(days=90)))
    contracts.save_contract(
        app.uow_factory(),
        office.gestor,
        card.id,
        status=ContractStatus.TESTE,
        payer=Payer.GESTOR,
        now=sp(TODAY),
    )

    assert listed(app, office.gestor) == []  # 90 days since created, but Teste since today
    later = sp(TODAY + timedelta(days=15))
    assert listed(app, office.gestor, now=later) == [(Kind.TESTE, card.id)]


def test_a_certificate_enters_the_list_thirty_days_before_its_last_day(
    app: App, office: Office
) -> None:
    card = add_client(app.uow_factory, office.gestor, 31)
    set_status(app.uow_factory, card.id, "efetivado", None)
    put_certificate(app.uow_factory, card.id, TODAY + timedelta(days=31))

    assert listed(app, office.gestor) == []
    tomorrow = sp(TODAY + timedelta(days=1))
    assert listed(app, office.gestor, now=tomorrow) == [(Kind.CERTIFICADO, card.id)]


def test_the_pages_run_across_groups_and_proxima_turns_them(
    app: App, chat: Chat, office: Office, seeded: Seeded
) -> None:
    for n in range(10, 15):  # five more certificates: 12 items, two pages of 7
        card = add_client(app.uow_factory, office.gestor, n, name=f"Cliente {n} Ltda")
        set_status(app.uow_factory, card.id, "efetivado", None)
        put_certificate(app.uow_factory, card.id, TODAY + timedelta(days=n))

    first = pendencias.list_page(app.uow_factory(), office.gestor, page=1, page_size=PAGE_SIZE)
    second = pendencias.list_page(app.uow_factory(), office.gestor, page=2, page_size=PAGE_SIZE)

    assert (first.total, first.pages) == (12, 2)
    assert [i.kind for i in first.items] == [Kind.FATURA] * 2 + [Kind.CERTIFICADO] * 5
    assert [i.kind for i in second.items] == [Kind.CERTIFICADO] * 2 + [
        Kind.LINK,
        Kind.TESTE,
        Kind.SEM_NOTAS,
    ]
    chat.say("/menu")
    chat.press(texts.PENDENCIAS_BUTTON.format(count=12))
    assert len(chat.labels()) == PAGE_SIZE + 2  # the items, Próxima, Menu
    chat.press(texts.PROXIMA)
    assert chat.last_text().text.startswith(
        fill(texts.PENDENCIAS_HEADER, total=12, page=2, pages=2)
    )
    assert chat.labels()[0] == "8. Cliente 13 Ltda"
    assert chat.labels()[-2:] == [texts.ANTERIOR, texts.MENU]


def test_an_empty_office_is_told_there_is_nothing_pending(chat: Chat, office: Office) -> None:
    chat.say("/menu")
    chat.press(texts.PENDENCIAS_BUTTON.format(count=0))

    assert chat.last_text().text == texts.PENDENCIAS_EMPTY


# -- the actions ---------------------------------------------------------------------------------


def test_a_teste_item_opens_the_contract_and_voltar_comes_back_to_the_list(
    chat: Chat, seeded: Seeded
) -> None:
    chat.say("/menu")
    chat.press(texts.PENDENCIAS_BUTTON.format(count=7))

    chat.press("6. Delta Teste Ltda")
    assert step_of(chat) == ("config", "contrato")
    assert "Delta Teste Ltda" in chat.last_text().text
    chat.press(texts.VOLTAR)
    assert step_of(chat) == ("pendencias", "lista")


def test_a_fatura_item_sends_its_boleto_at_once(chat: Chat, seeded: Seeded) -> None:
    chat.say("/menu")
    chat.press(texts.PENDENCIAS_BUTTON.format(count=7))

    chat.press("1. Boleto 02/2026")

    [document] = chat.documents()
    assert isinstance(document, Document)
    assert document.data.startswith(b"%PDF")
    assert step_of(chat) == ("dados", "fatura")


def test_the_certificate_and_link_items_open_their_actions(chat: Chat, seeded: Seeded) -> None:
    chat.say("/menu")
    chat.press(texts.PENDENCIAS_BUTTON.format(count=7))
    chat.press("3. Alfa Vencido Ltda")
    assert step_of(chat)[0] == "config_cert"

    chat.say("/menu")
    chat.press(texts.PENDENCIAS_BUTTON.format(count=7))
    chat.press("5. Link FazNota")
    assert step_of(chat) == ("link", "detalhe")


# -- contador and tenancy ------------------------------------------------------------------------


@pytest.fixture
def contador(app: App, office: Office) -> Chat:
    add_member(app.uow_factory, office, "test:contador", Role.CONTADOR)
    return Chat(app.conversation, app.uow_factory, identity_key="test:contador")


def test_a_contador_sees_certificates_teste_and_silent_clients_with_the_card_only(
    app: App, contador: Chat, seeded: Seeded
) -> None:
    contador.say("/menu")
    contador.press(texts.PENDENCIAS_BUTTON.format(count=4))

    text = contador.last_text().text
    assert "Fatura" not in text
    assert "Link" not in text
    assert "→ Enviar certificado" not in text
    assert "→ Contrato" not in text
    ids = [c.id.split("|", 1)[1] for c in contador.last_with_buttons().choices]
    assert ids == [
        go_card(seeded.expired_cert),
        go_card(seeded.expiring_cert),
        go_card(seeded.teste),
        go_card(seeded.sem_notas),
        "nav:menu",
    ]


@pytest.mark.parametrize("kind", ["contrato", "fatura", "link"])
def test_a_contador_pressing_a_gerenciar_item_is_refused(
    app: App, contador: Chat, seeded: Seeded, kind: str
) -> None:
    choice = {
        "contrato": go_contrato(seeded.teste),
        "fatura": go_fatura(seeded.overdue_fatura),
        "link": go_link(seeded.link),
    }[kind]
    contador.say("/menu")
    offer(contador, choice)  # as if a crafted or stale message had offered it

    replies = contador.press_id(choice)

    assert Forbidden.message in "\n".join(texts_of(replies))
    assert step_of(contador) == ("menu", "inicio")


def test_the_service_refuses_a_contador_the_kinds_it_cannot_see(app: App, office: Office) -> None:
    principal = add_member(app.uow_factory, office, "test:contador", Role.CONTADOR)

    with pytest.raises(Forbidden):
        pendencias.require_kind(principal, Kind.FATURA)
    assert set(pendencias.kinds_for(principal)) == {
        Kind.CERTIFICADO,
        Kind.MANIFESTACAO,
        Kind.RESUMO_SEM_XML,
        Kind.TESTE,
        Kind.SEM_NOTAS,
    }


@pytest.mark.parametrize("kind", ["contrato", "fatura", "link", "certificado", "card"])
def test_another_gestors_item_is_not_found(
    app: App, chat: Chat, office: Office, seeded: Seeded, kind: str
) -> None:
    intruder = Chat(app.conversation, app.uow_factory, identity_key="test:gestor2")
    make_office(app.uow_factory, 2, identity_key="test:gestor2")
    choice = {
        "contrato": go_contrato(seeded.teste),
        "fatura": go_fatura(seeded.overdue_fatura),
        "link": go_link(seeded.link),
        "certificado": go_cert(seeded.expired_cert),
        "card": go_card(seeded.sem_notas),
    }[kind]
    intruder.say("/menu")
    intruder.press(texts.PENDENCIAS_BUTTON.format(count=0))  # its own list is empty
    offer(intruder, choice)

    replies = intruder.press_id(choice)

    assert "não encontrad" in "\n".join(texts_of(replies))
    assert not intruder.documents()


def test_an_item_id_never_offered_to_this_chat_is_refused_like_any_other_gestors(
    app: App, seeded: Seeded
) -> None:
    # Item buttons work from any state, like a notice's (handlers/push.py): what guards them is
    # the object's tenancy, checked when pressed.
    intruder = Chat(app.conversation, app.uow_factory, identity_key="test:gestor2")
    make_office(app.uow_factory, 2, identity_key="test:gestor2")
    intruder.say("/menu")

    replies = intruder.press_id(go_fatura(seeded.overdue_fatura))

    assert "⚠️ Fatura não encontrada." in texts_of(replies)
    assert not intruder.documents()


def test_the_lists_of_two_offices_never_mix(app: App, office: Office, seeded: Seeded) -> None:
    other = make_office(app.uow_factory, 2)
    theirs = seed_each_kind(app.uow_factory, other, base=100)

    mine = set(listed(app, office.gestor))
    their_items = set(listed(app, other.gestor))
    assert not mine & their_items
    assert (Kind.TESTE, theirs.teste) in their_items
    assert (Kind.FATURA, theirs.overdue_fatura) in their_items
    assert pendencias.count(app.uow_factory(), other.gestor) == 7
    with pytest.raises(NotFound):
        contracts.get_contract(app.uow_factory(), other.gestor, seeded.teste)


def test_teste_alerta_dias_comes_from_the_settings(db_engine: Engine, tmp_path: Path) -> None:
    settings = Settings(
        environment="test",
        database_url=str(db_engine.url),
        file_store_url=str(tmp_path / "files"),
        teste_alerta_dias=30,
        _env_file=None,
    )
    patient = build_app(settings, db=db_engine)
    chat = Chat(patient.conversation, patient.uow_factory)
    office = make_office(patient.uow_factory, 1, identity_key=chat.identity_key)
    seed_each_kind(patient.uow_factory, office)  # its Teste client is 20 days in

    chat.say("/menu")

    assert texts.PENDENCIAS_BUTTON.format(count=6) in chat.labels()
    assert scheduler_options(settings).pendencias.teste_alerta_dias == 30
