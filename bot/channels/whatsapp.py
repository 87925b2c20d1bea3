"""The WhatsApp channel: pywa_async as Graph API client and webhook validator.

Inbound: the web route (web/whatsapp.py) checks the signature over the raw body, then hands
the body here. Each message or status of the payload is read by pywa, or by our raw parser when
pywa cannot (whatsapp_parse.py); what neither can read is logged and stored, never dropped.
Messages become neutral `Inbound` events (identity `wa:<BSUID>`, event id = the wamid, address =
the phone number, or the BSUID when WhatsApp hides the number) and go through the conversation
engine, which drops duplicates by (channel, wamid); one dated before the person's latest
message already processed is marked out of order (the dialogue does not apply it). A file the
Graph API cannot give after a few tries arrives marked unavailable. Statuses are recorded once
per (wamid, status); a `failed` one for the closed window sends the message again as the
template.

Outbound: the outbox sender hands us claimed messages. Inside the 24-hour customer-service
window they are rendered by whatsapp_render.py; outside it only the approved template goes,
with the text as its parameter (whatsapp_send.py). The window is judged by the later of the
identity's last inbound time and the person's last message seen here (whatsapp_window: people
without access yet get free-form answers too); notices never move it. Rate limits (pair rate
131056, throughput, 429) defer the message; the token never reaches logs or errors.
"""

from __future__ import annotations

import asyncio
import contextvars
import hmac
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
from pywa_async import WhatsApp, handlers
from pywa_async import errors as wa_errors

from bot.channels.http_lanes import EXTRA_LANES, lanes_or_default
from bot.channels.telegram import _IdentityLocks
from bot.channels.whatsapp_book import CAPABILITIES, CHANNEL, WhatsAppBook
from bot.channels.whatsapp_parse import (
    MEDIA_KINDS,
    Event,
    MessageEvent,
    StatusEvent,
    Unreadable,
    from_pywa,
    parse_raw,
    split,
)
from bot.channels.whatsapp_render import parse_more_id
from bot.channels.whatsapp_send import GraphSender
from bot.crypto import download_links
from bot.settings import Settings
from bot.steps import Steps
from services.download_links import DownloadLinks
from services.files import FileStore
from services.messages import ChoiceBody, FileBody, Inbound, MediaBody, MediaKind, TextBody
from services.outbox import Fate
from services.types import UnitOfWorkFactory
from storage.conversation import ClaimedMessage

log = logging.getLogger(__name__)

MAX_DOWNLOAD = 20 * 1024 * 1024  # inbound files kept in memory; bigger ones are not fetched
MEDIA_ATTEMPTS = 3  # tries to fetch a file the person sent, while the Graph API fails
MEDIA_BACKOFF = 0.5  # seconds before the second try, doubled for each next one

Handle = Callable[[Inbound], object]
WantsPhoto = Callable[[str], bool]  # identity key → download its chat image?


def build_client(settings: Settings, *, session: httpx.AsyncClient | None = None) -> WhatsApp:
    """The pywa client for these settings, talking to WHATSAPP_GRAPH_BASE_URL."""
    if not settings.whatsapp_enabled or settings.whatsapp_token is None:
        raise ValueError("WHATSAPP_PHONE_NUMBER_ID and WHATSAPP_TOKEN are not set")
    if settings.whatsapp_app_secret is None or settings.whatsapp_verify_token is None:
        raise ValueError("WHATSAPP_APP_SECRET and WHATSAPP_VERIFY_TOKEN are required")
    session = session or httpx.AsyncClient(
        timeout=httpx.Timeout(30.0, connect=10.0),
        # the sender's concurrent calls on one-connection lanes (bot/channels/http_lanes.py)
        transport=lanes_or_default(settings.sender_concurrency + EXTRA_LANES),
    )
    wa = WhatsApp(
        phone_id=settings.whatsapp_phone_number_id,
        token=settings.whatsapp_token.get_secret_value(),
        session=session,
        verify_token=settings.whatsapp_verify_token.get_secret_value(),
        app_secret=settings.whatsapp_app_secret.get_secret_value(),
        validate_updates=True,
        skip_duplicate_updates=False,  # per process only: the database dedupes instead
        filter_updates=False,  # `split` keeps only our phone number's changes
        api_version=settings.whatsapp_api_version,
    )
    # pywa has no base-URL option: point its session at the configured Graph API.
    base = settings.whatsapp_graph_base_url.rstrip("/")
    session.base_url = httpx.URL(f"{base}/v{settings.whatsapp_api_version}/")
    return wa


