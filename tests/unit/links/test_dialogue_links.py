"""Enviar link de contratação and Links enviados through the collecting chat; the push the
gestor gets when a client completes a link."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from sqlalchemy import select

from bot.app import App
from domain.clients import Payer, Role
from domain.links import LinkState
from handlers import texts
from handlers.core import DialogueConfig
from handlers.formatting import client_card_text
from handlers.router import Dialogue
from services import clients, links, notices, signups
from services.conversation import ConversationEngine
from services.email import EmailMessage
from services.links import LinkOptions
from services.messages import Text, UrlButton
from services.types import UnitOfWorkFactory
from storage.models import OutboxMessage
from tests.support import Chat, Office, add_member
from tests.unit.helpers import offer, step_of
from tests.unit.links.conftest import BASE_URL
from tests.unit.links.support import (
    FakeEmail,
    FakeSms,
    audit_actions,
    form,
    issue,
    stored_links,
    token_in,
)

pytestmark = pytest.mark.usefixtures("office")
T0 = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)  # 12:00 in São Paulo


@pytest.fixture(autouse=True)
def frozen() -> Iterator[None]:
    with time_machine.travel(T0, tick=False):
        yield


def open_links(chat: Chat) -> None:
    chat.say("/menu")
    chat.press(texts.NOVO_CLIENTE)
    chat.press(texts.ENVIAR_LINK)


def create(
    chat: Chat, *, payer: str = texts.CLIENTE, software: str = "FazNota", plan: int = 0
) -> None:
    open_links(chat)
    chat.press(payer)
    chat.press(software)
    chat.press(chat.labels()[plan])


def url_buttons(message: Text) -> dict[str, str]:
    return {b.label: b.url for row in message.buttons for b in row if isinstance(b, UrlButton)}


# -- creating a link --------------------------------------------------------------------------


def test_the_link_flow_starts_with_who_pays_and_links_enviados(chat: Chat) -> None:
    open_links(chat)

    assert chat.last_text().text == texts.LINK_ASK_PAYER
    assert chat.labels() == [
        texts.CLIENTE,
        texts.GESTOR,
        texts.LINKS_ENVIADOS,
        texts.VOLTAR,
        texts.CANCELAR,
    ]


def test_voltar_from_the_first_question_returns_to_novo_cliente(chat: Chat) -> None:
    open_links(chat)

    chat.press(texts.VOLTAR)

    assert chat.last_text().text == texts.NOVO_TEXT
    assert step_of(chat) == ("novo", "escolha")


def test_the_plans_show_the_price_for_the_payer_as_in_novo_cadastro(chat: Chat) -> None:
    open_links(chat)
    chat.press(texts.GESTOR)
    chat.press("FazNota")

    assert chat.last_text().text == (
        "🔗 Link de contratação — 3/3\nEscolha o plano do FazNota (pagamento: Gestor):\n"
        "• Bronze: R$ 39,95/mês (tabela R$ 79,90, 50% para o gestor)\n"
        "• Prata: R$ 59,95/mês (tabela R$ 119,90, 50% para o gestor)\n"
        "• Ouro: R$ 89,95/mês (tabela R$ 179,90, 50% para o gestor)\n"
        "• Diamante: R$ 149,95/mês (tabela R$ 299,90, 50% para o gestor)"
    )
    assert chat.labels()[:4] == [
        "Bronze — R$ 39,95",
        "Prata — R$ 59,95",
        "Ouro — R$ 89,95",
        "Diamante — R$ 149,95",
    ]


def test_choosing_the_plan_creates_the_link_and_a_message_ready_to_forward(
    chat: Chat, uow_factory: UnitOfWorkFactory
) -> None:
    create(chat, plan=1)

    created, forward, how = chat.received[-3:]
    assert isinstance(created, Text)
    assert isinstance(forward, Text)
    assert isinstance(how, Text)
    token = token_in(created.text)
    url = f"{BASE_URL}/c/{token}"
    assert created.text == (
        "✅ Link de contratação criado: FazNota, plano Prata — R$ 119,90/mês "
        "(pagamento: Cliente).\nVale para um único cadastro, até 04/12/2026 às 12:00.\n\n" + url
    )
    assert forward.text == (
        "Olá! Escritório 1 Ltda convida você a contratar o FazNota (plano Prata, "
        "R$ 119,90/mês). Faça o seu cadastro por este link, válido até 04/12/2026 às 12:00:\n"
        + url
    )
    # the gestor's copy marks the address as code (one tap copies it); the one to forward
    # keeps it a plain link for the client to open
    assert created.code == (url,)
    assert forward.code == ()
    assert how.text == texts.LINK_SEND_HOW
    assert [c.label for c in how.choices] == [
        texts.LINK_SEND_EMAIL,
        texts.LINK_SEND_SMS,
        texts.LINKS_ENVIADOS,
        texts.MENU,
    ]
    assert step_of(chat) == ("link", "enviar")
    offer_seen = signups.open_link(uow_factory(), token)
    assert (offer_seen.gestor_name, offer_seen.plan, offer_seen.payer) == (
        "Escritório 1 Ltda",
        "Prata",
        Payer.CLIENTE,
    )


def test_the_whatsapp_and_telegram_buttons_carry_the_message_url_encoded(chat: Chat) -> None:
    create(chat)
    forward = chat.received[-2]
    assert isinstance(forward, Text)
    url = f"{BASE_URL}/c/{token_in(forward.text)}"

    buttons = url_buttons(chat.last_text())

    whatsapp = urlsplit(buttons[texts.LINK_SHARE_WHATSAPP])
    assert (whatsapp.scheme, whatsapp.netloc, whatsapp.path) == ("https", "wa.me", "/")
    assert parse_qs(whatsapp.query) == {"text": [forward.text]}
    assert " " not in buttons[texts.LINK_SHARE_WHATSAPP]
    telegram = urlsplit(buttons[texts.LINK_SHARE_TELEGRAM])
    assert (telegram.netloc, telegram.path) == ("t.me", "/share/url")
    shared = parse_qs(telegram.query)
    assert shared["url"] == [url]
    assert shared["text"] == [forward.text.removesuffix(url).rstrip()]


def test_a_gestor_paid_link_tells_the_client_who_pays(chat: Chat) -> None:
    create(chat, payer=texts.GESTOR)

    forward = chat.received[-2]
    assert isinstance(forward, Text)
    assert forward.text.startswith(
        "Olá! Escritório 1 Ltda convida você a contratar o FazNota (plano Bronze, mensalidade "
        "paga por Escritório 1 Ltda)."
    )


def test_the_link_follows_the_configured_validity(
    app: App, uow_factory: UnitOfWorkFactory
) -> None:
    engine = ConversationEngine(
        uow_factory,
        Dialogue(
            DialogueConfig(
                links=LinkOptions(base_url="http://127.0.0.1:8000", ttl=timedelta(days=2))
            )
        ),
    )
    chat = Chat(engine, uow_factory)

    create(chat)

    [link] = stored_links(uow_factory)
    assert link.expires_at == T0 + timedelta(days=2)
    assert "http://127.0.0.1:8000/c/" in chat.received[-3].text  # type: ignore[union-attr]


# -- e-mail and SMS -----------------------------------------------------------------------------


def queued_emails(uow_factory: UnitOfWorkFactory) -> list[EmailMessage]:
    """The e-mails waiting in the outbox (the e-mail channel sends them after the commit)."""
    uow = uow_factory()
    with uow:
        rows = uow.session.execute(
            select(OutboxMessage.address, OutboxMessage.payload, OutboxMessage.sensitive).where(
                OutboxMessage.channel == "email"
            )
        ).all()
    assert all(sensitive for _, _, sensitive in rows)  # the body carries the link's token
    return [EmailMessage(to, payload["subject"], payload["text"]) for to, payload, _ in rows]


def test_the_link_is_emailed_to_the_address_typed(chat: Chat, email: FakeEmail) -> None:
    create(chat)
    chat.press(texts.LINK_SEND_EMAIL)
    assert chat.last_text().text == texts.LINK_ASK_EMAIL

    chat.say("Cliente@PaoQuente.com.br")

    assert email.sent == []  # nothing is sent inside the conversation's transaction
    [sent] = queued_emails(chat.uow_factory)
    url = f"{BASE_URL}/c/{token_in(sent.body)}"
    assert sent.to == "cliente@paoquente.com.br"
    assert sent.subject == "Seu link de cadastro no FazNota"
    assert sent.body == (
        "Olá! Escritório 1 Ltda convida você a contratar o FazNota (plano Bronze, "
        "R$ 79,90/mês). Faça o seu cadastro por este link, válido até 04/12/2026 às 12:00:\n"
        f"{url}\n\nO e-mail que você informar no cadastro será o seu login no software.\n"
        "Se você não esperava esta mensagem, pode ignorá-la."
    )
    assert [m.text for m in chat.received[-2:] if isinstance(m, Text)] == [
        "📧 Link a caminho do e-mail cliente@paoquente.com.br (envio em instantes).",
        texts.LINK_SEND_HOW,
    ]
    assert step_of(chat) == ("link", "enviar")
    assert audit_actions(chat.uow_factory)[-1] == "link.email"


def test_a_bad_email_address_is_asked_again(chat: Chat, email: FakeEmail) -> None:
    create(chat)
    chat.press(texts.LINK_SEND_EMAIL)

    chat.say("cliente@")

    assert chat.last_text().text == (
        "⚠️ Este e-mail não parece válido. Digite no formato nome@empresa.com.br.\n\n"
        + texts.LINK_ASK_EMAIL
    )
    assert queued_emails(chat.uow_factory) == []
    assert step_of(chat) == ("link", "email")


@pytest.mark.parametrize("options", [LinkOptions(base_url=BASE_URL)])
def test_without_smtp_the_bot_says_email_and_sms_are_not_configured(chat: Chat) -> None:
    create(chat)

    chat.press(texts.LINK_SEND_EMAIL)
    assert chat.last_text().text == f"{texts.LINK_EMAIL_NOT_CONFIGURED}\n\n{texts.LINK_SEND_HOW}"
    chat.press(texts.LINK_SEND_SMS)
    assert chat.last_text().text == f"{texts.LINK_SMS_NOT_CONFIGURED}\n\n{texts.LINK_SEND_HOW}"
    assert step_of(chat) == ("link", "enviar")


def test_the_default_sms_gateway_says_sms_is_not_configured(
    app: App, uow_factory: UnitOfWorkFactory
) -> None:
    from bot.signup import link_options

    options = link_options(app.settings)
    chat = Chat(
        ConversationEngine(uow_factory, Dialogue(DialogueConfig(links=options))), uow_factory
    )
    create(chat)

    chat.press(texts.LINK_SEND_SMS)

    assert chat.last_text().text == f"{texts.LINK_SMS_NOT_CONFIGURED}\n\n{texts.LINK_SEND_HOW}"


def test_the_link_is_sent_by_sms_through_the_gateway(chat: Chat, sms: FakeSms) -> None:
    create(chat)
    chat.press(texts.LINK_SEND_SMS)
    assert chat.last_text().text == texts.LINK_ASK_SMS

    chat.say("(11) 98765-4321")

    [(phone, text)] = sms.sent
    assert phone == "+5511987654321"
    assert text == (
        "Escritório 1 Ltda: faça seu cadastro no FazNota por este link: "
        f"{BASE_URL}/c/{token_in(text)}"
    )
    assert chat.received[-2].text == "📱 Link enviado por SMS para +5511987654321."  # type: ignore[union-attr]


def test_a_cancelled_link_is_not_emailed(chat: Chat, email: FakeEmail, office: Office) -> None:
    create(chat)
    chat.press(texts.LINK_SEND_EMAIL)
    [link] = stored_links(chat.uow_factory)
    links.cancel_link(chat.uow_factory(), office.gestor, link.id)

    chat.say("cliente@paoquente.com.br")

    assert chat.last_text().text == (
        "⚠️ Este link está cancelado: crie um novo link.\n\n" + texts.LINK_ASK_EMAIL
    )
    assert queued_emails(chat.uow_factory) == []


# -- Links enviados -----------------------------------------------------------------------------


def test_links_enviados_lists_each_link_with_its_state_and_client(
    chat: Chat, office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    used = issue(uow_factory, office.gestor)
    signups.complete_link(uow_factory(), used.token, form())
    issue(uow_factory, office.gestor, plan=2)

    open_links(chat)
    chat.press(texts.LINKS_ENVIADOS)

    assert chat.last_text().text == (
        "🔗 Seus links de contratação mais recentes (2):\n"
        "1. FazNota Ouro — Enviado — criado em 27/11/2026, vence em 04/12/2026\n"
        "2. FazNota Bronze — Concluído — criado em 27/11/2026: Padaria Pão Quente Ltda\n"
        + texts.LINKS_HINT
    )
    assert chat.labels() == [
        "1. FazNota Ouro — Enviado",
        "2. FazNota Bronze — Concluído",
        texts.VOLTAR,
        texts.MENU,
    ]


def test_links_enviados_says_when_there_are_none(chat: Chat) -> None:
    open_links(chat)

    chat.press(texts.LINKS_ENVIADOS)

    assert chat.last_text().text == texts.LINKS_EMPTY


def test_a_pending_link_can_be_cancelled_from_its_details(
    chat: Chat, office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    issued = issue(uow_factory, office.gestor, payer=Payer.GESTOR)
    open_links(chat)
    chat.press(texts.LINKS_ENVIADOS)
    chat.press("1. FazNota Bronze — Enviado")
    assert chat.last_text().text == (
        "🔗 Link de contratação\nSoftware: FazNota\nPlano: Bronze — R$ 39,95/mês\n"
        "Pagamento: Gestor\nSituação: Enviado\nCriado em: 27/11/2026 às 12:00\n"
        "Validade: 04/12/2026 às 12:00"
    )
    assert chat.labels() == [texts.LINK_CANCEL, texts.VOLTAR, texts.MENU]

    chat.press(texts.LINK_CANCEL)

    assert chat.received[-2] == Text(texts.LINK_CANCELLED)
    assert "Situação: Cancelado" in chat.last_text().text
    assert chat.labels() == [texts.VOLTAR, texts.MENU]
    assert links.get_link(uow_factory(), office.gestor, issued.id).state is LinkState.CANCELADO
    with pytest.raises(signups.LinkGone):
        signups.open_link(uow_factory(), issued.token)


def test_a_concluded_link_opens_its_client(
    chat: Chat, office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    used = issue(uow_factory, office.gestor)
    signups.complete_link(uow_factory(), used.token, form())
    open_links(chat)
    chat.press(texts.LINKS_ENVIADOS)
    chat.press("1. FazNota Bronze — Concluído")
    assert chat.labels() == [texts.ABRIR_CLIENTE, texts.VOLTAR, texts.MENU]

    chat.press(texts.ABRIR_CLIENTE)

    assert chat.last_text().text.startswith("🏢 Padaria Pão Quente Ltda\n")
    assert step_of(chat) == ("clientes", "card")


def test_another_gestors_link_is_not_found_even_with_a_crafted_button(
    chat: Chat, uow_factory: UnitOfWorkFactory, other_office: Office
) -> None:
    theirs = issue(uow_factory, other_office.gestor)
    open_links(chat)
    chat.press(texts.LINKS_ENVIADOS)
    offer(chat, f"lk:{theirs.id}")

    chat.press_id(f"lk:{theirs.id}")

    assert chat.last_text().text == f"⚠️ Link não encontrado.\n\n{texts.LINKS_EMPTY}"
    assert stored_links(uow_factory)[0].cancelled_at is None


def test_a_contador_cannot_open_the_link_flow(
    uow_factory: UnitOfWorkFactory, office: Office, engine: ConversationEngine
) -> None:
    add_member(uow_factory, office, "test:carol", Role.CONTADOR)
    carol = Chat(engine, uow_factory, identity_key="test:carol")
    carol.say("/menu")
    assert texts.NOVO_CLIENTE not in carol.labels()
    offer(carol, "m:novo")
    carol.press_id("m:novo")

    carol.press(texts.ENVIAR_LINK)

    assert carol.last_text().text.startswith(
        "⚠️ Esta ação é só para o gestor. Seu acesso é de contador."
    )
    assert stored_links(uow_factory) == []


# -- the push -----------------------------------------------------------------------------------


def test_the_gestor_is_pushed_the_new_clients_card_when_a_link_is_completed(
    chat: Chat, office: Office, uow_factory: UnitOfWorkFactory, engine: ConversationEngine
) -> None:
    issued = issue(uow_factory, office.gestor)
    chat.say("/menu")
    signups.complete_link(uow_factory(), issued.token, form())

    assert notices.dispatch(uow_factory, engine.handle) == 1
    chat.drain()

    [client] = [c for c in clients.list_clients(uow_factory(), office.gestor).items]
    card = clients.get_client(uow_factory(), office.gestor, client.id)
    assert chat.last_text().text == (
        f"🎉 Novo cliente pelo link de contratação!\n\n{client_card_text(card)}"
    )
    assert "(pelo link de contratação)" in chat.last_text().text
    chat.press(texts.ABRIR_CLIENTE)
    assert step_of(chat) == ("clientes", "card")


def test_the_gestor_is_pushed_a_client_linked_by_its_contador_email(
    chat: Chat, office: Office, uow_factory: UnitOfWorkFactory, engine: ConversationEngine
) -> None:
    plan = signups.plan_options(uow_factory())[0]
    signups.sign_up(uow_factory(), form(plano=str(plan.id), email_contador=office.email))

    notices.dispatch(uow_factory, engine.handle)
    chat.drain()

    assert chat.last_text().text.startswith(
        "🎉 Novo cliente pelo cadastro do site: ele informou o seu e-mail como e-mail do "
        "contador.\n\n🏢 Padaria Pão Quente Ltda\n"
    )
    assert chat.labels() == [texts.ABRIR_CLIENTE]
