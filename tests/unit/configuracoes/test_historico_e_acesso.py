"""Histórico on the client card, and Acessar software do cliente (the URL button)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine

from domain.clients import ContractStatus, Payer
from handlers import texts
from services import contracts
from services.clients import ClientCard
from services.messages import UrlButton
from services.types import UnitOfWorkFactory
from tests.support import Chat, Office
from tests.unit.configuracoes.helpers import open_manage
from tests.unit.helpers import audit_entries, step_of


def open_card(chat: Chat, name: str) -> None:
    chat.say("/menu")
    chat.press(texts.CLIENTES)
    chat.press(name)


def test_historico_lists_who_when_what_and_before_after_in_sao_paulo_time(
    chat: Chat, office: Office, client: ClientCard, uow_factory: UnitOfWorkFactory
) -> None:
    moment = datetime(2027, 1, 1, 2, 30, tzinfo=UTC)  # 23:30 of Dec 31st in São Paulo
    with time_machine.travel(moment, tick=False):
        contracts.save_contract(
            uow_factory(),
            office.gestor,
            client.id,
            status=ContractStatus.BLOQUEADO,
            payer=Payer.GESTOR,
        )
    open_card(chat, client.razao_social)

    chat.press(texts.HISTORICO)

    shown = chat.last_text().text
    assert shown.startswith(
        f"🕓 Histórico de {client.razao_social} — página 1 de 1\n\n"
        "31/12/2026 23:30 — test:alice\nContrato alterado\n  Status: Teste → Bloqueado\n\n"
    )
    assert shown.endswith("Cliente cadastrado")
    assert chat.labels() == [texts.VOLTAR, texts.MENU]
    chat.press(texts.VOLTAR)
    assert step_of(chat) == ("clientes", "card")


def test_historico_pages_five_entries_at_a_time(
    chat: Chat, office: Office, client: ClientCard, uow_factory: UnitOfWorkFactory
) -> None:
    for status in ["efetivado", "bloqueado", "efetivado", "cancelado", "efetivado", "teste"]:
        contracts.save_contract(
            uow_factory(),
            office.gestor,
            client.id,
            status=ContractStatus(status),
            payer=Payer.GESTOR,
        )
    open_card(chat, client.razao_social)

    chat.press(texts.HISTORICO)
    assert "— página 1 de 2" in chat.last_text().text
    assert chat.last_text().text.count("Contrato alterado") == 5
    assert chat.labels() == [texts.PROXIMA, texts.VOLTAR, texts.MENU]

    chat.press(texts.PROXIMA)

    shown = chat.last_text().text
    assert "— página 2 de 2" in shown
    assert "Contrato alterado\n  Status: Teste → Efetivado" in shown
    assert shown.endswith("Cliente cadastrado")
    assert chat.labels() == [texts.ANTERIOR, texts.VOLTAR, texts.MENU]


def test_acessar_software_offers_a_url_button_to_the_softwares_base_url(
    chat: Chat, office: Office, client: ClientCard, uow_factory: UnitOfWorkFactory
) -> None:
    open_manage(chat, client.razao_social)

    chat.press(texts.ACESSAR_SOFTWARE)

    message = chat.last_text()
    assert message.text.startswith(
        f"🔗 Link de acesso ao FazNota como {client.razao_social}.\nVale por 5 minutos (até "
    )
    (button,) = message.buttons[0]
    assert isinstance(button, UrlButton)
    assert button.label == "Abrir o FazNota"
    assert button.url.startswith("https://app.faznota.com.br/acesso/")
    assert len(button.url.rsplit("/", 1)[1]) > 40
    assert chat.labels() == [texts.VOLTAR, texts.MENU]
    assert audit_entries(uow_factory, client.id)[0].action == "software.access"
    chat.press(texts.VOLTAR)
    assert step_of(chat) == ("clientes", "gerenciar")


def test_acessar_software_of_a_blocked_client_explains_and_gives_no_link(
    chat: Chat, office: Office, client: ClientCard, uow_factory: UnitOfWorkFactory
) -> None:
    contracts.save_contract(
        uow_factory(),
        office.gestor,
        client.id,
        status=ContractStatus.CANCELADO,
        payer=Payer.GESTOR,
    )
    open_manage(chat, client.razao_social)

    chat.press(texts.ACESSAR_SOFTWARE)

    message = chat.last_text()
    assert message.text == (
        "⚠️ O contrato deste cliente está Cancelado: o acesso ao software está suspenso. "
        "Para liberar, mude o status em Configurações → Contrato."
    )
    assert not any(isinstance(b, UrlButton) for row in message.buttons for b in row)


def test_each_visit_makes_a_new_link(chat: Chat, office: Office, client: ClientCard) -> None:
    open_manage(chat, client.razao_social)
    chat.press(texts.ACESSAR_SOFTWARE)
    first = chat.last_text().buttons[0][0]
    chat.press(texts.VOLTAR)
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=1)):
        chat.press(texts.ACESSAR_SOFTWARE)
    second = chat.last_text().buttons[0][0]

    assert isinstance(first, UrlButton)
    assert isinstance(second, UrlButton)
    assert first.url != second.url
