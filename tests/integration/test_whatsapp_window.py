"""WhatsApp's 24-hour window: notices never open it, outside it every notice goes as the
approved template, a late 131047 becomes one template retry, and a file goes as a signed link.

The Graph API is `GraphStandIn` behind `httpx.MockTransport`; the web app is served in process.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import time_machine
from sqlalchemy import select

from bot.app import App, channel_capabilities
from bot.crypto import download_links
from domain.clients import Role
from handlers.notices import NOTICE_RENDERERS
from services import access, notices, outbox
from services.conversation import enqueue_to
from services.messages import Document, Text
from services.outbox import Delivered, Fate
from storage.models import OutboxMessage, UserIdentity
from tests.integration.whatsapp_graph import BSUID, WA_ID
from tests.integration.whatsapp_support import (
    WEBHOOK_PATH,
    from_person,
    signed_headers,
    wa_channel,
    webhook_body,
)
from tests.support import add_client, make_office
from web.app import create_app
from web.downloads import downloads_router
from web.whatsapp import whatsapp_router

KEY = f"wa:{BSUID}"
LATER = timedelta(hours=25)


class Window:
    def __init__(self, app: App) -> None:
        self.app = app
        self.graph, self.channel = wa_channel(app)
        self.office = make_office(app.uow_factory, 1)
        issued = access.invite(app.uow_factory(), gestor_cnpj=self.office.cnpj, role=Role.GESTOR)
        access.redeem_invite(  # the gestor's WhatsApp, bound (so written) just now
            app.uow_factory(),
            code=issued.code,
            identity_key=KEY,
            channel="whatsapp",
            address=WA_ID,
            display_name=None,
        )
        links = download_links(app.settings)
        web = create_app(
            app.uow_factory,
            routers=[whatsapp_router(self.channel), downloads_router(links, app.files)],
        )
        self.web = httpx.AsyncClient(transport=httpx.ASGITransport(app=web), base_url="http://t")

    def notify(self, kind: str, payload: dict[str, Any]) -> None:
        notices.publish(self.app.uow_factory(), self.office.gestor.gestor_id, kind, payload)
        notices.dispatch(  # as the notice loop of `serve` does, with each channel's abilities
            self.app.uow_factory,
            self.app.conversation.handle,
            capabilities=channel_capabilities(self.app.settings),
        )

    async def flush(self) -> list[Fate]:
        claimed = outbox.claim(self.app.uow_factory, channels=["whatsapp"])
        fates = [await self.channel.deliver(message) for message in claimed]
        outbox.record(self.app.uow_factory, fates)
        return fates

    def types(self) -> list[str]:
        return [str(sent["type"]) for sent in self.graph.sent()]

    def last_inbound_at(self) -> datetime | None:
        uow = self.app.uow_factory()
        with uow:
            return uow.session.scalar(
                select(UserIdentity.last_inbound_at).where(UserIdentity.key == KEY)
            )

    def row(self, message_id: int) -> OutboxMessage:
        uow = self.app.uow_factory()
        with uow:
            row = uow.session.get(OutboxMessage, message_id)
            assert row is not None
            uow.session.expunge(row)
            return row

    async def status_failed(self, wamid: str, code: int = 131047) -> None:
        status = {
            "id": wamid,
            "status": "failed",
            "timestamp": str(int(datetime.now(UTC).timestamp())),
            "recipient_id": BSUID,
            "errors": [{"code": code, "title": "Re-engagement message"}],
        }
        body = webhook_body(statuses=[status])
        answer = await self.web.post(WEBHOOK_PATH, content=body, headers=signed_headers(body))
        assert answer.status_code == 200


@pytest.fixture
async def window(app: App) -> AsyncIterator[Window]:
    built = Window(app)
    yield built
    await built.web.aclose()
    await built.channel.stop()


@contextmanager
def later(delta: timedelta = LATER) -> Iterator[None]:
    with time_machine.travel(datetime.now(UTC) + delta, tick=True):
        yield


def samples(window: Window) -> dict[str, dict[str, Any]]:
    """A payload for every notice kind a gestor may be told (handlers/notices.py)."""
    card = add_client(window.app.uow_factory, window.office.gestor, 1)
    fatura = {"competencia": "2026-03", "total": "199.80", "due": "2026-03-10"}
    item = {"client_id": card.id, "razao_social": card.razao_social, "days_left": 5}
    return {
        "certificado.vencendo": {**item, "valid_until": "2026-03-07"},
        "certificado.resumo": {"items": [{**item, "valid_until": "2026-03-07"}]},
        "fatura.nova": fatura,
        "fatura.paga": fatura,
        "fatura.vencendo": fatura,
        "fatura.vencida": fatura,
        "link.completed": {"cid": card.id},
        "signup.linked": {"cid": card.id},
        "link.parado": {"software": "FazNota", "plan": "Básico", "opened": "2026-03-01"},
        "login.locked": {"channel": "telegram"},
        "login.new_chat": {"channel": "telegram", "identity_key": "tg:1", "name": "Ana"},
        "pendencias.resumo": {"counts": {"certificado": 2}, "overdue": {}, "new": {"fatura": 1}},
        "fornecedores.novas": {"client_id": card.id, "quantidade": 3, "nome": card.razao_social},
        "pacote.pronto": {"competencia": "2026-02", "clientes": 2, "notas": 11},
    }


KINDS = [
    "certificado.vencendo",
    "certificado.resumo",
    "fatura.nova",
    "fatura.paga",
    "fatura.vencendo",
    "fatura.vencida",
    "link.completed",
    "signup.linked",
    "link.parado",
    "login.locked",
    "login.new_chat",
    "pendencias.resumo",
    "fornecedores.novas",
    "pacote.pronto",
]


def test_every_notice_kind_has_a_sample_here() -> None:
    assert sorted(NOTICE_RENDERERS) == sorted(KINDS)


@pytest.mark.parametrize("kind", KINDS)
async def test_inside_the_window_a_notice_goes_free_form_in_one_message(
    window: Window, kind: str
) -> None:
    window.notify(kind, samples(window)[kind])
    await window.flush()
    assert len(window.types()) == 1  # worded for WhatsApp: what fits goes in one message
    assert "template" not in window.types()


@pytest.mark.parametrize("kind", KINDS)
async def test_outside_the_window_every_notice_goes_as_the_template_and_keeps_it_closed(
    window: Window, kind: str
) -> None:
    payload = samples(window)[kind]
    before = window.last_inbound_at()
    with later():
        window.notify(kind, payload)
        await window.flush()
        window.notify(kind, payload)  # the next one too: the first did not open the window
        await window.flush()
    assert window.types() == ["template", "template"]
    assert window.last_inbound_at() == before
    body = window.graph.sent()[0]["template"]["components"][0]["parameters"][0]["text"]
    assert "\n" not in body
    assert body.strip()


async def test_a_message_from_the_person_opens_the_window_again(window: Window) -> None:
    with later():
        window.notify("login.locked", {"channel": "telegram"})
        await window.flush()
        text = {"type": "text", "text": {"body": "/menu"}}
        body = webhook_body(messages=[from_person(text, "wamid.IN1")])
        answer = await window.web.post(WEBHOOK_PATH, content=body, headers=signed_headers(body))
        assert answer.is_success
        await window.flush()
    assert window.types()[0] == "template"
    assert "template" not in window.types()[1:]


async def test_a_late_131047_status_sends_the_message_again_as_the_template_once(
    window: Window,
) -> None:
    window.notify("login.locked", {"channel": "telegram"})
    [first] = await window.flush()
    assert window.types() == ["text"]
    await window.status_failed("wamid.OUT1")
    await window.flush()
    assert window.types() == ["text", "template"]
    row = window.row(first.message_id)
    assert (row.status, row.external_ref) == ("sent", "wamid.OUT2")
    [entry] = row.payload["wa_history"]
    assert (entry["wamid"], entry["then"]) == ("wamid.OUT1", "modelo aprovado")
    assert entry["error"].startswith("131047")

    await window.status_failed("wamid.OUT2")  # the template refused too: no third try
    await window.flush()
    assert window.types() == ["text", "template"]
    row = window.row(first.message_id)
    assert row.status == "failed"
    assert [e["then"] for e in row.payload["wa_history"]] == ["modelo aprovado", "desistiu"]


async def test_the_older_re_engagement_code_470_is_retried_too(window: Window) -> None:
    window.notify("login.locked", {"channel": "telegram"})
    await window.flush()
    await window.status_failed("wamid.OUT1", code=470)
    await window.flush()
    assert window.types() == ["text", "template"]


async def test_a_failed_status_for_another_reason_is_only_recorded(window: Window) -> None:
    window.notify("login.locked", {"channel": "telegram"})
    [first] = await window.flush()
    await window.status_failed("wamid.OUT1", code=131026)  # message undeliverable
    await window.flush()
    assert window.types() == ["text"]
    assert "wa_history" not in window.row(first.message_id).payload


def enqueue_document(window: Window, data: bytes, name: str = "notas-2026-03.zip") -> None:
    ref = window.app.files.put(data)
    document = Document(name, "application/zip", b"", caption="Notas de março", file=ref)
    uow = window.app.uow_factory()
    with uow:
        enqueue_to(uow, "whatsapp", KEY, WA_ID, [document], datetime.now(UTC))
        uow.commit()


def link_in(window: Window) -> str:
    text = window.graph.sent()[-1]["template"]["components"][0]["parameters"][0]["text"]
    url = next(word for word in text.split() if word.startswith("http"))
    return url.removeprefix(window.app.settings.web_base_url)


async def test_a_document_ready_outside_the_window_goes_as_a_signed_link(window: Window) -> None:
    data = b"PK\x03\x04 zip bytes " * 100
    with later():
        enqueue_document(window, data)
        [fate] = await window.flush()
        assert isinstance(fate, Delivered)
        assert window.types() == ["template"]  # no upload, no document message
        text = window.graph.sent()[0]["template"]["components"][0]["parameters"][0]["text"]
        assert "peça de novo" not in text
        assert "notas-2026-03.zip" in text
        path = link_in(window)
        assert path.startswith("/arquivo/")
        answer = await window.web.get(path)
        assert (answer.status_code, answer.content) == (200, data)
        assert "notas-2026-03.zip" in answer.headers["content-disposition"]

        forged = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
        assert (await window.web.get(forged)).status_code == 404
        assert (await window.web.get("/arquivo/nada.disso")).status_code == 404

    ttl = timedelta(days=window.app.settings.file_ttl_days)
    with later(LATER + ttl + timedelta(hours=1)):
        answer = await window.web.get(path)
    assert answer.status_code == 410
    assert "expirou" in answer.text


async def test_a_link_to_a_file_swept_early_answers_gone(window: Window) -> None:
    with later():
        enqueue_document(window, b"report")
        await window.flush()
        path = link_in(window)
        for key in list(window.app.files.older_than(datetime.now(UTC) + timedelta(days=1))):
            window.app.files.delete(key)
        assert (await window.web.get(path)).status_code == 410


async def test_inside_the_window_the_document_itself_goes(window: Window) -> None:
    enqueue_document(window, b"zip")
    await window.flush()
    assert window.types() == ["document"]


async def test_the_pair_rate_limit_is_waited_out_however_many_times(window: Window) -> None:
    uow = window.app.uow_factory()
    with uow:
        enqueue_to(uow, "whatsapp", KEY, WA_ID, [Text("Oi")], datetime.now(UTC))
        uow.commit()
    rounds = outbox.MAX_ATTEMPTS + 2
    for n in range(1, rounds + 1):
        window.graph.fail_next("/messages", 400, 131056, "pair rate limit")
        with later(timedelta(minutes=10 * n)):  # past any backoff: the row is due again
            fates = await window.flush()
        assert [type(f).__name__ for f in fates] == ["Deferred"]
    with later(timedelta(minutes=10 * (rounds + 1))):
        [fate] = await window.flush()
    assert type(fate).__name__ == "Delivered"
    assert window.types() == ["text"] * (rounds + 1)  # every try reached Meta; the last went
