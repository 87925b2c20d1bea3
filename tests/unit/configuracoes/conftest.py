"""Fixtures of the Configurações tests: a client of office 1 and a contador of that office."""

from __future__ import annotations

import pytest

from domain.clients import Role
from services.clients import ClientCard
from services.types import UnitOfWorkFactory
from tests.support import Chat, Office, add_client, add_member


@pytest.fixture
def client(uow_factory: UnitOfWorkFactory, office: Office) -> ClientCard:
    """Client 1 of office 1 (status Teste, the gestor pays), with its first integration key."""
    return add_client(uow_factory, office.gestor, 1)


@pytest.fixture
def contador(uow_factory: UnitOfWorkFactory, office: Office, chat: Chat) -> Chat:
    """A contador of office 1, in a chat of its own."""
    add_member(uow_factory, office, "test:carol", Role.CONTADOR)
    return Chat(chat.engine, uow_factory, identity_key="test:carol")
