"""The Telegram channel: python-telegram-bot 22 as transport only (Bot, requests, Update parsing).

Inbound: an Update becomes a neutral `Inbound` and goes through the conversation engine (in a
worker thread; one asyncio lock per identity here, the database lock across processes).
Outbound: the outbox sender hands us claimed messages; we render them (inline keyboards, edits
of the pressed message, buttons taken off a past prompt, documents, photos, deletions) and
map Telegram's answers to fates.

Every message a person writes reaches the dialogue: text, a document, or any other content
(photo, sticker, voice note, video, location, contact, poll...) as a `MediaBody` of its kind,
which the dialogue answers where the person is; only documents are downloaded, and photos
where the conversation stands at a step that reads one (a DANFE to read at Consultar nota:
MediaBody.photo; `wants_photo`). Updates that
are not someone writing are ignored (logged at DEBUG): edited messages, service messages (a pin,
a timer change), channel posts, inline queries, callback queries without data.

Never log the token: Bot API URLs carry it, so every error text is scrubbed before it is logged
or stored in the outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import secrets
import warnings
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from telegram import (
    Bot,
    BotCommand,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    Message,
    Update,
)
from telegram.constants import ChatAction as TelegramChatAction
from telegram.constants import MessageAttachmentType, ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    RetryAfter,
    TelegramError,
)
from telegram.request import BaseRequest
from telegram.warnings import PTBDeprecationWarning

from bot.channels.bot_api_request import LaneRequest
from bot.channels.http_lanes import EXTRA_LANES, lanes_or_default
from bot.settings import Settings
from bot.steps import Steps
from services.access import deactivate_identity
from services.capabilities import MB, Capabilities
from services.files import FileMissing, FileStore, open_content
from services.messages import (
    Button,
    ChatAction,
    ChoiceBody,
    ClearButtons,
    DeleteMessage,
    Document,
    FileBody,
    Image,
    Inbound,
    MediaBody,
    MediaKind,
    Text,
    TextBody,
    UrlButton,
    from_payload,
)
from services.outbox import Deferred, Delivered, Failed, Fate
from services.types import UnitOfWorkFactory
from storage.conversation import ClaimedMessage
from web.app import TELEGRAM_WEBHOOK_PATH

log = logging.getLogger(__name__)

CHANNEL = "telegram"
# Edits sent messages in place; shows chat actions ("enviando documento…", ~5 s each); may
# delete what the person sent it in a private chat (within 48 hours).
CAPABILITIES = Capabilities(
    edit=True, chat_actions=True, can_delete_messages=True, upload_limit=50 * MB
)
# A local Bot API server (any host but the cloud's, DESIGN.md) takes files up to 2000 MB.
TELEGRAM_CLOUD_HOST = "api.telegram.org"
LOCAL_BOT_API_LIMIT = 2000 * MB


def capabilities_for(base_url: str) -> Capabilities:
    """What Telegram can do in this deployment: the cloud Bot API, or a local server."""
    if urlsplit(base_url).hostname == TELEGRAM_CLOUD_HOST:
        return CAPABILITIES
    return replace(CAPABILITIES, upload_limit=LOCAL_BOT_API_LIMIT)


ALLOWED_UPDATES = ("message", "callback_query")
MAX_CALLBACK_DATA = 64  # bytes, Bot API limit
# Files in are read into memory up to this size (the cloud Bot API's getFile limit).
MAX_DOWNLOAD = 20 * 1024 * 1024
MAX_BACKOFF = timedelta(minutes=5)
COMMANDS = (
    BotCommand("menu", "Mostrar o menu principal"),
    BotCommand("cancelar", "Cancelar a operação em andamento"),
    BotCommand("ajuda", "Ajuda, comandos e contato do suporte"),
)

Handle = Callable[[Inbound], object]
WantsPhoto = Callable[[str], bool]  # identity key → download its chat photo?

# What a message's content (Message.<attachment>) is for the dialogue; a document is a file,
# any other content (dice, poll, game, story, paid media...) is MediaKind.OTHER.
MEDIA_KINDS = {
    "photo": MediaKind.IMAGE,
    "live_photo": MediaKind.IMAGE,
    "voice": MediaKind.AUDIO,
    "audio": MediaKind.AUDIO,
    "video": MediaKind.VIDEO,
    "video_note": MediaKind.VIDEO,
    "animation": MediaKind.VIDEO,  # a GIF (it carries a `document` too: not a file for us)
    "sticker": MediaKind.STICKER,
    "location": MediaKind.LOCATION,
    "venue": MediaKind.LOCATION,
    "contact": MediaKind.CONTACT,
}


class CallbackDataTooLong(ValueError):
    """A choice id that Telegram would refuse as callback_data (over 64 bytes)."""


def identity_key(user_id: int) -> str:
    return f"tg:{user_id}"


def build_bot(settings: Settings, *, request: BaseRequest | None = None) -> Bot:
    """The Bot for these settings; `request` replaces the HTTP layer (tests inject a fake).

    Without one, the Bot API calls go over lanes of one connection each (bot/channels/
    http_lanes.py), as many as the sender's concurrency and a few for the rest (file
    downloads, webhook set-up), those without files straight to them (bot/channels/
    bot_api_request.py); getUpdates keeps PTB's own request.
    """
    if settings.telegram_bot_token is None:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    updates = request
    if request is None:
        transport = lanes_or_default(settings.sender_concurrency + EXTRA_LANES)
        if transport is not None:
            request = LaneRequest(transport)
    return Bot(
        settings.telegram_bot_token.get_secret_value(),
        base_url=settings.telegram_base_url,
        base_file_url=settings.telegram_base_file_url,
        request=request,
        get_updates_request=updates,
    )


# -- inbound ------------------------------------------------------------------------------------


def to_inbound(update: Update, *, now: datetime | None = None) -> Inbound | None:
    """The neutral event for an update, or None when it carries nothing we act on."""
    received = now or datetime.now(UTC)
    query = update.callback_query
    if query is not None:
        if query.data is None or query.message is None:
            return None
        return Inbound(
            channel=CHANNEL,
            identity_key=identity_key(query.from_user.id),
            event_id=str(update.update_id),
            address=str(query.message.chat.id),
            body=ChoiceBody(query.data),
            received_at=received,
            display_name=query.from_user.full_name,
            message_ref=str(query.message.message_id),
            capabilities=CAPABILITIES,
        )
    message = update.message
    if message is None or message.from_user is None:
        return None
    body: TextBody | FileBody | MediaBody
    if message.text is not None:
        body = TextBody(message.text)
    else:
        found = _content(message)
        if found is None:
            return None  # a service message: nobody wrote anything
        kind, content = found
        document = message.document
        if kind == MessageAttachmentType.DOCUMENT and document is not None:
            body = FileBody(
                ref=document.file_id,
                name=document.file_name or "arquivo",
                mime=document.mime_type or "application/octet-stream",
                size=document.file_size or 0,
            )
        else:
            body = MediaBody(
                MEDIA_KINDS.get(kind, MediaKind.OTHER),
                _file_id(content),
                photo=_photo(content) if kind == MessageAttachmentType.PHOTO else None,
            )
    return Inbound(
        channel=CHANNEL,
        identity_key=identity_key(message.from_user.id),
        event_id=str(update.update_id),
        address=str(message.chat.id),
        body=body,
        received_at=received,
        display_name=message.from_user.full_name,
        # the typed message itself (a certificate password is deleted after reading)
        message_ref=str(message.message_id),
        capabilities=CAPABILITIES,
    )


def read_plain(
    payload: Mapping[str, Any], *, now: datetime | None = None
) -> tuple[Inbound, str | None] | None:
    """The neutral event for the two kinds of update nearly every one is (a text message, a
    button press) read straight from the webhook's JSON, and the press's id (None for a
    message); None for any other kind, or a field not of the type the Bot API gives it: those
    go through python-telegram-bot's `Update.de_json` and `to_inbound`, which give the same
    event for these two (tests/integration/test_telegram_adapter.py holds them to it).

    `Update.de_json` builds PTB's whole object tree, which the webhook then reads five fields
    of: 72–115 µs of CPU for a text message and 130–136 µs for a button press under its
    message with six buttons, on the event loop's thread, for every update; this reads them in
    2.4–4.6 µs (benchmarks/webhook_intake.py, five runs)."""
    update_id = payload.get("update_id")
    if type(update_id) is not int or len(payload) != 2:  # (the id and one kind of update)
        return None
    body: ChoiceBody | TextBody
    query = payload.get("callback_query")
    if query is not None:
        if not isinstance(query, dict):
            return None
        data, query_id, message = query.get("data"), query.get("id"), query.get("message")
        if type(data) is not str or type(query_id) is not str or not isinstance(message, dict):
            return None
        person, body, carrier = query.get("from"), ChoiceBody(data), message
    else:
        message = payload.get("message")
        if not isinstance(message, dict):
            return None
        text = message.get("text")
        if type(text) is not str:
            return None  # (files, media and service messages: PTB's reading)
        person, body, carrier, query_id = message.get("from"), TextBody(text), message, None
    chat, message_id = carrier.get("chat"), carrier.get("message_id")
    if not isinstance(person, dict) or not isinstance(chat, dict) or type(message_id) is not int:
        return None
    user_id, chat_id, first = person.get("id"), chat.get("id"), person.get("first_name")
    last = person.get("last_name")
    if type(user_id) is not int or type(chat_id) is not int or type(first) is not str:
        return None
    if last is not None and type(last) is not str:
        return None
    inbound = Inbound(
        channel=CHANNEL,
        identity_key=identity_key(user_id),
        event_id=str(update_id),
        address=str(chat_id),
        body=body,
        received_at=now or datetime.now(UTC),
        display_name=f"{first} {last}" if last else first,  # (PTB's full_name)
        message_ref=str(message_id),
        capabilities=CAPABILITIES,
    )
    return inbound, query_id


def _content(message: Message) -> tuple[str, Any] | None:
    """The kind and object of what the person sent (PTB's attachment types, in its order:
    an animation before the document it also carries, a location before its venue)."""
    for kind in MessageAttachmentType:
        # (not a payment receipt: PTB warns about it, and no one writes one)
        if kind == MessageAttachmentType.SUCCESSFUL_PAYMENT:
            continue
        content = getattr(message, kind.value, None)
        if content:
            return str(kind.value), content
    return None


def _photo(sizes: Any) -> FileBody | None:
    """A chat photo as the image file Telegram keeps of it (the biggest size, a JPEG)."""
    biggest = sizes[-1] if isinstance(sizes, tuple | list) and sizes else None
    if biggest is None:
        return None
    return FileBody(biggest.file_id, "foto.jpg", "image/jpeg", biggest.file_size or 0)


def _file_id(content: Any) -> str | None:
    """The platform's id of sent media (the biggest size of a photo); None for a location,
    a contact and the like."""
    if isinstance(content, tuple | list):
        content = content[-1] if content else None
    file_id = getattr(content, "file_id", None)
    return file_id if isinstance(file_id, str) else None


# -- outbound rendering -------------------------------------------------------------------------


def keyboard(buttons: Sequence[Sequence[Button]]) -> InlineKeyboardMarkup | None:
    """Inline keyboard for button rows; refuses a choice id over Telegram's 64-byte limit."""
    rows = [[_button(button) for button in row] for row in buttons if row]
    return InlineKeyboardMarkup(rows) if rows else None


