"""The chat of these tests talks to a dialogue whose links go to a known address and whose
e-mail and SMS gateways are fakes (tests replace them per case)."""

from __future__ import annotations

import pytest

from bot.app import App
from handlers.core import DialogueConfig
from handlers.router import Dialogue
from services.conversation import ConversationEngine
from services.links import LinkOptions
from tests.support import Chat
from tests.unit.links.support import FakeEmail, FakeSms

BASE_URL = "https://cadastro.revenda.example"


@pytest.fixture
def email() -> FakeEmail:
    return FakeEmail()


@pytest.fixture
def sms() -> FakeSms:
    return FakeSms()


@pytest.fixture
def options(email: FakeEmail, sms: FakeSms) -> LinkOptions:
    return LinkOptions(base_url=BASE_URL, email=email, sms=sms)


@pytest.fixture
def engine(app: App, options: LinkOptions) -> ConversationEngine:
    return ConversationEngine(app.uow_factory, Dialogue(DialogueConfig(links=options)))


@pytest.fixture
def chat(app: App, engine: ConversationEngine) -> Chat:
    return Chat(engine, app.uow_factory)
