"""Fixtures shared by the integration tests: the WhatsApp webhook harnesses, and a person on
WhatsApp bound to a new office."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.app import App
from tests.integration.whatsapp_person import OFFICE, Person, bind
from tests.integration.whatsapp_support import Harness


@pytest.fixture
async def recorder(app: App) -> AsyncIterator[Harness]:
    """The WhatsApp webhook keeping the events it would hand to the conversation."""
    harness = Harness(app, record_only=True)
    yield harness
    await harness.close()


@pytest.fixture
async def live(app: App) -> AsyncIterator[Harness]:
    """The WhatsApp webhook answering through the conversation engine."""
    harness = Harness(app, record_only=False)
    yield harness
    await harness.close()


@pytest.fixture
async def person(app: App) -> AsyncIterator[Person]:
    """A person on WhatsApp who redeemed a new office's invite (the menu shown)."""
    built = Person(app)
    await bind(built, OFFICE)
    yield built
    await built.close()