def _button(button: Button) -> InlineKeyboardButton:
    if isinstance(button, UrlButton):
        return InlineKeyboardButton(button.label, url=button.url)
    if len(button.id.encode()) > MAX_CALLBACK_DATA:
        raise CallbackDataTooLong(
            f"choice id of {len(button.id.encode())} bytes (max {MAX_CALLBACK_DATA}): "
            f"{button.id[:20]}…"
        )
    return InlineKeyboardButton(button.label, callback_data=button.id)


def html_text(message: Text) -> tuple[str, ParseMode | None]:
    """The text to send and its parse mode: HTML with each code span in <code> (one tap copies
    it) and everything else escaped; plain text when there is nothing to mark."""
    if not message.code:
        return message.text, None
    marked = "".join(
        f"<code>{html.escape(piece, quote=False)}</code>"
        if code
        else html.escape(piece, quote=False)
        for piece, code in message.pieces()
    )
    return marked, ParseMode.HTML


def retry_delay(exc: RetryAfter) -> timedelta:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        delay = exc.retry_after
    return delay if isinstance(delay, timedelta) else timedelta(seconds=delay)


def backoff(attempts: int) -> timedelta:
    return min(timedelta(seconds=2 ** max(attempts, 1)), MAX_BACKOFF)


class _IdentityLocks:
    """One asyncio.Lock per identity, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: Counter[str] = Counter()

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] += 1
        try:
            async with lock:
                yield
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key]
                del self._locks[key]


class TelegramChannel:
    """Receives updates (polling or webhook) and delivers the outbox for channel "telegram"."""

    channel = CHANNEL

    def __init__(
        self,
        bot: Bot,
        handle: Handle,
        uow_factory: UnitOfWorkFactory,
        *,
        poll_timeout: int = 30,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        files: FileStore | None = None,
        wants_photo: WantsPhoto | None = None,
        steps: Steps | None = None,
    ) -> None:
        self.bot = bot
        self.files = files
        self.handle = handle
        # where the step and the channel's own database calls run (bot/steps.py): a thread, or
        # the loop on SQLite
        self.steps = steps or Steps()
        # Whether a person's conversation reads a chat photo now (None: always download it).
        self.wants_photo = wants_photo
        self.uow_factory = uow_factory
        self.poll_timeout = poll_timeout
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self._locks = _IdentityLocks()
        self._background: set[asyncio.Task[None]] = set()

    @property
    def webhook_mode(self) -> bool:
        return self.webhook_url is not None

    # -- life cycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Check the token (getMe), publish the commands, and set or drop the webhook."""
        await self.bot.initialize()
        await self.bot.set_my_commands(COMMANDS)
        if self.webhook_url is not None:
            await self.bot.set_webhook(
                self.webhook_url,
                secret_token=self.webhook_secret,
                allowed_updates=list(ALLOWED_UPDATES),
            )
        else:
            await self.bot.delete_webhook()

    async def stop(self) -> None:
        """Wait for callback answers still in flight, then close the HTTP clients."""
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        await self.bot.shutdown()

    # -- inbound --------------------------------------------------------------------------------

    async def process_payload(self, payload: dict[str, Any]) -> dict[str, Any] | None:
        """Handle one update as Telegram posted it to the webhook (unreadable ones: dropped).

        Returns the Bot API call for the webhook's answer, or None: a button press is
        answered there (`answerCallbackQuery`, which Telegram makes for us when it reads the
        answer) instead of by a request of its own; a third of the Bot API requests of a chat
        that mostly presses buttons."""
        plain = read_plain(payload)
        if plain is not None:
            inbound, query_id = plain
            await self._run(inbound)
        else:
            try:
                update = Update.de_json(payload, self.bot)
            except Exception:
                log.exception("unreadable webhook update %s", payload.get("update_id"))
                return None
            await self.process(update, answer_in_reply=True)
            query_id = None if update.callback_query is None else update.callback_query.id
        if query_id is None:
            return None
        return {"method": "answerCallbackQuery", "callback_query_id": query_id}

    async def process(self, update: Update, *, answer_in_reply: bool = False) -> None:
        """Handle one update: answer a button press at once (unless the caller answers it in
        its webhook reply), then run the conversation step."""
        if update.callback_query is not None and not answer_in_reply:
            # Not awaited here: the identity lock below must be this coroutine's first wait,
            # so updates of one person start in the order Telegram gave them.
            self._spawn(self._answer_callback(update.callback_query))
        try:
            inbound = to_inbound(update)
        except Exception:
            log.exception("could not read update %s", update.update_id)
            return
        if inbound is None:
            log.debug("ignoring update %s: nothing we act on", update.update_id)
            return
        await self._run(inbound)

    async def _run(self, inbound: Inbound) -> None:
        """The conversation step, after the files it carries are fetched; one person's in the
        order their updates came."""
        async with self._locks.hold(inbound.identity_key):
            inbound = await self._with_file_bytes(inbound)
            await self.steps.run(self.handle, inbound)

    async def poll(self, stop: asyncio.Event) -> None:
        """Long-poll getUpdates until `stop` is set; each batch is handled before the next."""
        offset: int | None = None
        failures = 0
        while not stop.is_set():
            fetch = asyncio.ensure_future(
                self.bot.get_updates(
                    offset=offset,
                    timeout=self.poll_timeout,
                    allowed_updates=list(ALLOWED_UPDATES),
                )
            )
            if not await _first(fetch, stop):
                break
            try:
                updates = fetch.result()
            except TelegramError as exc:
                failures += 1
                log.warning("getUpdates failed (%s): %s", type(exc).__name__, self.scrub(exc))
                await _wait(stop, min(2**failures, 30))
                continue
            failures = 0
            if updates:
                await asyncio.gather(*(self.process(update) for update in updates))
                offset = updates[-1].update_id + 1
        if offset is not None:
            # Confirm the last batch, so a restart does not fetch it again (dedupe would cope).
            with contextlib.suppress(TelegramError):
                await self.bot.get_updates(offset=offset, timeout=0)

    async def _with_file_bytes(self, inbound: Inbound) -> Inbound:
        """Fetch a sent file or chat photo into memory (up to MAX_DOWNLOAD; bigger ones arrive
        without bytes)."""
        body = inbound.body
        if isinstance(body, MediaBody) and body.photo is not None:
            if self.wants_photo is not None and not await self.steps.run(
                self.wants_photo, inbound.identity_key
            ):
                return replace(inbound, body=replace(body, photo=None))  # answered by its kind
            photo = await self._fetched(body.photo)
            return replace(inbound, body=replace(body, photo=photo))
        if isinstance(body, FileBody):
            return replace(inbound, body=await self._fetched(body))
        return inbound

    async def _fetched(self, body: FileBody) -> FileBody:
        if body.data is not None or body.size > MAX_DOWNLOAD:
            return body
        try:
            data = await self.download(body.ref)
        except TelegramError as exc:
            log.warning("could not download a file: %s", self.scrub(exc))
            return body
        if len(data) > MAX_DOWNLOAD:
            return body
        return replace(body, size=len(data), data=data)

    async def download(self, ref: str) -> bytes:
        """The bytes of a file the person sent (FileBody.ref), kept in memory."""
        file = await self.bot.get_file(ref)
        return bytes(await file.download_as_bytearray())

    async def _answer_callback(self, query: CallbackQuery) -> None:
        try:
            await self.bot.answer_callback_query(query.id)
        except TelegramError as exc:  # too old, or answered already: the step still runs
            log.info("could not answer callback query: %s", self.scrub(exc))

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # -- outbound -------------------------------------------------------------------------------

    async def deliver(self, message: ClaimedMessage) -> Fate:
        """Send one outbox message; Telegram's answer decides its fate."""
        try:
            ref = await self._send(message)
        except FileMissing as exc:
            return Failed(message.id, str(exc), file_gone=True)
        except CallbackDataTooLong as exc:
            return Failed(message.id, str(exc))
        except RetryAfter as exc:
            return Deferred(message.id, message.attempts, retry_delay(exc), "telegram: flood")
        except Forbidden as exc:
            await self.steps.run(deactivate_identity, self.uow_factory(), message.identity_key)
            log.info("identity %s deactivated: %s", message.identity_key, self.scrub(exc))
            return Failed(message.id, f"forbidden: {self.scrub(exc)}")
        except (BadRequest, ChatMigrated) as exc:
            return Failed(message.id, f"bad request: {self.scrub(exc)}")
        except TelegramError as exc:  # NetworkError, TimedOut, server errors
            error = f"{type(exc).__name__}: {self.scrub(exc)}"
            return Deferred(message.id, message.attempts, backoff(message.attempts), error)
        return Delivered(message.id, ref)

    async def _send(self, message: ClaimedMessage) -> str | None:
        outbound, edit_ref = from_payload(message.payload, message.blob)
        chat_id = int(message.address)
        if isinstance(outbound, Text):
            markup = keyboard(outbound.buttons)
            text, parse_mode = html_text(outbound)
            if edit_ref is not None:
                edited = await self._edit(chat_id, int(edit_ref), text, markup, parse_mode)
                if edited is not None:
                    return edited
            sent = await self.bot.send_message(
                chat_id, text, reply_markup=markup, parse_mode=parse_mode
            )
            return str(sent.message_id)
        if isinstance(outbound, Document | Image):
            return await self._send_file(chat_id, outbound)
        if isinstance(outbound, ChatAction):  # "enviando documento…" while a job runs
            await self.bot.send_chat_action(chat_id, outbound.kind)
            return None
        if isinstance(outbound, ClearButtons):
            await self._clear_buttons(chat_id, int(outbound.message_ref))
        if isinstance(outbound, DeleteMessage):
            deleted = await self._delete(chat_id, int(outbound.message_ref))
            if not deleted and outbound.if_kept:
                sent = await self.bot.send_message(chat_id, outbound.if_kept)
                return str(sent.message_id)
        return None

    async def _send_file(self, chat_id: int, outbound: Document | Image) -> str:
        """Stream the file from the store into the upload (never whole in memory); a chart
        goes as a photo, shown in the chat, the rest as a document."""
        opened = await asyncio.to_thread(open_content, self.files, outbound.file, outbound.data)
        with opened as stream:
            upload = InputFile(stream, filename=outbound.name, read_file_handle=False)
            if isinstance(outbound, Image):
                await self.bot.send_chat_action(chat_id, TelegramChatAction.UPLOAD_PHOTO)
                sent = await self.bot.send_photo(chat_id, upload, caption=outbound.caption)
            else:
                await self.bot.send_chat_action(chat_id, TelegramChatAction.UPLOAD_DOCUMENT)
                sent = await self.bot.send_document(chat_id, upload, caption=outbound.caption)
        return str(sent.message_id)

    async def _edit(
        self,
        chat_id: int,
        message_id: int,
        text: str,
        markup: InlineKeyboardMarkup | None,
        parse_mode: ParseMode | None = None,
    ) -> str | None:
        """Edit in place; None when the message can no longer be edited (send a new one)."""
        try:
            await self.bot.edit_message_text(
                text,
                chat_id=chat_id,
                message_id=message_id,
                reply_markup=markup,
                parse_mode=parse_mode,
            )
        except BadRequest as exc:
            if "not modified" in exc.message.lower():
                return str(message_id)  # already shows exactly this
            log.info("edit of message %s refused (%s): sending anew", message_id, exc.message)
            return None
        return str(message_id)

    async def _clear_buttons(self, chat_id: int, message_id: int) -> None:
        """Take the keyboard off a past prompt; one Telegram no longer lets us edit (too old,
        deleted, already bare) is left as it is: its buttons answer "expirou" anyway."""
        try:
            await self.bot.edit_message_reply_markup(chat_id, message_id, reply_markup=None)
        except BadRequest as exc:
            log.info("buttons of message %s left as they are (%s)", message_id, exc.message)

    async def _delete(self, chat_id: int, message_id: int) -> bool:
        """Remove a message; False when Telegram refuses (too old, or no right to), so the
        person must be asked to remove it. One already gone (deleted by the person) is fine."""
        try:
            await self.bot.delete_message(chat_id, message_id)
        except BadRequest as exc:
            if "not found" in exc.message.lower():
                return True
            log.info("deletion of message %s refused: %s", message_id, self.scrub(exc))
            return False
        return True

    def scrub(self, exc: BaseException | str) -> str:
        """An error text fit for logs and the outbox: without the bot token."""
        return str(exc).replace(self.bot.token, "<token>")