class WhatsAppChannel:
    """Receives webhook payloads and delivers the outbox for channel "whatsapp"."""

    channel = CHANNEL

    def __init__(
        self,
        wa: WhatsApp,
        handle: Handle,
        uow_factory: UnitOfWorkFactory,
        *,
        phone_id: str,
        verify_token: str,
        template_name: str,
        template_language: str,
        on_enqueued: Callable[[], None] | None = None,
        files: FileStore | None = None,
        links: DownloadLinks | None = None,
        wants_photo: WantsPhoto | None = None,
        steps: Steps | None = None,
    ) -> None:
        self.wa = wa
        self.handle = handle
        # where the step and the channel's own database calls run (bot/steps.py): a thread, or
        # the loop on SQLite
        self.steps = steps or Steps()
        # Whether a person's conversation reads a chat image now (None: always download it).
        self.wants_photo = wants_photo
        self.uow_factory = uow_factory
        self.phone_id = phone_id
        self.verify_token = verify_token
        self.sender = GraphSender(
            wa,
            uow_factory,
            template_name=template_name,
            template_language=template_language,
            files=files,
            links=links,
        )
        self.on_enqueued = on_enqueued
        self._locks = _IdentityLocks()
        self.media_backoff = MEDIA_BACKOFF
        self.book = WhatsAppBook(uow_factory)
        self._parsed: contextvars.ContextVar[list[Event] | None] = contextvars.ContextVar(
            "whatsapp_parsed", default=None
        )
        collect: Any = self._collect  # pywa's stubs name the sync client's type
        wa.add_handlers(
            handlers.MessageHandler(collect),
            handlers.CallbackButtonHandler(collect),
            handlers.CallbackSelectionHandler(collect),
            handlers.MessageStatusHandler(collect),
        )

    async def stop(self) -> None:
        await self.session.aclose()

    @property
    def session(self) -> httpx.AsyncClient:
        """The httpx client pywa sends with (ours: build_client made or got it)."""
        session: httpx.AsyncClient = self.wa.api._session
        return session

    # -- webhook --------------------------------------------------------------------------------

    def challenge(self, mode: str | None, token: str | None, challenge: str | None) -> str | None:
        """hub.challenge when Meta's verification request carries our verify token."""
        if mode != "subscribe" or token is None or challenge is None:
            return None
        return challenge if _same(token, self.verify_token) else None

    async def signature_ok(self, body: bytes, signature: str | None) -> bool:
        """X-Hub-Signature-256 is HMAC-SHA256(app secret, raw body) (pywa compares in constant
        time)."""
        if not signature or not signature.startswith("sha256="):
            return False
        return await self.wa.webhook_update_validator(body, signature) is None

    async def process_body(self, body: bytes) -> None:
        """Act on every message and status of a (signature-checked) webhook body."""
        try:
            payload = json.loads(body)
        except ValueError:
            await self._keep_raw("body is not JSON", {"body": body.decode("utf-8", "replace")})
            return
        parts = split(payload, self.phone_id)
        if parts.foreign:
            log.info("ignored %d webhook change(s) not for this phone number", parts.foreign)
        for reason, part in parts.unreadable:
            await self._keep_raw(reason, part)
        for envelope in parts.envelopes:
            event = await self._read(envelope)
            if event is None:
                continue
            try:
                await self._act(event)
            except Exception:
                log.exception("could not act on WhatsApp update %s", event.wamid)
                raise

    async def _read(self, envelope: dict[str, Any]) -> Event | None:
        """pywa's reading of the envelope, else ours; None (logged and stored) when neither."""
        sink: list[Event] = []
        if _pywa_reads(envelope):
            token = self._parsed.set(sink)
            try:
                await self.wa.webhook_update_handler(json.dumps(envelope).encode())
            finally:
                self._parsed.reset(token)
        if sink:
            return sink[0]
        try:
            event = parse_raw(envelope)
        except Unreadable as exc:
            await self._keep_raw(f"unreadable: {exc}", envelope)
            return None
        log.info("read WhatsApp update %s with the raw fallback", event.wamid)
        return event

    async def _collect(self, _: WhatsApp, update: Any) -> None:
        sink = self._parsed.get()
        if sink is None:
            return
        try:
            sink.append(from_pywa(update))
        except Exception:  # our reading of pywa's object failed: the raw parser tries next
            log.exception("could not map a pywa update")

    async def _keep_raw(self, reason: str, payload: dict[str, Any]) -> None:
        log.warning("WhatsApp update not understood (%s); stored for review", reason)

        def keep() -> None:
            uow = self.uow_factory()
            with uow:
                uow.whatsapp.keep_raw(reason, payload, datetime.now(UTC))
                uow.commit()

        await self.steps.run(keep)

    async def _act(self, event: Event) -> None:
        if isinstance(event, StatusEvent):
            if await self.steps.run(self.book.record_status, event) and self.on_enqueued:
                self.on_enqueued()  # a message back in the outbox as the template
            return
        key, address = await self.steps.run(self.book.who, event)
        async with self._locks.hold(key):
            late = await self.steps.run(self.book.advance, key, event.at)
            inbound = await self._inbound(event, key, address, late)
            if inbound is None:
                log.debug("ignoring WhatsApp %s message %s", event.kind, event.wamid)
                return
            if isinstance(inbound.body, ChoiceBody) and await self._more(inbound):
                return
            await self.steps.run(self.handle, inbound)
            if event.person.wa_id:
                await self.steps.run(self.book.keep_wa_id, key, event.person.wa_id)

    async def _inbound(
        self, event: MessageEvent, key: str, address: str, out_of_order: bool = False
    ) -> Inbound | None:
        body: TextBody | ChoiceBody | FileBody | MediaBody
        if event.kind == "text" and event.text is not None:
            body = TextBody(event.text)
        elif event.kind == "choice" and event.choice is not None:
            body = ChoiceBody(event.choice)
        elif event.kind == "document" and event.document is not None:
            body = await self._file(event.document.id, event.document.name, event.document.mime)
        elif event.kind == "image" and event.media_id is not None:
            # A chat image also comes as a file, for the steps that read pictures (a DANFE);
            # elsewhere it is answered by its kind and never fetched.
            photo = None
            if self.wants_photo is None or await self.steps.run(self.wants_photo, key):
                photo = await self._file(event.media_id, "foto.jpg", "image/jpeg")
            body = MediaBody(MediaKind.IMAGE, event.media_id, photo=photo)
        elif event.kind in MEDIA_KINDS:
            # Only the kind: the dialogue answers it without looking at the media.
            body = MediaBody(MEDIA_KINDS[event.kind], event.media_id)
        else:
            return None
        return Inbound(
            channel=CHANNEL,
            identity_key=key,
            event_id=event.wamid,
            address=address,
            body=body,
            received_at=event.at,
            display_name=event.person.name,
            capabilities=CAPABILITIES,
            out_of_order=out_of_order,
        )

    async def _file(self, media_id: str, name: str, mime: str) -> FileBody:
        """The file's description with its bytes (GET /{media-id} → URL → download with the
        token), or without them when over MAX_DOWNLOAD (the dialogue refuses it by size).
        Graph or network trouble is tried MEDIA_ATTEMPTS times with backoff; a media id that
        still cannot be fetched (expired, unknown) arrives marked unavailable, so the person is
        asked to send it again."""
        for attempt in range(1, MEDIA_ATTEMPTS + 1):
            try:
                info = await self.wa.get_media_url(media_id)
                size = int(info.file_size or 0)
                data = await self.wa.get_media_bytes(info.url) if size <= MAX_DOWNLOAD else None
            except (wa_errors.WhatsAppError, httpx.HTTPError) as exc:
                log.warning("media %s not fetched (attempt %d): %s", media_id, attempt, _why(exc))
                if not _transient(exc):
                    break
                if attempt < MEDIA_ATTEMPTS:
                    await asyncio.sleep(self.media_backoff * 2 ** (attempt - 1))
                continue
            mime = info.mime_type or mime
            return FileBody(media_id, name, mime, len(data) if data is not None else size, data)
        return FileBody(media_id, name, mime, 0, None, unavailable=True)

    async def download(self, ref: str) -> bytes:
        """The bytes of a file the person sent (FileBody.ref is the media id), in memory."""
        info = await self.wa.get_media_url(ref)
        if int(info.file_size or 0) > MAX_DOWNLOAD:
            raise ValueError(f"file of {info.file_size} bytes is over {MAX_DOWNLOAD}")
        return await self.wa.get_media_bytes(info.url)

    async def _more(self, inbound: Inbound) -> bool:
        """Answer "Mais opções" by sending the next page of the same list; False when the id
        is not ours or the list is gone (the dialogue then says the option expired)."""
        body = inbound.body
        more = parse_more_id(body.choice_id) if isinstance(body, ChoiceBody) else None
        if more is None:
            return False
        message_id, page = more
        handled = await self.steps.run(self.book.enqueue_page, inbound, message_id, page)
        if handled and self.on_enqueued is not None:
            self.on_enqueued()
        return handled

    async def deliver(self, message: ClaimedMessage) -> Fate:
        """Send one outbox message (free-form inside the 24-hour window, else a template)."""
        return await self.sender.deliver(message)


