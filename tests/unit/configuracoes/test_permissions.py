"""Every Configurações action, Histórico and Acessar software: gestor only, own clients only.

The contador sees no button for them and the services refuse it anyway; another gestor's
client is "não encontrado" for every one of them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.app import App
from domain.clients import ContractStatus, Payer, Role
from handlers import texts
from services import (
    catalog,
    certificates,
    contracts,
    history,
    integration_keys,
    software_access,
)
from services.clients import ClientCard
from services.errors import Forbidden, NotFound
from services.messages import Text
from services.principal import Principal
from services.types import UnitOfWorkFactory
from tests.support import Chat, Office, add_member
from tests.unit.certificates.pfx_factory import PASSWORD
from tests.unit.configuracoes.helpers import pfx_for, stored_certificate
from tests.unit.helpers import audit_entries, offer, step_of

Action = Callable[[UnitOfWorkFactory, Principal, int, App], Any]


def _sealed(app: App) -> str:
    box = app.conversation.dialogue.config.secret_box  # type: ignore[attr-defined]
    return box.seal(pfx_for(1)).decode()


def _plan(uow_factory: UnitOfWorkFactory) -> tuple[int, int]:
    software = catalog.list_softwares(uow_factory())[0]
    return software.id, software.plans[1].id


def _config(app: App) -> Any:
    return app.conversation.dialogue.config  # type: ignore[attr-defined]


ACTIONS: dict[str, Action] = {
    "certificate_status": lambda f, p, cid, app: certificates.certificate_status(
        f(), p, cid, now=datetime.now(UTC)
    ),
    "accept_file": lambda f, p, cid, app: certificates.accept_file(
        f(), p, cid, box=_config(app).secret_box, name="c.pfx", size=10, data=pfx_for(1)
    ),
    "save_certificate": lambda f, p, cid, app: certificates.save_certificate(
        f(),
        p,
        cid,
        box=_config(app).secret_box,
        sealed_pfx=_sealed(app),
        password=PASSWORD,
        now=datetime.now(UTC),
    ),
    "current_key": lambda f, p, cid, app: integration_keys.current(f(), p, cid),
    "regenerate_key": lambda f, p, cid, app: integration_keys.regenerate(f(), p, cid),
    "get_contract": lambda f, p, cid, app: contracts.get_contract(f(), p, cid),
    "save_contract": lambda f, p, cid, app: contracts.save_contract(
        f(), p, cid, status=ContractStatus.BLOQUEADO, payer=Payer.CLIENTE
    ),
    "get_software": lambda f, p, cid, app: contracts.get_software(f(), p, cid),
    "plan_options": lambda f, p, cid, app: contracts.plan_options(f(), p, cid),
    "software_options": lambda f, p, cid, app: contracts.software_options(f(), p, cid),
    "save_software": lambda f, p, cid, app: contracts.save_software(
        f(), p, cid, software_id=_plan(f)[0], plan_id=_plan(f)[1]
    ),
    "history": lambda f, p, cid, app: history.client_history(f(), p, cid),
    "open_software": lambda f, p, cid, app: software_access.open_software(
        f(), p, cid, signer=_config(app).link_signer
    ),
}


@pytest.mark.parametrize("action", ACTIONS)
def test_the_contador_is_refused_by_every_service(
    app: App, uow_factory: UnitOfWorkFactory, office: Office, client: ClientCard, action: str
) -> None:
    contador = add_member(uow_factory, office, "test:carol", Role.CONTADOR)

    with pytest.raises(Forbidden) as refused:
        ACTIONS[action](uow_factory, contador, client.id, app)

    assert refused.value.message == "Esta ação é só para o gestor. Seu acesso é de contador."
    assert [e.action for e in audit_entries(uow_factory, client.id)] == ["client.register"]
    assert stored_certificate(uow_factory, client.id) is None


@pytest.mark.parametrize("action", ACTIONS)
def test_another_gestors_client_is_not_found_by_every_service(
    app: App,
    uow_factory: UnitOfWorkFactory,
    office: Office,
    other_office: Office,
    client: ClientCard,
    action: str,
) -> None:
    with pytest.raises(NotFound) as refused:
        ACTIONS[action](uow_factory, other_office.gestor, client.id, app)

    assert refused.value.message == "Cliente não encontrado."
    assert [e.action for e in audit_entries(uow_factory, client.id)] == ["client.register"]
    assert stored_certificate(uow_factory, client.id) is None


def test_the_contador_sees_no_historico_nor_gerenciar_on_the_card(
    contador: Chat, office: Office, client: ClientCard
) -> None:
    contador.say("/menu")
    contador.press(texts.CLIENTES)
    contador.press(client.razao_social)

    assert contador.labels() == [texts.VOLTAR, texts.MENU]


def test_a_crafted_historico_press_by_a_contador_is_refused(
    contador: Chat, office: Office, client: ClientCard
) -> None:
    contador.say("/menu")
    contador.press(texts.CLIENTES)
    contador.press(client.razao_social)
    offer(contador, "h:open")

    contador.press_id("h:open")

    assert "Esta ação é só para o gestor. Seu acesso é de contador." in "\n".join(
        m.text for m in contador.received[-2:] if hasattr(m, "text")
    )
    assert step_of(contador) != ("historico", "lista")


@pytest.mark.parametrize("entry", ["a:config", "a:software"])
def test_a_crafted_gerenciar_press_by_a_contador_is_refused(
    contador: Chat, office: Office, client: ClientCard, uow_factory: UnitOfWorkFactory, entry: str
) -> None:
    contador.say("/menu")
    contador.press(texts.CLIENTES)
    contador.press(client.razao_social)
    offer(contador, "g:open", entry)

    contador.press_id("g:open")

    assert "Esta ação é só para o gestor" in contador.last_text().text
    assert [e.action for e in audit_entries(uow_factory, client.id)] == ["client.register"]


def test_a_client_moved_to_another_gestor_mid_flow_is_not_found(
    chat: Chat,
    office: Office,
    other_office: Office,
    client: ClientCard,
    uow_factory: UnitOfWorkFactory,
) -> None:
    from tests.unit.configuracoes.helpers import open_config
    from tests.unit.helpers import move_client

    open_config(chat, client.razao_social, texts.CONTRATO)
    chat.press("Bloqueado")
    move_client(uow_factory, client.id, other_office.gestor.gestor_id)

    replies = chat.press(texts.SALVAR)

    assert [m.text for m in replies if isinstance(m, Text)] == [
        "⚠️ Cliente não encontrado.",
        texts.MENU_TEXT,
    ]
    assert [e.action for e in audit_entries(uow_factory, client.id)] == ["client.register"]
