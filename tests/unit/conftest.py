"""Fixtures for the dialogue tests: the chat's person is the gestor of office 1."""

from __future__ import annotations

import pytest

from services.types import UnitOfWorkFactory
from tests.support import Chat, Office, make_office


@pytest.fixture
def office(uow_factory: UnitOfWorkFactory, chat: Chat) -> Office:
    """Office 1, with the chat's identity bound to it as gestor."""
    return make_office(uow_factory, 1, identity_key=chat.identity_key)


@pytest.fixture
def other_office(uow_factory: UnitOfWorkFactory) -> Office:
    """Another gestor's office (identity test:gestor2)."""
    return make_office(uow_factory, 2)