async def _first(fetch: asyncio.Future[Any], stop: asyncio.Event) -> bool:
    """Wait for `fetch` or `stop`; False (and `fetch` cancelled) when stop came first."""
    stopper = asyncio.ensure_future(stop.wait())
    done, _ = await asyncio.wait({fetch, stopper}, return_when=asyncio.FIRST_COMPLETED)
    stopper.cancel()
    if fetch in done:
        return True
    fetch.cancel()
    with contextlib.suppress(asyncio.CancelledError, TelegramError):
        await fetch
    return False


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


def from_settings(
    settings: Settings,
    handle: Handle,
    uow_factory: UnitOfWorkFactory,
    *,
    request: BaseRequest | None = None,
    webhook_secret: str | None = None,
    files: FileStore | None = None,
    wants_photo: WantsPhoto | None = None,
    steps: Steps | None = None,
) -> TelegramChannel:
    """The channel these settings describe: webhook mode when PUBLIC_BASE_URL is set."""
    webhook_url = None
    if settings.public_base_url:
        webhook_url = settings.public_base_url.rstrip("/") + TELEGRAM_WEBHOOK_PATH
        if webhook_secret is None and settings.telegram_webhook_secret is not None:
            webhook_secret = settings.telegram_webhook_secret.get_secret_value()
        # Development without a configured secret still gets the header checked.
        webhook_secret = webhook_secret or secrets.token_urlsafe(32)
    return TelegramChannel(
        build_bot(settings, request=request),
        handle,
        uow_factory,
        poll_timeout=settings.telegram_poll_timeout,
        webhook_url=webhook_url,
        webhook_secret=webhook_secret if webhook_url else None,
        files=files,
        wants_photo=wants_photo,
        steps=steps,
    )
