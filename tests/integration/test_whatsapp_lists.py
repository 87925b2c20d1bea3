"""Lists and push buttons on WhatsApp: Clientes pages fit the 10-row list with their
navigation, the menu says how to open the list, a reminder's button still works after other
messages, and a file the Graph API cannot give is asked for again."""

from __future__ import annotations

import re
from datetime import timedelta

from bot.app import App
from bot.channels.whatsapp_render import MAX_ROWS, MORE_LABEL
from handlers import texts
from services import access
from services.principal import Principal
from tests.integration.reminder_support import put_certificate
from tests.integration.whatsapp_person import KEY, OFFICE, Person, bind
from tests.integration.whatsapp_support import body_of, labels
from tests.support import add_client
from tests.unit.reminders.test_reminder_dialogue import TODAY, sweep_and_dispatch


def gestor(person: Person) -> Principal:
    principal = access.resolve_principal(person.app.uow_factory(), KEY)
    assert principal is not None
    return principal


async def test_the_menu_says_how_to_open_its_list(app: App) -> None:
    person = Person(app)
    try:
        await bind(person, OFFICE)
        welcome = person.graph.sent()[-1]
    finally:
        await person.close()
    assert welcome["interactive"]["type"] == "list"
    assert "Toque em Ver opções para escolher." in body_of(welcome)
    assert "Use os botões" not in body_of(welcome)


async def test_thirty_clients_page_through_lists_that_never_hide_navigation(
    person: Person,
) -> None:
    for n in range(1, 31):
        add_client(person.app.uow_factory, gestor(person), n)
    [page] = await person.press(texts.CLIENTES)
    seen: list[str] = []
    pages = None
    for number in range(1, 10):
        shown = labels(page)
        assert len(shown) <= MAX_ROWS
        assert MORE_LABEL not in shown
        assert texts.MENU in shown
        assert (texts.ANTERIOR in shown) is (number > 1)
        header = re.search(r"página (\d+) de (\d+)", body_of(page))
        assert header is not None
        assert int(header[1]) == number
        pages = int(header[2])
        seen += [label for label in shown if label.startswith("Cliente ")]
        if texts.PROXIMA not in shown:
            break
        [page] = await person.press(texts.PROXIMA, page)
    assert number == pages == 5
    assert seen == [f"Cliente {n:03d} Ltda" for n in range(1, 31)]

    [back] = await person.press(texts.ANTERIOR, page)
    assert "página 4 de 5" in body_of(back)
    [found] = await person.say("Cliente 0")  # a search adds Ver todos: still within 10 rows
    assert texts.VER_TODOS in labels(found)
    assert texts.PROXIMA in labels(found)
    assert len(labels(found)) <= MAX_ROWS


async def test_a_reminders_button_pressed_after_other_messages_opens_the_upload(
    person: Person,
) -> None:
    card = add_client(person.app.uow_factory, gestor(person), 1)
    put_certificate(person.app.uow_factory, card.id, TODAY + timedelta(days=7))
    sweep_and_dispatch(person.app, "certificados")
    await person.flush()
    reminder = person.graph.sent()[-1]
    assert labels(reminder) == [texts.ENVIAR_CERTIFICADO]
    await person.press(texts.MEUS_DADOS, person.graph.sent()[-2])
    await person.say("/menu")
    await person.press(texts.CLIENTES)

    [answer] = await person.press(texts.ENVIAR_CERTIFICADO, reminder)

    assert body_of(answer).startswith("Envie o arquivo do certificado A1")


async def test_a_file_the_graph_api_cannot_give_is_asked_for_again(person: Person) -> None:
    card = add_client(person.app.uow_factory, gestor(person), 1)
    person.channel.media_backoff = 0
    choice = {"id": f"go:cert:{card.id}", "title": texts.ENVIAR_CERTIFICADO}
    interactive = {"type": "button_reply", "button_reply": choice}
    await person.send({"type": "interactive", "interactive": interactive}, "Enviar certificado")
    person.graph.fail_next("/777000111", 404, 100, "Unsupported get request")
    document = {"id": "777000111", "filename": "empresa.pfx", "mime_type": "application/x-pkcs12"}

    [answer] = await person.send({"type": "document", "document": document}, "empresa.pfx")

    said = body_of(answer)
    assert texts.FILE_UNAVAILABLE.format(name="empresa.pfx") in said
    assert "grande demais" not in said
    assert "Envie o arquivo do certificado A1" in said  # the same question, asked again
