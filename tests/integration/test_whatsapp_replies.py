"""Replies that keep up on WhatsApp: a tap gets one message wherever the content fits.

Meta paces each person (≈ 1 message / 6 s after a burst), so every extra message makes the
next reply later. The counts per interaction are printed (`pytest -s`) and asserted.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest

from bot.app import App
from bot.channels.telegram import CAPABILITIES as TELEGRAM
from bot.channels.whatsapp_book import CAPABILITIES
from handlers import texts
from services import access
from services.messages import Choice, Document, Outbound, Text
from services.replies import merge_replies
from tests.integration.whatsapp_person import KEY, Person
from tests.integration.whatsapp_support import body_of, labels
from tests.support import add_client, cnpj

OFFICE = cnpj(4343)
NEW_CLIENT = cnpj(778)


@pytest.fixture
async def person(app: App) -> AsyncIterator[Person]:
    built = Person(app)
    yield built
    print("\n" + built.report())
    await built.close()


async def bind(person: Person) -> None:
    issued = access.create_gestor(
        person.app.uow_factory(), cnpj=OFFICE, razao_social="Escritório Zap Ltda", email="g@z.com"
    )
    [welcome] = await person.say(issued.code)
    assert "Acesso liberado para Escritório Zap Ltda" in body_of(welcome)
    assert labels(welcome) == [
        texts.CLIENTES,
        texts.NOVO_CLIENTE,
        texts.CONSULTAR_NOTA,
        texts.MEUS_DADOS,
        texts.AJUDA,
        texts.PENDENCIAS_BUTTON.format(count=0),
    ]


async def test_registering_a_client_takes_one_message_per_tap(person: Person) -> None:
    await bind(person)
    await person.press(texts.NOVO_CLIENTE)
    await person.press("Novo cadastro")
    await person.press("Gestor")
    software = person.graph.sent()[-1]
    await person.press(labels(software)[0])
    plans = person.graph.sent()[-1]
    await person.press(labels(plans)[0])
    await person.say(NEW_CLIENT)
    await person.say("Mercado Bom Preço Ltda")
    await person.press("Pular")
    await person.say("compras@mercadobompreco.com.br")
    await person.say("(11) 98765-4321")
    await person.say("01310-100")
    await person.say("Av. Paulista, 1000 - Bela Vista - São Paulo/SP")
    [done] = await person.press("Cadastrar")

    text = body_of(done)
    assert "✅ Cliente Mercado Bom Preço Ltda cadastrado" in text
    assert "🔑 Chave de integração do cliente" in text
    assert re.search(r"```\S+```", text)  # the key, monospace
    assert "🏢 Mercado Bom Preço Ltda" in text  # the card, with its buttons
    assert texts.GERENCIAR in labels(done)
    assert [count for _, count in person.interactions] == [1] * len(person.interactions)


async def test_an_expired_button_and_the_menu_come_in_one_message(person: Person) -> None:
    await bind(person)
    menu = person.graph.sent()[-1]
    await person.press(texts.MEUS_DADOS, menu)
    [answer] = await person.press(texts.CLIENTES, menu)  # from the old menu
    assert texts.EXPIRED.split(" (")[0] in body_of(answer)
    assert labels(answer)  # the live screen's choices, in the same message


def test_a_confirmation_too_long_to_share_the_screen_goes_apart() -> None:
    screen = Text("Escolha:", ((Choice("a", "A"),),))
    short, long = Text("Salvo."), Text("x" * 1020)
    assert merge_replies([short, screen], CAPABILITIES) == [
        Text("Salvo.\n\nEscolha:", ((Choice("a", "A"),),))
    ]
    assert merge_replies([long, screen], CAPABILITIES) == [long, screen]


def test_a_text_with_buttons_or_a_document_is_never_merged_into() -> None:
    first = Text("Escolha:", ((Choice("a", "A"),),))
    document = Document("a.pdf", "application/pdf", b"%PDF", "Boleto")
    replies: list[Outbound] = [first, Text("Depois"), document, Text("Fim")]
    assert merge_replies(replies, CAPABILITIES) == replies


def test_channels_that_do_not_count_messages_keep_them_apart() -> None:
    replies = [Text("Salvo."), Text("Menu", ((Choice("a", "A"),),))]
    assert merge_replies(replies, TELEGRAM) == replies


async def test_managing_a_client_takes_one_message_per_tap(person: Person) -> None:
    await bind(person)
    principal = access.resolve_principal(person.app.uow_factory(), KEY)
    assert principal is not None
    add_client(person.app.uow_factory, principal, 1, name="Padaria Estrela Ltda")
    await person.press(texts.CLIENTES)
    await person.press("Padaria Estrela Ltda")
    await person.press(texts.GERENCIAR)
    await person.press(texts.CONFIGURACOES)
    await person.press(texts.CHAVE_INTEGRACAO)
    await person.press(texts.GERAR_NOVA_CHAVE)
    [key] = await person.press(texts.CONFIRMAR)
    assert re.search(r"```\S+```", body_of(key))  # the new key, with the screen's buttons
    assert labels(key)
    await person.press(texts.VOLTAR, key)
    await person.press(texts.CONTRATO)
    await person.say("/menu")
    await person.press(texts.MEUS_DADOS)
    await person.press(texts.PAGAMENTO)
    assert [count for _, count in person.interactions] == [1] * len(person.interactions)
