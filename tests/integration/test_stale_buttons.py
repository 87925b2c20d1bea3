"""A button of a message the flow has moved past never moves the live flow, in every flow.

Each case walks to a screen, keeps one of its buttons, moves the flow on, then presses the
kept button: the answer is "expirou" and the live question again (nothing edited up the chat),
the saved state is as it was, and the next answer goes to the live step. The same table runs
through the Telegram channel (Bot API fake) and the console channel. On Telegram the buttons
of every superseded prompt are taken off as the flow moves on, so one message has buttons.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.app import App
from bot.sender import OutboxSender
from handlers import texts
from handlers.core import PROMPT
from services.types import UnitOfWorkFactory
from storage.conversation import PROMPT_KEY
from storage.models import OutboxMessage
from tests.integration.chat_drivers import (
    CONSOLE_IDENTITY,
    TELEGRAM_IDENTITY,
    ConsoleDriver,
    Driver,
    Shown,
    TelegramDriver,
    steady,
)
from tests.integration.test_whatsapp_webhook import Harness
from tests.integration.whatsapp_graph import BSUID, fixture
from tests.support import add_client, make_office
from tests.unit.helpers import GOOD

Action = tuple[str, str]  # ("say", text) | ("press", label) | ("keep", label)


def say(text: str) -> Action:
    return ("say", text)


def press(label: str) -> Action:
    return ("press", label)


def keep(label: str) -> Action:
    """Keep this button of the screen now shown, to press it once the flow has moved on."""
    return ("keep", label)


@dataclass(frozen=True)
class Case:
    id: str
    walk: tuple[Action, ...]  # ends on the live question; keeps one earlier button
    answer: Action  # the next answer, for the live step
    after: tuple[str, str]  # where that answer leads (flow, step)


THIS_MONTH = f"{datetime.now(ZoneInfo('America/Sao_Paulo')):%m/%Y}"
BRONZE = "Bronze — R$ 39,95"
MENU = (say("/menu"),)
CADASTRO = (
    *MENU,
    press(texts.NOVO_CLIENTE),
    press(texts.NOVO_CADASTRO),
    press(texts.GESTOR),
    press("FazNota"),
    press(BRONZE),
    say(GOOD["documento"]),
)
CARD = (*MENU, press(texts.CLIENTES), press("Cliente 001 Ltda"))
MANAGE = (*CARD, press(texts.GERENCIAR))
CONFIG = (*MANAGE, press(texts.CONFIGURACOES))
DADOS = (*MENU, press(texts.MEUS_DADOS))
TO_SUMMARY = tuple(say(GOOD[step]) for step in ("razao", "fantasia", "email", "telefone", "cep"))
SENHA = "Cafe2026Forte"

CASES = [
    Case(
        "cadastro: Voltar of step 5 while at step 7",
        (*CADASTRO, keep(texts.VOLTAR), say(GOOD["razao"]), say(GOOD["fantasia"])),
        say(GOOD["email"]),
        ("cadastro", "telefone"),
    ),
    Case(
        "cadastro: Cancelar of an earlier step",
        (*CADASTRO, keep(texts.CANCELAR), say(GOOD["razao"]), say(GOOD["fantasia"])),
        say(GOOD["email"]),
        ("cadastro", "telefone"),
    ),
    Case(
        "cadastro: Pular of Nome fantasia, answered already",
        (*CADASTRO, say(GOOD["razao"]), keep(texts.PULAR), say(GOOD["fantasia"])),
        say(GOOD["email"]),
        ("cadastro", "telefone"),
    ),
    Case(
        "cadastro: Cadastrar of the summary left with Voltar",
        (
            *CADASTRO,
            *TO_SUMMARY,
            say(GOOD["endereco"]),
            keep(texts.CADASTRAR),
            press(texts.VOLTAR),
        ),
        say(GOOD["endereco"]),
        ("cadastro", "resumo"),
    ),
    Case(
        "Novo cliente: Enviar link after Novo cadastro",
        (*MENU, press(texts.NOVO_CLIENTE), keep(texts.ENVIAR_LINK), press(texts.NOVO_CADASTRO)),
        press(texts.GESTOR),
        ("cadastro", "software"),
    ),
    Case(
        "menu: Clientes of an old menu",
        (*MENU, keep(texts.CLIENTES), press(texts.MEUS_DADOS)),
        press(texts.BASICOS),
        ("dados", "basicos"),
    ),
    Case(
        "link de contratação: Voltar of the payer question",
        (
            *MENU,
            press(texts.NOVO_CLIENTE),
            press(texts.ENVIAR_LINK),
            keep(texts.VOLTAR),
            press(texts.GESTOR),
        ),
        press("FazNota"),
        ("link", "plano"),
    ),
    Case(
        "Clientes: Próxima of page 1 while on page 2",
        (*MENU, press(texts.CLIENTES), keep(texts.PROXIMA), press(texts.PROXIMA)),
        say("Cliente 003"),
        ("clientes", "lista"),
    ),
    Case(
        "client card: Voltar while in Gerenciar",
        (*CARD, keep(texts.VOLTAR), press(texts.GERENCIAR)),
        press(texts.CONFIGURACOES),
        ("config", "inicio"),
    ),
    Case(
        "Configurações › Certificado: Voltar while sending the file",
        (
            *CONFIG,
            press(texts.CERTIFICADO_DIGITAL),
            keep(texts.VOLTAR),
            press(texts.ENVIAR_CERTIFICADO),
        ),
        press(texts.VOLTAR),
        ("config", "cert"),
    ),
    Case(
        "Configurações › Chave: Voltar while confirming a new key",
        (
            *CONFIG,
            press(texts.CHAVE_INTEGRACAO),
            keep(texts.VOLTAR),
            press(texts.GERAR_NOVA_CHAVE),
        ),
        press(texts.CONFIRMAR),
        ("config", "chave"),
    ),
    Case(
        "Configurações › Contrato: Salvar of the screen before a change",
        (*CONFIG, press(texts.CONTRATO), keep(texts.SALVAR), press("Efetivado")),
        press(texts.VOLTAR),
        ("config", "inicio"),
    ),
    Case(
        "Configurações › Software: Voltar while choosing the plan",
        (*CONFIG, press(texts.SOFTWARE), keep(texts.VOLTAR), press(texts.PLANO)),
        press("Prata — R$ 59,95"),
        ("config", "software"),
    ),
    Case(
        "Meus dados › Básicos: Voltar while typing a field",
        (*DADOS, press(texts.BASICOS), keep(texts.VOLTAR), press("Telefone")),
        say("(11) 3333-4444"),
        ("dados", "basicos"),
    ),
    Case(
        "Meus dados › E-mails: Voltar while typing the new e-mail",
        (*DADOS, press(texts.EMAILS), keep(texts.VOLTAR), press(texts.ADICIONAR)),
        say("financeiro@escritorio1.com.br"),
        ("dados", "emails"),
    ),
    Case(
        "Meus dados › Senha: Voltar of the first typing, at the second",
        (*DADOS, press(texts.SENHA), keep(texts.VOLTAR), say(SENHA)),
        say(SENHA),
        ("dados", "senha_ok"),
    ),
    Case(
        "Meus dados › Pagamento: Voltar while in Minhas faturas",
        (*DADOS, press(texts.PAGAMENTO), keep(texts.VOLTAR), press(texts.MINHAS_FATURAS)),
        press(texts.VOLTAR),
        ("dados", "pagamento"),
    ),
    Case(
        "Meus dados › Avisos: Básicos of the Meus dados screen",
        (*DADOS, keep(texts.BASICOS), press(texts.AVISOS)),
        press("Desligar: Certificados vencendo"),
        ("dados", "avisos"),
    ),
    Case(
        "Histórico: Gerenciar of the card",
        (*CARD, keep(texts.GERENCIAR), press(texts.HISTORICO)),
        press(texts.VOLTAR),
        ("clientes", "card"),
    ),
    Case(
        "Acessar software: Configurações of Gerenciar",
        (*MANAGE, keep(texts.CONFIGURACOES), press(texts.ACESSAR_SOFTWARE)),
        press(texts.VOLTAR),
        ("clientes", "gerenciar"),
    ),
    Case(
        "XMLs emitidos: Voltar of Gerenciar, the month typed",
        (*MANAGE, keep(texts.VOLTAR), press(texts.XMLS_EMITIDOS)),
        say(THIS_MONTH),
        ("emitidos", "modelo"),
    ),
    Case(
        "Relatórios: Mês atual of the month question, at the type question",
        (*MANAGE, press(texts.RELATORIOS), keep(texts.MES_ATUAL), press(texts.MES_ANTERIOR)),
        press(texts.VOLTAR),
        ("relatorios", "mes"),
    ),
    Case(
        "XMLs de fornecedores: Pendentes while choosing the year",
        (
            *MANAGE,
            press(texts.XMLS_FORNECEDORES),
            keep(texts.PENDENTES),
            press(texts.BUSCAR_MAIS_NOTAS),
        ),
        press(texts.VOLTAR),
        ("fornecedores", "inicio"),
    ),
]


def walk(driver: Driver, actions: tuple[Action, ...]) -> object:
    """Play the actions; return the kept button."""
    kept: object = None
    for kind, value in actions:
        if kind == "say":
            driver.say(value)
        elif kind == "press":
            driver.press(value)
        else:
            kept = driver.keep(value)
    assert kept is not None, "the walk keeps no button"
    return kept


def answer(driver: Driver, action: Action) -> None:
    kind, value = action
    driver.say(value) if kind == "say" else driver.press(value)


def saved(uow_factory: UnitOfWorkFactory, identity_key: str) -> tuple[str, str, dict[str, Any]]:
    """The saved state, without the live prompt's token and message (a new prompt's own)."""
    with uow_factory() as uow:
        state = uow.conversations.load(identity_key)
    assert state is not None
    data = {k: v for k, v in state.data.items() if k not in (PROMPT, PROMPT_KEY)}
    return state.flow, state.step, data


def expired_text(state: tuple[str, str, dict[str, Any]]) -> str:
    return texts.EXPIRED if state[:2] == ("menu", "inicio") else texts.EXPIRED_KEPT


def seed(uow_factory: UnitOfWorkFactory, identity_key: str) -> None:
    """Office 1 bound to this identity, with ten clients (two pages of the list)."""
    office = make_office(uow_factory, 1, identity_key=identity_key)
    for n in range(1, 11):
        add_client(uow_factory, office.gestor, n)


@pytest.fixture
def telegram(app: App, uow_factory: UnitOfWorkFactory) -> Iterator[TelegramDriver]:
    seed(uow_factory, TELEGRAM_IDENTITY)
    driver = TelegramDriver(app)
    yield driver
    driver.close()


@pytest.fixture
def console(app: App, uow_factory: UnitOfWorkFactory, tmp_path: Path) -> ConsoleDriver:
    seed(uow_factory, CONSOLE_IDENTITY)
    return ConsoleDriver(app, tmp_path / "baixados")


def steady_shown(shown: Shown) -> Shown:
    return Shown(steady(shown.text), shown.labels)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_on_telegram_a_button_of_a_superseded_prompt_changes_nothing(
    case: Case, telegram: TelegramDriver, uow_factory: UnitOfWorkFactory
) -> None:
    kept = walk(telegram, case.walk)
    # Every prompt the flow moved past lost its buttons: only the live one has them.
    [(live_id, live)] = telegram.with_buttons().items()
    before = saved(uow_factory, TELEGRAM_IDENTITY)

    telegram.press_kept(kept)

    said, again = telegram.sent()
    assert said == Shown(expired_text(before))
    assert steady_shown(again) == steady_shown(live)
    assert not telegram.called("editMessageText")  # nothing changes up the chat
    [clear] = telegram.called("editMessageReplyMarkup")
    assert (clear.params["message_id"], "reply_markup" in clear.params) == (live_id, False)
    assert list(telegram.with_buttons().values()) == [again]
    assert saved(uow_factory, TELEGRAM_IDENTITY) == before

    answer(telegram, case.answer)
    assert saved(uow_factory, TELEGRAM_IDENTITY)[:2] == case.after


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_on_the_console_a_button_of_a_superseded_prompt_changes_nothing(
    case: Case, console: ConsoleDriver, uow_factory: UnitOfWorkFactory
) -> None:
    kept = walk(console, case.walk)
    live = console.printed
    before = saved(uow_factory, CONSOLE_IDENTITY)

    console.press_kept(kept)

    head = f"{expired_text(before)}\n\n"
    assert console.printed.startswith(head)
    again = console.printed.removeprefix(head)
    assert "\n[1] " in again
    assert steady(live).endswith(steady(again))  # the live question, as it was printed
    assert saved(uow_factory, CONSOLE_IDENTITY) == before

    answer(console, case.answer)
    assert saved(uow_factory, CONSOLE_IDENTITY)[:2] == case.after


# -- WhatsApp: the ids come back in list rows and reply buttons; nothing can be edited --------


def whatsapp_message(n: int, content: dict[str, Any]) -> bytes:
    """A webhook POST with one message of the person, sent now (the 24-hour window opens)."""
    payload = json.loads(fixture("text"))
    value = payload["entry"][0]["changes"][0]["value"]
    [model] = value["messages"]
    sender = {key: model[key] for key in ("from", "from_user_id")}
    value["messages"] = [
        {**sender, "id": f"wamid.stale.{n}", "timestamp": str(int(time.time())), **content}
    ]
    return json.dumps(payload).encode()


def rows(sent: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of a list we sent."""
    [section] = sent["interactive"]["action"]["sections"]
    return list(section["rows"])


