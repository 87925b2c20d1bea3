"""Chave de integração, Contrato and Software screens: show, change only on confirmation, audit."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from domain.clients import ContractStatus, Payer
from handlers import texts
from services import integration_keys
from services.clients import ClientCard
from services.integration_keys import AccessCut, KeyRefused
from services.messages import Text
from services.types import UnitOfWorkFactory
from storage.models import Client
from tests.support import Chat, Office
from tests.unit.configuracoes.helpers import open_config
from tests.unit.helpers import audit_entries, step_of


def stored(uow_factory: UnitOfWorkFactory, client_id: int) -> Client:
    with uow_factory() as uow:
        row = uow.session.scalar(select(Client).where(Client.id == client_id))
        assert row is not None
        uow.session.expunge(row)
        return row


def actions(uow_factory: UnitOfWorkFactory, client_id: int) -> list[str]:
    return [e.action for e in audit_entries(uow_factory, client_id)]


def test_configuracoes_offers_the_four_settings_the_sefaz_connection_and_the_package_toggle(
    chat: Chat, office: Office, client: ClientCard
) -> None:
    open_config(chat, client.razao_social)

    assert chat.last_text().text == texts.CONFIG_TEXT.format(name=client.razao_social)
    assert chat.labels() == [
        texts.CERTIFICADO_DIGITAL,
        texts.CHAVE_INTEGRACAO,
        texts.CONTRATO,
        texts.SOFTWARE,
        texts.SEFAZ_CONFIG,
        texts.PACOTE_TOGGLE.format(estado=texts.PACOTE_OFF),  # a client in Teste: off
        texts.VOLTAR,
        texts.MENU,
    ]
    chat.press(texts.VOLTAR)
    assert step_of(chat) == ("clientes", "gerenciar")


# -- Chave de integração ---------------------------------------------------------------------


def test_the_key_screen_shows_prefix_and_date_but_never_the_whole_key(
    chat: Chat, office: Office, client: ClientCard
) -> None:
    open_config(chat, client.razao_social, texts.CHAVE_INTEGRACAO)

    shown = chat.last_text().text
    assert client.integration_key is not None
    assert f"Chave atual: {client.integration_key[:12]}… (criada em " in shown
    assert client.integration_key not in shown
    assert chat.labels() == [texts.GERAR_NOVA_CHAVE, texts.VOLTAR, texts.MENU]


def test_gerar_nova_chave_warns_and_voltar_changes_nothing(
    chat: Chat, office: Office, client: ClientCard, uow_factory: UnitOfWorkFactory
) -> None:
    open_config(chat, client.razao_social, texts.CHAVE_INTEGRACAO)

    chat.press(texts.GERAR_NOVA_CHAVE)
    assert chat.last_text().text == texts.CHAVE_CONFIRM.format(name=client.razao_social)
    assert chat.labels() == [texts.CONFIRMAR, texts.VOLTAR, texts.CANCELAR]
    chat.press(texts.VOLTAR)

    assert step_of(chat) == ("config", "chave")
    assert client.integration_key is not None
    assert integration_keys.authenticate(uow_factory(), client.integration_key).client_id == (
        client.id
    )
    assert "integration_key.regenerate" not in actions(uow_factory, client.id)


def test_confirming_shows_the_new_key_once_and_the_old_one_stops_working(
    chat: Chat, office: Office, client: ClientCard, uow_factory: UnitOfWorkFactory
) -> None:
    open_config(chat, client.razao_social, texts.CHAVE_INTEGRACAO)
    chat.press(texts.GERAR_NOVA_CHAVE)

    shown, screen = chat.press(texts.CONFIRMAR)

    assert isinstance(shown, Text)
    assert isinstance(screen, Text)
    new_key = shown.text.rsplit("\n", 1)[1]
    assert shown.text == texts.CHAVE_NEW.format(name=client.razao_social, key=new_key)
    assert shown.code == (new_key,)  # as code: one tap copies it
    assert f"Chave atual: {new_key[:12]}…" in screen.text
    assert new_key not in screen.text
    assert integration_keys.authenticate(uow_factory(), new_key).client_id == client.id
    with pytest.raises(KeyRefused):
        integration_keys.authenticate(uow_factory(), client.integration_key or "")
    (entry,) = [e for e in audit_entries(uow_factory, client.id) if e.action.startswith("integ")]
    assert entry.before == {"prefix": (client.integration_key or "")[:12]}
    assert entry.after == {"prefix": new_key[:12]}
    chat.press(texts.VOLTAR)
    assert step_of(chat) == ("config", "inicio")


# -- Contrato --------------------------------------------------------------------------------


def test_the_contract_screen_shows_status_and_payer_with_the_choices(
    chat: Chat, office: Office, client: ClientCard
) -> None:
    open_config(chat, client.razao_social, texts.CONTRATO)

    assert chat.last_text().text == texts.CONTRATO_TEXT.format(
        name=client.razao_social, status="Teste", payer="Gestor"
    )
    assert chat.labels() == [
        "Efetivado",
        "✓ Teste",
        "Bloqueado",
        "Cancelado",
        "✓ Gestor",
        "Cliente",
        texts.SALVAR,
        texts.VOLTAR,
        texts.MENU,
    ]


def test_choosing_changes_nothing_until_salvar_and_shows_the_summary(
    chat: Chat, office: Office, client: ClientCard, uow_factory: UnitOfWorkFactory
) -> None:
    open_config(chat, client.razao_social, texts.CONTRATO)

    chat.press("Bloqueado")
    chat.press("Cliente")

    shown = chat.last_text().text
    assert shown.endswith(
        "Mudanças ainda não salvas:\n"
        "• Status: Teste → Bloqueado\n"
        "• Responsável pelo pagamento da mensalidade: Gestor → Cliente\n"
        + texts.CONTRATO_CUT_WARNING.format(status="Bloqueado").lstrip("\n")
    )
    row = stored(uow_factory, client.id)
    assert (row.status, row.payer) == ("teste", "gestor")
    assert "contract.update" not in actions(uow_factory, client.id)

    saved, _screen = chat.press(texts.SALVAR)

    assert isinstance(saved, Text)
    assert saved.text == (
        "✅ Contrato salvo.\n• Status: Teste → Bloqueado\n"
        "• Responsável pelo pagamento da mensalidade: Gestor → Cliente"
    )
    row = stored(uow_factory, client.id)
    assert (row.status, row.payer) == ("bloqueado", "cliente")
    entry = audit_entries(uow_factory, client.id)[0]
    assert entry.action == "contract.update"
    assert entry.before == {"status": "teste", "pagador": "gestor"}
    assert entry.after == {"status": "bloqueado", "pagador": "cliente"}
    assert entry.actor == office.gestor.identity_key


def test_leaving_without_salvar_discards_the_choices(
    chat: Chat, office: Office, client: ClientCard, uow_factory: UnitOfWorkFactory
) -> None:
    open_config(chat, client.razao_social, texts.CONTRATO)
    chat.press("Cancelado")

    chat.press(texts.VOLTAR)
    chat.press(texts.CONTRATO)

    assert stored(uow_factory, client.id).status == "teste"
    assert "Mudanças ainda não salvas" not in chat.last_text().text


def test_salvar_without_a_change_says_nothing_changed(
    chat: Chat, office: Office, client: ClientCard, uow_factory: UnitOfWorkFactory
) -> None:
    open_config(chat, client.razao_social, texts.CONTRATO)

    chat.press(texts.SALVAR)

    assert chat.last_text().text.startswith(
        texts.INVALID_PREFIX.format(message=texts.CONTRATO_NO_CHANGE)
    )
    assert "contract.update" not in actions(uow_factory, client.id)


def test_bloqueado_cuts_the_key_and_efetivado_restores_it(
    chat: Chat, office: Office, client: ClientCard, uow_factory: UnitOfWorkFactory
) -> None:
    key = client.integration_key or ""
    open_config(chat, client.razao_social, texts.CONTRATO)
    chat.press("Bloqueado")
    chat.press(texts.SALVAR)
    with pytest.raises(AccessCut):
        integration_keys.authenticate(uow_factory(), key)

    chat.press("Efetivado")
    chat.press(texts.SALVAR)

    assert integration_keys.authenticate(uow_factory(), key).client_id == client.id
    assert stored(uow_factory, client.id).status == ContractStatus.EFETIVADO.value


# -- Software --------------------------------------------------------------------------------


def test_the_software_screen_shows_plan_and_half_price_when_the_gestor_pays(
    chat: Chat, office: Office, client: ClientCard
) -> None:
    open_config(chat, client.razao_social, texts.SOFTWARE)

    assert chat.last_text().text == (
        f"💻 Software de {client.razao_social}\nSoftware: FazNota\n"
        "Plano: Bronze — R$ 39,95/mês (tabela R$ 79,90, 50% para o gestor)" + texts.SOFTWARE_HINT
    )
    assert chat.labels() == [texts.PLANO, texts.VOLTAR, texts.MENU]


def test_plano_lists_the_plans_and_nothing_changes_until_salvar_software(
    chat: Chat, office: Office, client: ClientCard, uow_factory: UnitOfWorkFactory
) -> None:
    open_config(chat, client.razao_social, texts.SOFTWARE)
    before = stored(uow_factory, client.id).plan_id

    chat.press(texts.PLANO)
    assert chat.labels()[:4] == [
        "Bronze — R$ 39,95",
        "Prata — R$ 59,95",
        "Ouro — R$ 89,95",
        "Diamante — R$ 149,95",
    ]
    chat.press("Ouro — R$ 89,95")

    assert step_of(chat) == ("config", "software")
    assert "Novo plano escolhido (ainda não salvo): FazNota — Ouro — R$ 89,95/mês." in (
        chat.last_text().text
    )
    assert stored(uow_factory, client.id).plan_id == before

    saved, screen = chat.press(texts.SALVAR_SOFTWARE)

    assert isinstance(saved, Text)
    assert isinstance(screen, Text)
    assert saved.text == texts.SOFTWARE_SAVED.format(
        software="FazNota", plan="Ouro", price="R$ 89,95"
    )
    assert "Plano: Ouro — R$ 89,95/mês" in screen.text
    assert stored(uow_factory, client.id).plan_id != before
    entry = audit_entries(uow_factory, client.id)[0]
    assert (entry.action, entry.before, entry.after) == (
        "software.update",
        {"software": "FazNota", "plano": "Bronze"},
        {"software": "FazNota", "plano": "Ouro"},
    )
    chat.press(texts.VOLTAR)
    assert step_of(chat) == ("config", "inicio")


def test_a_client_who_pays_sees_full_prices(
    chat: Chat, office: Office, client: ClientCard, uow_factory: UnitOfWorkFactory
) -> None:
    open_config(chat, client.razao_social, texts.CONTRATO)
    chat.press("Cliente")
    chat.press(texts.SALVAR)
    chat.press(texts.VOLTAR)
    chat.press(texts.SOFTWARE)

    assert "Plano: Bronze — R$ 79,90/mês\n" in chat.last_text().text + "\n"
    chat.press(texts.PLANO)
    assert chat.labels()[0] == "Bronze — R$ 79,90"


def test_trocar_software_moves_the_client_to_another_softwares_plan(
    chat: Chat, office: Office, client: ClientCard, uow_factory: UnitOfWorkFactory
) -> None:
    open_config(chat, client.razao_social, texts.SOFTWARE)
    chat.press(texts.PLANO)
    chat.press(texts.TROCAR_SOFTWARE)
    assert chat.labels()[:2] == ["FazNota", "FazNota PDV"]
    chat.press("FazNota PDV")
    chat.press("Até 3 caixas — R$ 74,95")

    chat.press(texts.SALVAR_SOFTWARE)

    row = stored(uow_factory, client.id)
    with uow_factory() as uow:
        software = uow.catalog.software_by_code("faznota-pdv")
        assert software is not None
        assert row.software_id == software.id
    assert audit_entries(uow_factory, client.id)[0].after == {
        "software": "FazNota PDV",
        "plano": "Até 3 caixas",
    }
    assert Payer(row.payer) is Payer.GESTOR
