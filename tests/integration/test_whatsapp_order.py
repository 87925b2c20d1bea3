"""Order and staleness on WhatsApp: Meta does not guarantee order, and may deliver late.

A message dated before one already processed is not applied to the step the person has moved
to: the bot names it and asks again. A command dated over 10 minutes ago is ignored with a note.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from handlers import texts
from handlers.ordering import stale_command
from services.messages import Inbound, TextBody
from storage.models import ConversationState
from tests.integration.whatsapp_person import KEY, Person
from tests.integration.whatsapp_support import body_of, labels
from tests.support import cnpj


def step(person: Person) -> tuple[str, str, dict[str, object]]:
    uow = person.app.uow_factory()
    with uow:
        state = uow.session.get(ConversationState, KEY)
        assert state is not None
        return state.flow, state.step, dict(state.data)


async def to_razao_social(person: Person) -> datetime:
    await person.press(texts.NOVO_CLIENTE)
    await person.press("Novo cadastro")
    await person.press("Gestor")
    await person.press(person_labels(person)[0])
    await person.press(person_labels(person)[0])
    await person.say(cnpj(779))
    assert "Novo cadastro — 5/10" in body_of(person.graph.sent()[-1])
    return datetime.now(UTC)


def person_labels(person: Person) -> list[str]:
    return labels(person.graph.sent()[-1])


async def test_a_text_older_than_the_last_one_is_not_applied_and_is_named(
    person: Person,
) -> None:
    now = await to_razao_social(person)
    await person.say("Mercado Bom Preço Ltda", at=now + timedelta(seconds=3))
    assert "Novo cadastro — 6/10" in body_of(person.graph.sent()[-1])
    before = step(person)

    # sent before the razão social, delivered after it
    [answer] = await person.say("Bom Preço", at=now + timedelta(seconds=1))

    assert "“Bom Preço” chegou fora de ordem" in body_of(answer)
    assert "Novo cadastro — 6/10" in body_of(answer)  # the same question, asked again
    assert step(person)[:2] == before[:2]
    assert "Bom Preço" not in [v for v in step(person)[2].values() if isinstance(v, str)]
    # sent again, now in order: it is the nome fantasia
    [answer] = await person.say("Bom Preço", at=now + timedelta(seconds=5))
    assert "Novo cadastro — 7/10" in body_of(answer)


async def test_a_button_pressed_before_the_last_message_is_not_applied(person: Person) -> None:
    now = datetime.now(UTC)
    await person.say("/ajuda", at=now + timedelta(seconds=5))
    before = step(person)
    choice = {"id": "m:clientes", "title": "Clientes"}
    [answer] = await person.send(
        {"type": "interactive", "interactive": {"type": "list_reply", "list_reply": choice}},
        "Clientes (atrasado)",
        at=now + timedelta(seconds=2),
    )
    assert texts.OUT_OF_ORDER_CHOICE in body_of(answer)
    assert step(person)[:2] == before[:2]  # Clientes was not opened


async def test_a_message_with_the_same_second_as_the_last_is_in_order(person: Person) -> None:
    now = await to_razao_social(person)
    await person.say("Mercado Bom Preço Ltda", at=now)
    [answer] = await person.say("Bom Preço", at=now)
    assert "Novo cadastro — 7/10" in body_of(answer)


async def test_a_command_over_ten_minutes_old_is_ignored_with_a_note(person: Person) -> None:
    now = await to_razao_social(person)
    before = step(person)

    [answer] = await person.say("/cancelar", at=now - timedelta(minutes=11))

    assert body_of(answer) == texts.STALE_COMMAND.format(command="/cancelar", minutes=11)
    assert step(person)[:2] == before[:2]  # still in Novo cadastro


def test_a_command_is_stale_only_after_ten_minutes() -> None:
    sent = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    event = Inbound("whatsapp", KEY, "w1", "5511", TextBody("/menu"), sent)
    assert stale_command(event, now=sent + timedelta(minutes=10)) is None
    note = stale_command(event, now=sent + timedelta(minutes=10, seconds=1))
    assert note == texts.STALE_COMMAND.format(command="/menu", minutes=10)
    typed = Inbound("whatsapp", KEY, "w2", "5511", TextBody("Padaria"), sent)
    assert stale_command(typed, now=sent + timedelta(hours=1)) is None  # only commands
