"""Delivering outbox messages through the Graph API (the WhatsApp channel's outbound half).

Inside the 24-hour customer-service window (the person's own last message is recent) the
message is rendered by whatsapp_render.py and sent free-form; outside it, and when Meta answers
131047 (re-engagement required) at once or later in a `failed` status (the row then comes back
marked `wa_template`, see WhatsAppBook.record_status), the approved template goes instead, the
text as its body parameter. A document or an image cannot go as a template: the template
carries a signed, expiring link to the file in the store (services/download_links.py). Graph
API errors become fates: the pair rate limit (131056) is waited out without ever giving up;
throughput, 429, server and token trouble are retried later with backoff; the rest fail.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from pywa_async import WhatsApp
from pywa_async import errors as wa_errors
from pywa_async import types as wa_types
from pywa_async.types.templates import TemplateLanguage

from bot.channels.whatsapp_render import (
    DocumentPart,
    ImagePart,
    Part,
    PlainText,
    ReplyButtons,
    RowList,
    render,
    template_text,
)
from services.download_links import DownloadLinks
from services.files import FileMissing, FileRef, FileStore, open_content
from services.messages import (
    ChatAction,
    ClearButtons,
    DeleteMessage,
    Document,
    Image,
    Outbound,
    from_payload,
)
from services.outbox import Deferred, Delivered, Failed, Fate
from services.types import UnitOfWorkFactory
from storage.conversation import ClaimedMessage

log = logging.getLogger(__name__)

WINDOW = timedelta(hours=24)
MAX_UPLOAD = 100 * 1024 * 1024  # Cloud API limit for documents
MAX_IMAGE_UPLOAD = 5 * 1024 * 1024  # Cloud API limit for images
PAIR_RATE_DELAY = timedelta(seconds=6)  # ≈ 1 message per 6 s per person
MAX_BACKOFF = timedelta(minutes=5)
TRANSIENT_CODES = {1, 2, 131000, 131016, 131057}
# Set on a row sent free-form that Meta later refused for the closed window: send it again as
# the template, once (storage/whatsapp.py `retry_as_template`).
TEMPLATE_RETRY = "wa_template"


def backoff(attempts: int) -> timedelta:
    return min(timedelta(seconds=2 ** max(attempts, 1)), MAX_BACKOFF)


class GraphSender:
    def __init__(
        self,
        wa: WhatsApp,
        uow_factory: UnitOfWorkFactory,
        *,
        template_name: str,
        template_language: str,
        files: FileStore | None = None,
        links: DownloadLinks | None = None,
    ) -> None:
        self.wa = wa
        self.files = files
        self.links = links
        self.uow_factory = uow_factory
        self.template_name = template_name
        self.template_language = TemplateLanguage(template_language)

    async def deliver(self, message: ClaimedMessage) -> Fate:
        """Send one outbox message: free-form inside the 24-hour window, a template outside."""
        outbound, _ = from_payload(message.payload, message.blob)
        if isinstance(outbound, DeleteMessage | ClearButtons | ChatAction):
            # WhatsApp cannot delete nor edit, and has no "typing…" for business messages
            return Delivered(message.id, None)
        if isinstance(outbound, Document) and outbound.size > MAX_UPLOAD:
            return Failed(message.id, f"documento de {outbound.size} bytes: acima de 100 MB")
        if isinstance(outbound, Image) and outbound.size > MAX_IMAGE_UPLOAD:
            return Failed(message.id, f"imagem de {outbound.size} bytes: acima de 5 MB")
        try:
            free_form = not message.payload.get(TEMPLATE_RETRY)
            if free_form and await asyncio.to_thread(self.window_open, message.identity_key):
                try:
                    page = int(message.payload.get("wa_page", 0))
                    parts = render(outbound, message_id=message.id, page=page)
                    return Delivered(message.id, await self._send_parts(message.address, parts))
                except wa_errors.ReEngagementMessage:
                    log.info("window closed for %s: sending the template", message.identity_key)
            link = await asyncio.to_thread(self._link, outbound)
            ref = await self._send_template(message.address, outbound, link)
        except FileMissing as exc:
            return Failed(message.id, str(exc), file_gone=True)
        except wa_errors.WhatsAppError as exc:
            return self._fate(message, exc)
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: rede"
            return Deferred(message.id, message.attempts, backoff(message.attempts), error)
        if isinstance(outbound, Document | Image) and link is None:
            return Failed(message.id, "fora da janela de 24 horas: avisado pelo modelo aprovado")
        return Delivered(message.id, ref)

    def _link(self, outbound: Outbound) -> tuple[str, datetime] | None:
        """A signed link to the file of a document or picture (None for other messages, or
        without a file store); bytes of a row queued before the store are stored first."""
        if not isinstance(outbound, Document | Image) or self.links is None or self.files is None:
            return None
        ref: FileRef = outbound.file or self.files.put(outbound.data)
        if outbound.file is not None:
            self.files.open(ref.key).close()  # FileMissing now, rather than a dead link later
        return self.links.link(ref, outbound.name, outbound.mime, datetime.now(UTC))

    def window_open(self, key: str, now: datetime | None = None) -> bool:
        """Whether the person wrote within the last 24 hours (free-form messages allowed)."""
        uow = self.uow_factory()
        with uow:
            last = uow.whatsapp.last_inbound_at(key)
        return last is not None and (now or datetime.now(UTC)) - last < WINDOW

    async def _send_parts(self, to: str, parts: list[Part]) -> str | None:
        ref = None
        for part in parts:
            ref = await self._send_part(to, part)
        return ref

    async def _send_part(self, to: str, part: Part) -> str:
        if isinstance(part, PlainText):
            sent = await self.wa.send_message(to, part.body)
        elif isinstance(part, ReplyButtons):
            buttons = [wa_types.Button(title, callback_data=id_) for id_, title in part.buttons]
            sent = await self.wa.send_message(to, part.body, buttons=buttons)
        elif isinstance(part, RowList):
            rows = [
                wa_types.SectionRow(r.title, callback_data=r.id, description=r.description)
                for r in part.rows
            ]
            section = wa_types.Section(part.section, rows=rows)
            listing = wa_types.SectionList(part.button, sections=[section])
            sent = await self.wa.send_message(to, part.body, buttons=listing)
        elif isinstance(part, ImagePart):
            sent = await self._send_image(to, part)
        else:
            sent = await self._send_document(to, part)
        return str(sent.id)

    async def _send_document(self, to: str, part: DocumentPart) -> Any:
        media_id = await self._upload(part)
        return await self.wa.send_document(to, media_id, filename=part.name, caption=part.caption)

    async def _send_image(self, to: str, part: ImagePart) -> Any:
        # uploaded first, as documents are, so the bytes never need a public URL
        return await self.wa.send_image(to, await self._upload(part), caption=part.caption)

    async def _upload(self, part: DocumentPart | ImagePart) -> str:
        """Upload the file as a stream from the store (or the row's bytes, for old rows)."""
        opened = await asyncio.to_thread(open_content, self.files, part.file, part.data)
        with opened as stream:
            media = await self.wa.upload_media(stream, mime_type=part.mime, filename=part.name)
        return str(media.id)

    async def _send_template(
        self, to: str, outbound: Outbound, link: tuple[str, datetime] | None = None
    ) -> str | None:
        text = template_text(outbound, link)
        if text is None:
            return None
        parameters = [{"type": "text", "text": text}]
        sent = await self.wa.send_template(
            to,
            name=self.template_name,
            language=self.template_language,
            params=[{"type": "body", "parameters": parameters}],
        )
        return str(sent.id)

    def _fate(self, message: ClaimedMessage, exc: wa_errors.WhatsAppError) -> Fate:
        error = f"whatsapp {exc.code}: {exc.message}"[:500]
        if isinstance(exc, wa_errors.TooManyMessages):
            # Meta only asks us to slow down for this person: back off, never give up (an
            # attempt count of 0 keeps the row below MAX_ATTEMPTS however long it takes).
            delay = max(PAIR_RATE_DELAY, backoff(message.attempts))
            return Deferred(message.id, 0, delay, error)
        status = exc.status_code or 0
        if (
            isinstance(exc, wa_errors.ThrottlingError | wa_errors.AuthorizationError)
            or exc.is_transient
            or exc.code in TRANSIENT_CODES
            or status == 429
            or status >= 500
        ):
            if isinstance(exc, wa_errors.AuthorizationError):
                log.error("WhatsApp refused our token or permissions: %s", error)
            return Deferred(message.id, message.attempts, backoff(message.attempts), error)
        return Failed(message.id, error)