def row_id(sent: dict[str, Any], title: str) -> str:
    return next(row["id"] for row in rows(sent) if row["title"] == title)


def picked(title: str, choice_id: str) -> dict[str, Any]:
    reply = {"id": choice_id, "title": title}
    return {"type": "interactive", "interactive": {"type": "list_reply", "list_reply": reply}}


async def test_on_whatsapp_a_row_of_a_superseded_list_changes_nothing_and_nothing_is_edited(
    app: App, uow_factory: UnitOfWorkFactory
) -> None:
    whatsapp = Harness(app, record_only=False)
    sender = OutboxSender(app.uow_factory, [whatsapp.channel])
    key = f"wa:{BSUID}"
    make_office(uow_factory, 1, identity_key=key)
    await whatsapp.post(whatsapp_message(1, {"type": "text", "text": {"body": "/menu"}}))
    await sender.send_due()
    menu = whatsapp.graph.sent()[-1]
    clientes = row_id(menu, texts.CLIENTES)
    await whatsapp.post(
        whatsapp_message(2, picked(texts.MEUS_DADOS, row_id(menu, texts.MEUS_DADOS)))
    )
    await sender.send_due()
    live = whatsapp.graph.sent()[-1]
    before = saved(uow_factory, key)
    sent_before = len(whatsapp.graph.sent())

    await whatsapp.post(whatsapp_message(3, picked(texts.CLIENTES, clientes)))
    await sender.send_due()
    await whatsapp.close()

    # the note and the live screen again, in one message (each one costs the pair rate)
    [again] = whatsapp.graph.sent()[sent_before:]
    body = again["interactive"]["body"]["text"]
    assert body == f"{texts.EXPIRED_KEPT}\n\n{live['interactive']['body']['text']}"
    assert [r["title"] for r in rows(again)] == [r["title"] for r in rows(live)]
    assert saved(uow_factory, key) == before
    assert before[:2] == ("dados", "inicio")
    # The Cloud API cannot edit: no buttons are taken off, nothing but messages is sent.
    with uow_factory() as uow:
        kinds = uow.session.scalars(select(OutboxMessage.payload)).all()
    assert "clear_buttons" not in {payload["type"] for payload in kinds}
    assert {call.path.rsplit("/", 1)[-1] for call in whatsapp.graph.calls} == {"messages"}
