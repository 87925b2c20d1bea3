"""A second chat, bound to office 1 as contador."""

from __future__ import annotations

import pytest

from bot.app import App
from domain.clients import Role
from services.types import UnitOfWorkFactory
from tests.support import Chat, Office, add_member


@pytest.fixture
def app_chat_contador(app: App, uow_factory: UnitOfWorkFactory, office: Office) -> Chat:
    add_member(uow_factory, office, "test:contador", Role.CONTADOR)
    return Chat(app.conversation, app.uow_factory, identity_key="test:contador")
