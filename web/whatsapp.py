"""The WhatsApp Cloud API webhook: GET verification and signed POSTs, at /webhooks/whatsapp.

Thin on purpose: the channel (bot/channels/whatsapp.py, passed in through `WhatsAppWebhook`)
checks the verify token and the signature, and reads the payload. The signature is checked over
the raw body before anything is parsed: a bad one gets 403 and nothing is processed.
"""

from typing import Protocol

from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse

from web.app import webhook_route
from web.backpressure import Admission

WHATSAPP_WEBHOOK_PATH = "/webhooks/whatsapp"
SIGNATURE_HEADER = "X-Hub-Signature-256"


class WhatsAppWebhook(Protocol):
    def challenge(
        self, mode: str | None, token: str | None, challenge: str | None
    ) -> str | None: ...

    async def signature_ok(self, body: bytes, signature: str | None) -> bool: ...

    async def process_body(self, body: bytes) -> None: ...


def whatsapp_router(channel: WhatsAppWebhook, admission: Admission | None = None) -> APIRouter:
    router = APIRouter()
    gate = admission or Admission()

    @router.get(WHATSAPP_WEBHOOK_PATH)
    def verify(request: Request) -> Response:
        params = request.query_params
        answer = channel.challenge(
            params.get("hub.mode"), params.get("hub.verify_token"), params.get("hub.challenge")
        )
        if answer is None:
            return Response(status_code=403)
        return PlainTextResponse(answer)

    async def receive(request: Request) -> Response:
        body = await request.body()
        if not await channel.signature_ok(body, request.headers.get(SIGNATURE_HEADER)):
            return Response(status_code=403)
        with gate.enter() as admitted:
            if not admitted:
                return gate.busy()
            # Processed before answering: a crash makes Meta redeliver; the database dedupes.
            await channel.process_body(body)
        return Response(status_code=200)

    webhook_route(router, WHATSAPP_WEBHOOK_PATH, receive)
    return router
