"""Webhook backpressure: past the limit of events in progress, 503 with Retry-After at once
(the platform redelivers later) instead of queueing without bound; below it, 200 as before.
And the webhook routes' answers to a method they do not take."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from services.types import UnitOfWorkFactory
from tests.integration.whatsapp_graph import sign
from web.app import SECRET_HEADER, TELEGRAM_WEBHOOK_PATH, create_app
from web.backpressure import Admission
from web.whatsapp import SIGNATURE_HEADER, WHATSAPP_WEBHOOK_PATH, whatsapp_router

SECRET = "s" * 40
APP_SECRET = "meta-app-secret"


class BlockingChannel:
    """Processes an event only when the test lets it go."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.started = 0
        self.done = 0

    async def process_payload(self, payload: dict[str, Any]) -> None:
        await self._work()

    async def process_body(self, body: bytes) -> None:
        await self._work()

    async def _work(self) -> None:
        self.started += 1
        await self.release.wait()
        self.done += 1

    def challenge(self, mode: str | None, token: str | None, challenge: str | None) -> str | None:
        return None

    async def signature_ok(self, body: bytes, signature: str | None) -> bool:
        return signature == sign(body, APP_SECRET)


async def _until(condition: Any) -> None:
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


@pytest.mark.asyncio
async def test_a_burst_beyond_the_limit_is_told_to_come_back_and_the_rest_is_processed(
    uow_factory: UnitOfWorkFactory,
) -> None:
    channel = BlockingChannel()
    admission = Admission(limit=3, retry_after_seconds=2)
    app = create_app(uow_factory, telegram=channel, telegram_secret=SECRET, admission=admission)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bot") as client:

        def post(n: int) -> Any:
            return client.post(
                TELEGRAM_WEBHOOK_PATH, json={"update_id": n}, headers={SECRET_HEADER: SECRET}
            )

        held = [asyncio.create_task(post(n)) for n in range(3)]
        await _until(lambda: channel.started == 3)

        refused = await post(99)

        assert refused.status_code == 503
        assert refused.headers["Retry-After"] == "2"
        assert admission.refused == 1
        channel.release.set()
        answers = await asyncio.gather(*held)
        assert [a.status_code for a in answers] == [200, 200, 200]
        assert (await post(100)).status_code == 200  # room again once they finished
    assert channel.done == 4
    assert admission.in_flight == 0


@pytest.mark.asyncio
async def test_whatsapp_shares_the_same_gate(uow_factory: UnitOfWorkFactory) -> None:
    channel = BlockingChannel()
    admission = Admission(limit=1)
    app = create_app(uow_factory, routers=[whatsapp_router(channel, admission)])
    body = json.dumps({"object": "whatsapp_business_account", "entry": []}).encode()
    headers = {SIGNATURE_HEADER: sign(body, APP_SECRET), "Content-Type": "application/json"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bot") as client:
        first = asyncio.create_task(
            client.post(WHATSAPP_WEBHOOK_PATH, content=body, headers=headers)
        )
        await _until(lambda: channel.started == 1)

        second = await client.post(WHATSAPP_WEBHOOK_PATH, content=body, headers=headers)

        assert second.status_code == 503
        assert second.headers["Retry-After"] == "1"
        channel.release.set()
        assert (await first).status_code == 200


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", TELEGRAM_WEBHOOK_PATH, "POST"),
        ("PUT", TELEGRAM_WEBHOOK_PATH, "POST"),
        ("PUT", WHATSAPP_WEBHOOK_PATH, "GET, POST"),
        ("DELETE", WHATSAPP_WEBHOOK_PATH, "GET, POST"),
    ],
)
async def test_a_webhook_asked_with_another_method_says_every_method_its_path_takes(
    uow_factory: UnitOfWorkFactory, method: str, path: str, allow: str
) -> None:
    channel = BlockingChannel()
    app = create_app(
        uow_factory, telegram=channel, telegram_secret=SECRET, routers=[whatsapp_router(channel)]
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bot") as client:
        response = await client.request(method, path)
        document = (await client.get("/openapi.json")).json()

    assert response.status_code == 405
    assert response.headers["Allow"] == allow
    assert channel.started == 0
    # the webhooks are the platforms', not the integration API's
    assert "post" not in document["paths"].get(path, {})
