"""Helpers for the dialogue tests: what is stored, and walking a chat to a given step."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select

from handlers import texts
from services.messages import Outbound, Text
from services.types import UnitOfWorkFactory
from storage.conversation import StoredState
from storage.models import AuditEntry, Client, ConversationState
from tests.support import Chat

# Good answers for Novo cadastro, step by step (typed text; payer/software/plan are buttons).
GOOD = {
    "documento": "11.222.333/0001-81",
    "razao": "Padaria Pão Quente Ltda",
    "fantasia": "Pão Quente",
    "email": "contato@paoquente.com.br",
    "telefone": "(11) 98765-4321",
    "cep": "01310-100",
    "endereco": "Av. Paulista, 1000 - Bela Vista - São Paulo/SP",
}
TYPED_STEPS = list(GOOD)
STEPS = ["pagador", "software", "plano", *TYPED_STEPS, "resumo"]
QUESTIONS = {
    "documento": texts.ASK_DOC,
    "razao": texts.ASK_RAZAO,
    "fantasia": texts.ASK_FANTASIA,
    "email": texts.ASK_EMAIL,
    "telefone": texts.ASK_PHONE,
    "cep": texts.ASK_CEP,
    "endereco": texts.ASK_ADDRESS,
}


def client_count(uow_factory: UnitOfWorkFactory) -> int:
    with uow_factory() as uow:
        return uow.session.scalar(select(func.count()).select_from(Client)) or 0


def stored_clients(uow_factory: UnitOfWorkFactory) -> list[Client]:
    with uow_factory() as uow:
        rows = list(uow.session.scalars(select(Client).order_by(Client.id)))
        uow.session.expunge_all()
        return rows


def audit_entries(uow_factory: UnitOfWorkFactory, client_id: int) -> list[AuditEntry]:
    with uow_factory() as uow:
        rows = uow.audit.of_client(client_id)
        uow.session.expunge_all()
        return rows


def state_of(chat: Chat) -> StoredState | None:
    with chat.uow_factory() as uow:
        return uow.conversations.load(chat.identity_key)


def step_of(chat: Chat) -> tuple[str, str]:
    state = state_of(chat)
    assert state is not None, "no conversation state was saved"
    return state.flow, state.step


def open_cadastro(chat: Chat) -> None:
    """From anywhere: menu → Novo cliente → Novo cadastro (the payer question)."""
    chat.say("/menu")
    chat.press(texts.NOVO_CLIENTE)
    chat.press(texts.NOVO_CADASTRO)


def walk_to(
    chat: Chat,
    step: str,
    *,
    payer: str = texts.GESTOR,
    software: str = "FazNota",
    plan: int = 0,
    answers: dict[str, str] | None = None,
) -> None:
    """Open Novo cadastro and answer well every step before `step`."""
    values = {**GOOD, **(answers or {})}
    open_cadastro(chat)
    for current in STEPS[: STEPS.index(step)]:
        if current == "pagador":
            chat.press(payer)
        elif current == "software":
            chat.press(software)
        elif current == "plano":
            chat.press(chat.labels()[plan])
        else:
            chat.say(values[current])
    assert step_of(chat) == ("cadastro", step)


def offer(chat: Chat, *choice_ids: str) -> None:
    """Tamper with the saved state so these ids count as offered (a crafted or racing press)."""
    with chat.uow_factory() as uow:
        row = uow.session.get(ConversationState, chat.identity_key)
        assert row is not None, "no conversation state to tamper with"
        row.data = {**row.data, "_offered": [*row.data.get("_offered", []), *choice_ids]}
        uow.session.commit()


def move_client(uow_factory: UnitOfWorkFactory, client_id: int, gestor_id: int) -> None:
    """Hand a client over to another gestor (behind the dialogue's back)."""
    with uow_factory() as uow:
        client = uow.session.get(Client, client_id)
        assert client is not None
        client.gestor_id = gestor_id
        uow.session.commit()


def texts_of(replies: Sequence[Outbound]) -> list[str]:
    """The texts of the replies (all of which must be text messages)."""
    assert all(isinstance(m, Text) for m in replies), replies
    return [m.text for m in replies if isinstance(m, Text)]
