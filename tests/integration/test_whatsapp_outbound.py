"""Delivering the outbox on WhatsApp: the exact Graph API JSON, the 24-hour window, the fates.

The Graph API is `GraphStandIn` behind `httpx.MockTransport`, injected into pywa's client.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import time_machine

from bot.app import App
from bot.channels import whatsapp as whatsapp_channel
from handlers import texts
from services import outbox
from services.conversation import enqueue_to
from services.messages import (
    ChatAction,
    Choice,
    DeleteMessage,
    Document,
    Image,
    Outbound,
    Text,
    UrlButton,
    to_payload,
)
from services.outbox import Deferred, Delivered, Failed
from storage.conversation import ClaimedMessage
from tests.integration.whatsapp_graph import (
    API_VERSION,
    BSUID,
    PHONE_ID,
    TOKEN,
    WA_ID,
    fixture,
)
from tests.integration.whatsapp_support import Harness, wa_channel, wa_settings
from tests.support import make_office

KEY = f"wa:{BSUID}"
HEAD = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": WA_ID}


class Sender:
    def __init__(self, app: App) -> None:
        self.app = app
        self.graph, self.channel = wa_channel(app)
        make_office(app.uow_factory, 1, identity_key=KEY)  # wrote just now: window open

    async def deliver(self, message: Outbound, *, attempts: int = 0) -> Any:
        payload, blob = to_payload(message)
        claimed = ClaimedMessage(41, "whatsapp", KEY, WA_ID, payload, blob, attempts)
        return await self.channel.deliver(claimed)


@pytest.fixture
async def sender(app: App) -> AsyncIterator[Sender]:
    built = Sender(app)
    yield built
    await built.channel.stop()


def choices(n: int, label: str = "Opção") -> tuple[tuple[Choice, ...], ...]:
    return tuple((Choice(f"c:{i}", f"{label} {i}"),) for i in range(1, n + 1))


async def test_a_plain_text_goes_as_a_text_message(sender: Sender) -> None:
    fate = await sender.deliver(Text("Olá, Marta!"))
    assert fate == Delivered(41, "wamid.OUT1")
    assert sender.graph.sent() == [
        {**HEAD, "type": "text", "text": {"body": "Olá, Marta!", "preview_url": False}}
    ]
    assert sender.graph.calls[0].path == f"/v{API_VERSION}/{PHONE_ID}/messages"
    assert sender.graph.calls[0].authorization == f"Bearer {TOKEN}"


async def test_up_to_three_short_choices_go_as_reply_buttons(sender: Sender) -> None:
    message = Text(
        "Contrato salvo.",
        (
            (Choice("cfg:salvar", "Salvar"), Choice("nav:back", "Voltar")),
            (Choice("nav:menu", "Menu"),),
        ),
    )
    await sender.deliver(message)
    assert sender.graph.sent() == [
        {
            **HEAD,
            "type": "interactive",
            "interactive": {
                "type": "button",
                "body": {"text": "Contrato salvo."},
                "action": {
                    "buttons": [
                        {"type": "reply", "reply": {"id": "cfg:salvar", "title": "Salvar"}},
                        {"type": "reply", "reply": {"id": "nav:back", "title": "Voltar"}},
                        {"type": "reply", "reply": {"id": "nav:menu", "title": "Menu"}},
                    ]
                },
            },
        }
    ]


async def test_four_to_ten_choices_go_as_a_list_with_long_titles_cut_and_kept_whole(
    sender: Sender,
) -> None:
    message = Text(
        "Gerenciar",
        (
            (Choice("g:acesso", "Acessar software do cliente"),),
            (Choice("g:rel", "Relatórios e documentos"),),
            (Choice("g:forn", "XMLs de fornecedores"),),
            (Choice("g:emit", "XMLs emitidos"),),
        ),
    )
    await sender.deliver(message)
    rows = [
        {
            "id": "g:acesso",
            "title": "Acessar software do cli…",
            "description": "Acessar software do cliente",
        },
        {"id": "g:rel", "title": "Relatórios e documentos"},
        {"id": "g:forn", "title": "XMLs de fornecedores"},
        {"id": "g:emit", "title": "XMLs emitidos"},
    ]
    assert sender.graph.sent() == [
        {
            **HEAD,
            "type": "interactive",
            "interactive": {
                "type": "list",
                "body": {"text": "Gerenciar"},
                "action": {
                    "button": "Ver opções",
                    "sections": [{"title": "Opções", "rows": rows}],
                },
            },
        }
    ]


async def test_three_choices_with_a_label_over_twenty_characters_go_as_a_list(
    sender: Sender,
) -> None:
    message = Text(
        "Novo cliente",
        ((Choice("n:link", "Enviar link de contratação"), Choice("n:cad", "Novo cadastro")),),
    )
    await sender.deliver(message)
    [sent] = sender.graph.sent()
    assert sent["interactive"]["type"] == "list"
    assert sent["interactive"]["action"]["sections"][0]["rows"][0] == {
        "id": "n:link",
        "title": "Enviar link de contrata…",
        "description": "Enviar link de contratação",
    }


async def test_url_buttons_become_links_in_the_body(sender: Sender) -> None:
    message = Text("Link gerado.", ((UrlButton("Abrir link", "https://revenda.test/c/abc"),),))
    await sender.deliver(message)
    assert sender.graph.sent()[0]["text"] == {
        "body": "Link gerado.\n\nAbrir link: https://revenda.test/c/abc",
        "preview_url": False,
    }


async def test_a_document_is_uploaded_then_sent_with_filename_and_caption(sender: Sender) -> None:
    fate = await sender.deliver(
        Document("notas-2026-10.zip", "application/zip", b"PK\x03\x04zip", "XMLs de outubro")
    )
    upload, message = sender.graph.calls
    assert (upload.method, upload.path) == ("POST", f"/v{API_VERSION}/{PHONE_ID}/media")
    assert upload.form == {
        "file": b"PK\x03\x04zip",
        "filename": "notas-2026-10.zip",
        "file_content_type": "application/zip",
        "messaging_product": "whatsapp",
        "type": "application/zip",
    }
    assert message.json == {
        **HEAD,
        "type": "document",
        "document": {
            "id": "900000000001",
            "caption": "XMLs de outubro",
            "filename": "notas-2026-10.zip",
        },
    }
    assert fate == Delivered(41, "wamid.OUT1")


async def test_an_image_is_uploaded_then_sent_as_an_image_message(sender: Sender) -> None:
    png = b"\x89PNG\r\n\x1a\nchart"
    fate = await sender.deliver(Image("grafico.png", "image/png", png, "Outubro em barras"))
    upload, message = sender.graph.calls
    assert (upload.method, upload.path) == ("POST", f"/v{API_VERSION}/{PHONE_ID}/media")
    assert upload.form == {
        "file": png,
        "filename": "grafico.png",
        "file_content_type": "image/png",
        "messaging_product": "whatsapp",
        "type": "image/png",
    }
    assert message.json == {
        **HEAD,
        "type": "image",
        "image": {"id": "900000000001", "caption": "Outubro em barras"},
    }
    assert fate == Delivered(41, "wamid.OUT1")


async def test_an_image_over_five_megabytes_fails_without_reaching_the_graph_api(
    sender: Sender,
) -> None:
    fate = await sender.deliver(Image("grande.png", "image/png", b"\0" * (5 * 1024 * 1024 + 1)))
    assert isinstance(fate, Failed)
    assert sender.graph.calls == []


async def test_deleting_a_message_is_skipped_as_delivered(sender: Sender) -> None:
    assert await sender.deliver(DeleteMessage("wamid.X")) == Delivered(41, None)
    assert sender.graph.calls == []


async def test_a_chat_action_is_skipped_as_delivered(sender: Sender) -> None:
    assert await sender.deliver(ChatAction("upload_document")) == Delivered(41, None)
    assert sender.graph.calls == []


async def test_more_than_ten_choices_are_paginated_and_mais_opcoes_shows_the_next_page(
    app: App, sender: Sender
) -> None:
    now = datetime.now(UTC)
    uow = app.uow_factory()
    with uow:
        enqueue_to(uow, "whatsapp", KEY, WA_ID, [Text("Clientes", choices(12, "Cliente"))], now)
        uow.commit()
    [first] = outbox.claim(app.uow_factory, channels=["whatsapp"])
    await sender.channel.deliver(first)
    rows = sender.graph.sent()[0]["interactive"]["action"]["sections"][0]["rows"]
    assert [r["id"] for r in rows] == [*(f"c:{i}" for i in range(1, 10)), f"~mais:{first.id}:1"]
    assert rows[-1] == {
        "id": f"~mais:{first.id}:1",
        "title": "Mais opções",
        "description": "Página 2 de 2",
    }
    outbox.record(app.uow_factory, [Delivered(first.id, "wamid.OUT1")])

    harness = Harness(app, record_only=False)
    press = json.loads(fixture("list_reply"))
    reply = press["entry"][0]["changes"][0]["value"]["messages"][0]["interactive"]["list_reply"]
    reply.update(id=f"~mais:{first.id}:1", title="Mais opções")
    await harness.post(json.dumps(press).encode())
    await harness.close()

    [second] = outbox.claim(app.uow_factory, channels=["whatsapp"])
    await sender.channel.deliver(second)
    page = sender.graph.sent()[1]["interactive"]
    assert page["body"] == {"text": "Mais opções (página 2 de 2):"}
    assert [r["id"] for r in page["action"]["sections"][0]["rows"]] == ["c:10", "c:11", "c:12"]


async def test_mais_opcoes_of_another_person_is_not_shown(app: App, sender: Sender) -> None:
    now = datetime.now(UTC)
    uow = app.uow_factory()
    with uow:
        enqueue_to(uow, "whatsapp", "wa:BR.1", "5511900000000", [Text("x", choices(12))], now)
        uow.commit()
    [other] = outbox.claim(app.uow_factory, channels=["whatsapp"])
    outbox.record(app.uow_factory, [Delivered(other.id, None)])
    harness = Harness(app, record_only=False)
    press = json.loads(fixture("list_reply"))
    value = press["entry"][0]["changes"][0]["value"]
    value["messages"][0]["interactive"]["list_reply"]["id"] = f"~mais:{other.id}:1"
    await harness.post(json.dumps(press).encode())
    await harness.close()
    replies = outbox.claim(app.uow_factory, channels=["whatsapp"])
    assert [m.payload.get("wa_page") for m in replies] == [None] * len(replies)
    # the dialogue's answer to a stale id (with the menu, in one message)
    assert replies[0].payload["text"].startswith(texts.EXPIRED)
    assert all("Opção 10" not in json.dumps(m.payload) for m in replies)


# -- the 24-hour window --------------------------------------------------------------------------


def template(text: str) -> dict[str, Any]:
    return {
        **HEAD,
        "type": "template",
        "template": {
            "name": "revendabot_aviso",
            "language": {"code": "pt_BR"},
            "components": [{"type": "body", "parameters": [{"type": "text", "text": text}]}],
        },
    }


async def test_just_inside_the_window_the_message_goes_free_form(sender: Sender) -> None:
    with time_machine.travel(datetime.now(UTC) + timedelta(hours=23, minutes=59)):
        await sender.deliver(Text("Lembrete: certificado vence em 5 dias."))
    assert sender.graph.sent()[0]["type"] == "text"


async def test_outside_the_window_the_approved_template_carries_the_text(sender: Sender) -> None:
    message = Text(
        "Lembrete: o certificado da Padaria Estrela vence em 5 dias.\n\nRenove a tempo.",
        ((Choice("go:card:1", "Abrir cliente"),),),
    )
    with time_machine.travel(datetime.now(UTC) + timedelta(hours=24, minutes=1)):
        fate = await sender.deliver(message)
    assert sender.graph.sent() == [
        template("Lembrete: o certificado da Padaria Estrela vence em 5 dias. · Renove a tempo.")
    ]
    assert fate == Delivered(41, "wamid.OUT1")


async def test_a_document_outside_the_window_goes_as_a_template_with_a_download_link(
    sender: Sender,
) -> None:
    with time_machine.travel(datetime.now(UTC) + timedelta(days=2)):
        fate = await sender.deliver(Document("r.pdf", "application/pdf", b"%PDF", "Relatório"))
    [sent] = sender.graph.sent()
    assert sent["type"] == "template"
    text = sent["template"]["components"][0]["parameters"][0]["text"]
    assert f"{sender.app.settings.web_base_url}/arquivo/" in text
    assert "peça de novo" not in text
    assert fate == Delivered(41, "wamid.OUT1")
    assert not any(c.path.endswith("/media") for c in sender.graph.calls)


async def test_an_image_outside_the_window_goes_as_a_template_with_a_download_link(
    sender: Sender,
) -> None:
    with time_machine.travel(datetime.now(UTC) + timedelta(days=2)):
        fate = await sender.deliver(Image("g.png", "image/png", b"\x89PNG", "Outubro em barras"))
    [sent] = sender.graph.sent()
    assert sent["type"] == "template"
    text = sent["template"]["components"][0]["parameters"][0]["text"]
    assert f"{sender.app.settings.web_base_url}/arquivo/" in text
    assert "peça de novo" not in text
    assert fate == Delivered(41, "wamid.OUT1")
    assert not any(c.path.endswith("/media") for c in sender.graph.calls)


async def test_when_meta_says_the_window_closed_the_template_goes_instead(sender: Sender) -> None:
    sender.graph.fail_next("/messages", 400, 131047, "Re-engagement message")
    fate = await sender.deliver(Text("Olá"))
    assert [s["type"] for s in sender.graph.sent()] == ["text", "template"]
    assert fate == Delivered(41, "wamid.OUT1")


# -- fates ---------------------------------------------------------------------------------------


async def test_the_pair_rate_limit_defers_the_message_at_least_six_seconds(
    sender: Sender,
) -> None:
    sender.graph.fail_next(
        "/messages", 400, 131056, "(Business Account, Consumer Account) pair rate limit hit"
    )
    fate = await sender.deliver(Text("Olá"), attempts=1)
    assert isinstance(fate, Deferred)
    assert fate.delay >= timedelta(seconds=6)
    assert fate.error.startswith("whatsapp 131056")


@pytest.mark.parametrize(
    ("status", "code"), [(429, 130429), (400, 80007), (500, 131000), (503, 131016), (401, 190)]
)
async def test_throttling_server_and_token_errors_defer(
    sender: Sender, status: int, code: int
) -> None:
    sender.graph.fail_next("/messages", status, code, "try later")
    fate = await sender.deliver(Text("Olá"))
    assert isinstance(fate, Deferred)
    assert TOKEN not in fate.error


async def test_a_refused_message_fails(sender: Sender) -> None:
    sender.graph.fail_next("/messages", 400, 131026, "Message undeliverable")
    fate = await sender.deliver(Text("Olá"))
    assert fate == Failed(41, "whatsapp 131026: Message undeliverable")


async def test_a_network_error_defers_without_the_token_in_the_error(app: App) -> None:
    wa_settings(app)
    make_office(app.uow_factory, 1, identity_key=KEY)

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot reach {request.url}", request=request)

    session = httpx.AsyncClient(transport=httpx.MockTransport(refuse))
    channel = whatsapp_channel.from_settings(
        app.settings, app.conversation.handle, app.uow_factory, session=session
    )
    payload, _ = to_payload(Text("Olá"))
    fate = await channel.deliver(ClaimedMessage(7, "whatsapp", KEY, WA_ID, payload, None, 2))
    await channel.stop()
    assert isinstance(fate, Deferred)
    assert fate.delay == timedelta(seconds=4)
    assert TOKEN not in fate.error


async def test_a_person_without_a_visible_phone_number_is_addressed_by_bsuid(
    sender: Sender,
) -> None:
    payload, _ = to_payload(Text("Olá"))
    await sender.channel.deliver(ClaimedMessage(9, "whatsapp", KEY, BSUID, payload, None, 0))
    assert sender.graph.sent() == [
        {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "recipient": BSUID,
            "type": "text",
            "text": {"body": "Olá", "preview_url": False},
        }
    ]


async def test_an_edit_cannot_be_done_so_a_new_message_goes(sender: Sender) -> None:
    payload, _ = to_payload(Text("Relatório gerado ✅", edit=True), edit_ref="wamid.OLD")
    assert payload["edit_ref"] == "wamid.OLD"
    fate = await sender.channel.deliver(
        ClaimedMessage(3, "whatsapp", KEY, WA_ID, payload, None, 0)
    )
    assert fate == Delivered(3, "wamid.OUT1")
    assert sender.graph.sent() == [
        {**HEAD, "type": "text", "text": {"body": "Relatório gerado ✅", "preview_url": False}}
    ]