def _transient(exc: Exception) -> bool:
    """Worth another try: the network, a rate limit or a server error (not an unknown id)."""
    if isinstance(exc, httpx.HTTPError):
        return True
    status = getattr(exc, "status_code", None)
    return status is None or status == 429 or status >= 500


def _why(exc: Exception) -> str:
    if isinstance(exc, wa_errors.WhatsAppError):
        return f"{exc.code} {exc.message}"
    return type(exc).__name__  # never the URL: it may carry the token


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def _pywa_reads(envelope: dict[str, Any]) -> bool:
    """pywa 4.5 needs the contact's BSUID (`contacts[].user_id`) in messages and statuses; the
    older shape without it goes straight to our parser (instead of a logged pywa traceback)."""
    try:
        contacts = envelope["entry"][0]["changes"][0]["value"].get("contacts") or []
    except (KeyError, IndexError, TypeError, AttributeError):
        return False
    return bool(contacts) and isinstance(contacts[0], dict) and bool(contacts[0].get("user_id"))


def from_settings(
    settings: Settings,
    handle: Handle,
    uow_factory: UnitOfWorkFactory,
    *,
    session: httpx.AsyncClient | None = None,
    on_enqueued: Callable[[], None] | None = None,
    files: FileStore | None = None,
    wants_photo: WantsPhoto | None = None,
    steps: Steps | None = None,
) -> WhatsAppChannel:
    """The channel these settings describe (WHATSAPP_* must be set)."""
    wa = build_client(settings, session=session)
    verify_token = settings.whatsapp_verify_token
    if verify_token is None:
        raise ValueError("WHATSAPP_VERIFY_TOKEN is required")
    # pywa logs raw updates (what people typed, passwords included) at DEBUG, and every update
    # at INFO: only its warnings and errors may reach our logs.
    for name in ("pywa", "pywa_async"):
        logging.getLogger(name).setLevel(logging.WARNING)
    log.info(
        "WhatsApp: número %s, webhook em %s",
        settings.whatsapp_phone_number_id,
        (settings.public_base_url or "").rstrip("/") + "/webhooks/whatsapp",
    )
    return WhatsAppChannel(
        wa,
        handle,
        uow_factory,
        phone_id=str(settings.whatsapp_phone_number_id),
        verify_token=verify_token.get_secret_value(),
        template_name=settings.whatsapp_template_name,
        template_language=settings.whatsapp_template_language,
        on_enqueued=on_enqueued,
        files=files,
        links=download_links(settings),
        wants_photo=wants_photo,
        steps=steps,
    )
