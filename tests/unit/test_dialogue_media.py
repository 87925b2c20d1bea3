"""Photos, voice notes, stickers, locations...: every kind gets an answer where the person is.

The table runs each kind at the menu, at a text step of Novo cadastro (the CPF/CNPJ) and at a
button step (who pays), and checks the reply and that the state did not move.
"""

from __future__ import annotations

import pytest

from handlers import texts
from services.messages import MediaBody, MediaKind, Outbound
from services.types import UnitOfWorkFactory
from storage.conversation import StoredState
from tests.support import Chat, Office, add_client
from tests.unit.helpers import GOOD, open_cadastro, state_of, step_of, texts_of, walk_to

ANSWERED = [kind for kind in MediaKind if kind is not MediaKind.REACTION]
MENU_LABELS = [
    texts.CLIENTES,
    texts.NOVO_CLIENTE,
    texts.CONSULTAR_NOTA,
    texts.MEUS_DADOS,
    texts.AJUDA,
    texts.PENDENCIAS_BUTTON.format(count=0),
]


def send(chat: Chat, kind: MediaKind) -> list[Outbound]:
    return chat.deliver(chat.event(MediaBody(kind, ref="media-1")))


def saved(chat: Chat) -> StoredState:
    state = state_of(chat)
    assert state is not None, "no conversation state was saved"
    return state


def assert_same_place(before: StoredState, after: StoredState) -> None:
    """Same flow, step and answers; the question asked again is a new prompt (its token and
    message are the engine's bookkeeping, not the person's place)."""

    def answers(state: StoredState) -> dict[str, object]:
        return {k: v for k, v in state.data.items() if not k.startswith("_prompt")}

    assert (after.flow, after.step, answers(after)) == (before.flow, before.step, answers(before))


def at_menu(chat: Chat) -> None:
    chat.say("/menu")


def at_text_step(chat: Chat) -> None:
    walk_to(chat, "documento")


def at_button_step(chat: Chat) -> None:
    open_cadastro(chat)


PLACES = {
    "menu": (at_menu, None, texts.MENU_TEXT, MENU_LABELS),
    "text step": (
        at_text_step,
        texts.MEDIA_WANTS_TEXT,
        texts.ASK_DOC,
        [texts.VOLTAR, texts.CANCELAR],
    ),
    "button step": (
        at_button_step,
        texts.MEDIA_WANTS_BUTTON,
        texts.ASK_PAYER,
        [texts.GESTOR, texts.CLIENTE, texts.CANCELAR],
    ),
}


@pytest.mark.usefixtures("office")
@pytest.mark.parametrize("place", list(PLACES))
@pytest.mark.parametrize("kind", ANSWERED, ids=str)
def test_each_kind_is_answered_where_the_person_is_and_the_state_stays(
    chat: Chat, kind: MediaKind, place: str
) -> None:
    reach, wants, question, labels = PLACES[place]
    reach(chat)
    before = saved(chat)

    replies = send(chat, kind)

    if wants is None:
        note = texts.MEDIA_AT_MENU[kind]
    else:
        note = wants.format(what=texts.MEDIA_NAMES[kind])
    assert texts_of(replies) == [f"{note}\n\n{question}"]
    assert chat.labels() == labels
    assert_same_place(before, saved(chat))


@pytest.mark.usefixtures("office")
@pytest.mark.parametrize("place", list(PLACES))
def test_a_reaction_gets_no_reply_and_changes_nothing(chat: Chat, place: str) -> None:
    PLACES[place][0](chat)
    before = saved(chat)

    assert send(chat, MediaKind.REACTION) == []

    assert chat.processed
    assert saved(chat) == before  # not even saved again


@pytest.mark.usefixtures("office")
def test_the_menu_answers_say_what_to_do_instead(chat: Chat) -> None:
    at_menu(chat)

    assert texts_of(send(chat, MediaKind.AUDIO))[0].startswith(
        "🎙️ Ainda não entendo áudio. Digite ou use os botões."
    )
    assert "foto" in texts_of(send(chat, MediaKind.IMAGE))[0]
    assert "não é usada" in texts_of(send(chat, MediaKind.LOCATION))[0]
    assert "contato" in texts_of(send(chat, MediaKind.CONTACT))[0]


@pytest.mark.usefixtures("office")
def test_the_text_step_goes_on_normally_after_a_photo(chat: Chat) -> None:
    at_text_step(chat)
    send(chat, MediaKind.IMAGE)

    chat.say(GOOD["documento"])

    assert chat.last_text().text == texts.ASK_RAZAO
    assert step_of(chat) == ("cadastro", "razao")


@pytest.mark.usefixtures("office")
def test_with_no_conversation_yet_a_photo_gets_the_menu(chat: Chat) -> None:
    assert state_of(chat) is None

    replies = send(chat, MediaKind.IMAGE)

    assert texts_of(replies) == [f"{texts.MEDIA_AT_MENU['image']}\n\n{texts.MENU_TEXT}"]
    assert chat.labels() == MENU_LABELS
    assert step_of(chat) == ("menu", "inicio")


def test_a_file_step_asks_for_the_file_sent_as_a_document(
    chat: Chat, office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    client = add_client(uow_factory, office.gestor, 1)
    chat.say("/menu")
    chat.press(texts.CLIENTES)
    chat.press(client.razao_social)
    chat.press(texts.GERENCIAR)
    chat.press(texts.CONFIGURACOES)
    chat.press(texts.CERTIFICADO_DIGITAL)
    chat.press(texts.ENVIAR_CERTIFICADO)
    before = saved(chat)

    replies = send(chat, MediaKind.IMAGE)

    note = texts.MEDIA_WANTS_FILE.format(what=texts.MEDIA_NAMES["image"])
    assert texts_of(replies) == [f"{note}\n\n{texts.ASK_CERT_FILE.format(limit=64)}"]
    assert_same_place(before, saved(chat))


@pytest.mark.parametrize("kind", list(MediaKind), ids=str)
def test_a_chat_without_access_is_told_how_to_get_it_except_for_a_reaction(
    chat: Chat, kind: MediaKind
) -> None:
    replies = send(chat, kind)

    if kind is MediaKind.REACTION:
        assert replies == []
    else:
        assert [t.startswith("Olá! Este é o RevendaBot") for t in texts_of(replies)] == [True]
    assert state_of(chat) is None
