"""Long work in the chat (DESIGN.md "Conversation core", issue 3): the step answers at once with
the notice and "enviando documento…"; a big job edits its notice with progress, then "Pronto";
the upload limit follows the deployment (a local Bot API server takes 2000 MB)."""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import time_machine
from pydantic import SecretStr
from sqlalchemy import Engine, select
from telegram import Update

from bot.app import App, build_app
from bot.channels.console import ConsoleChannel
from bot.channels.telegram import from_settings
from bot.sender import OutboxSender
from bot.settings import Settings
from handlers import texts
from handlers.core import DialogueConfig
from handlers.router import Dialogue
from services import fiscal_exports
from services.clients import ClientCard
from services.conversation import ConversationEngine
from services.fiscal_exports import (
    LOCAL_BOT_API_LIMIT,
    MB,
    ExportOptions,
    deployment_upload_limits,
)
from services.messages import ChatAction, Text, from_payload, to_payload
from services.types import UnitOfWorkFactory
from storage.conversation import OutboxRepository
from storage.models import OutboxMessage
from tests.integration.fake_telegram import TOKEN, FakeBotApi, callback_update
from tests.support import Chat, add_client, make_office
from tests.unit.fiscal_chat.chat_support import NOW, open_gerenciar, store_emitted

CLOUD_URL = "https://api.telegram.org/bot"
LOCAL_URL = "http://127.0.0.1:8081/bot"
NOTES = 40
# With the clock below (one second per reading) and 40 notes, the notice is edited every
# 4 notes: 2 s have passed and another 10% of the notes went by.
PROGRESS = [f"⏳ Gerando… {n} de 40 notas" for n in range(4, NOTES, 4)]
FINISHED = "✅ Pronto: enviado em 1 parte."
NOTICE = "⏳ Gerando o ZIP com 40 NF-e de 10/2026… Envio aqui assim que ficar pronto."


@pytest.fixture(autouse=True)
def clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=True):
        yield


def ticking() -> Callable[[], float]:
    """A monotonic clock that moves one second each time it is read."""
    seconds = itertools.count()
    return lambda: float(next(seconds))


def engine_for(
    uow_factory: UnitOfWorkFactory,
    options: ExportOptions,
    jobs: list[Callable[[], None]] | None = None,
) -> ConversationEngine:
    """The real dialogue with these export options; jobs kept in `jobs` (run by the test)
    instead of inline, when given."""
    return ConversationEngine(
        uow_factory,
        Dialogue(DialogueConfig(exports=options)),
        run_job=jobs.append if jobs is not None else None,
    )


def acme_with_notes(uow_factory: UnitOfWorkFactory, identity_key: str, count: int) -> ClientCard:
    office = make_office(uow_factory, 1, identity_key=identity_key)
    acme = add_client(uow_factory, office.gestor, 1, name="ACME Comércio Ltda")
    store_emitted(uow_factory, acme, count)
    return acme


def to_model_question(chat: Chat) -> None:
    open_gerenciar(chat, "ACME Comércio Ltda")
    chat.press(texts.XMLS_EMITIDOS)
    chat.press(texts.MES_ANTERIOR)


def run(jobs: list[Callable[[], None]]) -> None:
    while jobs:
        jobs.pop(0)()


# -- the answer at once ---------------------------------------------------------------------------


def test_a_chat_action_survives_the_outbox_as_itself() -> None:
    payload, blob = to_payload(ChatAction("upload_document"))

    assert payload == {"type": "chat_action", "kind": "upload_document"}
    assert from_payload(payload, blob) == (ChatAction("upload_document"), None)


def test_the_notice_and_the_chat_action_go_first_and_the_pressed_question_is_kept_in_place(
    uow_factory: UnitOfWorkFactory,
) -> None:
    jobs: list[Callable[[], None]] = []
    chat = Chat(engine_for(uow_factory, ExportOptions(), jobs), uow_factory)
    acme_with_notes(uow_factory, chat.identity_key, 3)
    to_model_question(chat)
    chat.edits.clear()

    replies = chat.press(texts.NFE)

    assert replies[:2] == [
        Text("⏳ Gerando o ZIP com 3 NF-e de 10/2026… Envio aqui assim que ficar pronto."),
        ChatAction("upload_document"),
    ]
    assert isinstance(replies[2], Text)
    assert replies[2].text.startswith("📦 XMLs emitidos de ACME Comércio Ltda — 10/2026")
    assert chat.edits == [None, None, "m1"]  # the question stays where it was pressed
    assert chat.documents() == []  # the ZIP is not built yet: the job has not run
    run(jobs)
    chat.drain()
    assert [d.name for d in chat.documents()] == ["ACME-Comercio-Ltda_2026-10_NFe.zip"]


# -- progress of a big job ------------------------------------------------------------------------


def test_a_big_job_edits_its_delivered_notice_with_throttled_progress_then_pronto(
    uow_factory: UnitOfWorkFactory,
) -> None:
    jobs: list[Callable[[], None]] = []
    options = ExportOptions(progress_from=10, monotonic=ticking())
    chat = Chat(engine_for(uow_factory, options, jobs), uow_factory)
    acme_with_notes(uow_factory, chat.identity_key, NOTES)
    to_model_question(chat)
    [notice, *_] = chat.press(texts.NFE)  # delivered: the job can find its platform id
    sent = len(chat.received)

    run(jobs)
    chat.drain()

    later = chat.received[sent:]
    edits = chat.edits[sent:]
    notice_edits = [m.text for m, ref in zip(later, edits, strict=True) if isinstance(m, Text)]
    assert notice == Text(NOTICE)
    assert notice_edits == [*PROGRESS, FINISHED]
    assert {ref for m, ref in zip(later, edits, strict=True) if isinstance(m, Text)} == {
        _ref_of_notice(chat, NOTICE)
    }
    # each progress edit renews "enviando documento…" (Telegram shows it for 5 s)
    assert sum(isinstance(m, ChatAction) for m in later) == len(PROGRESS)
    assert len(chat.documents()) == 1


def _ref_of_notice(chat: Chat, text: str) -> str:
    """The platform id the test chat gave the notice (`out<outbox id>`)."""
    uow = chat.uow_factory()
    with uow:
        refs = [
            row.external_ref
            for row in uow.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
            if row.payload.get("text") == text and "edit_ref" not in row.payload
        ]
    [ref] = refs
    assert ref is not None
    return ref


def test_a_notice_not_delivered_yet_gets_no_progress_and_pronto_arrives_as_a_new_message(
    uow_factory: UnitOfWorkFactory,
) -> None:
    options = ExportOptions(progress_from=10, monotonic=ticking())
    chat = Chat(engine_for(uow_factory, options), uow_factory)
    acme_with_notes(uow_factory, chat.identity_key, NOTES)
    to_model_question(chat)

    replies = chat.press(texts.NFE)  # the job ran inline, before anything was delivered

    texts_sent = [m.text for m in replies if isinstance(m, Text)]
    assert not any(t.startswith("⏳ Gerando… ") for t in texts_sent)
    assert texts_sent[-1] == FINISHED
    assert chat.edits[-1] is None  # a new message, not an edit


def test_when_progress_cannot_be_shown_the_job_still_delivers_its_zip(
    uow_factory: UnitOfWorkFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    jobs: list[Callable[[], None]] = []
    options = ExportOptions(progress_from=10, monotonic=ticking())
    chat = Chat(engine_for(uow_factory, options, jobs), uow_factory)
    acme_with_notes(uow_factory, chat.identity_key, NOTES)
    to_model_question(chat)
    chat.press(texts.NFE)
    sent = len(chat.received)

    def broken(self: OutboxRepository, message_id: int) -> str | None:
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(OutboxRepository, "external_ref", broken)
    run(jobs)
    later = chat.drain()

    assert [d.name for d in chat.documents()] == ["ACME-Comercio-Ltda_2026-10_NFe.zip"]
    assert [m.text for m in later if isinstance(m, Text)] == [FINISHED]  # the notice is not
    assert chat.received[sent:] == later  # edited; only "Pronto" comes, as a new message


def test_a_small_job_leaves_its_notice_alone(uow_factory: UnitOfWorkFactory) -> None:
    jobs: list[Callable[[], None]] = []
    options = ExportOptions(progress_from=NOTES + 1, monotonic=ticking())
    chat = Chat(engine_for(uow_factory, options, jobs), uow_factory)
    acme_with_notes(uow_factory, chat.identity_key, NOTES)
    to_model_question(chat)
    chat.press(texts.NFE)
    sent = len(chat.received)

    run(jobs)

    assert [type(m).__name__ for m in chat.drain()] == ["Document"]
    assert len(chat.received) == sent + 1


def test_on_whatsapp_a_big_job_sends_only_the_final_pronto(
    uow_factory: UnitOfWorkFactory,
) -> None:
    jobs: list[Callable[[], None]] = []
    options = ExportOptions(progress_from=10, monotonic=ticking())
    chat = Chat(
        engine_for(uow_factory, options, jobs),
        uow_factory,
        identity_key="wa:BR.ana",
        channel="whatsapp",
    )
    acme_with_notes(uow_factory, chat.identity_key, NOTES)
    to_model_question(chat)
    chat.press(texts.NFE)
    sent = len(chat.received)

    run(jobs)
    later = chat.drain()

    assert [m.text for m in later if isinstance(m, Text)] == [FINISHED]
    assert chat.edits[sent:] == [None, None]  # the document, then Pronto as a new message
    # no "enviando documento…" on WhatsApp: the pacer would hold the replies behind it
    assert not any(isinstance(m, ChatAction) for m in chat.received)


def test_the_console_prints_nothing_for_the_chat_action_and_pronto_as_a_new_block(
    app: App, uow_factory: UnitOfWorkFactory, tmp_path: Path
) -> None:
    acme_with_notes(uow_factory, "console:ana", 12)
    engine = engine_for(uow_factory, ExportOptions(progress_from=10))
    out = io.StringIO()
    console = ConsoleChannel("ana", engine.handle, uow_factory, tmp_path, out=out)
    script = ["/menu", texts.CLIENTES, "ACME Comércio Ltda", texts.GERENCIAR,
              texts.XMLS_EMITIDOS, texts.MES_ANTERIOR, texts.NFE]  # fmt: skip

    console.run(script, interactive=False)

    transcript = out.getvalue()
    assert (
        "Envio aqui assim que ficar pronto.\n\n📦 XMLs emitidos de ACME Comércio Ltda — 10/2026"
    ) in transcript
    assert transcript.endswith(f"{FINISHED}\n\n")


# -- on Telegram --------------------------------------------------------------------------------

USER = 111


async def test_on_telegram_the_notice_shows_enviando_documento_and_is_edited_with_progress(
    app: App, uow_factory: UnitOfWorkFactory
) -> None:
    jobs: list[Callable[[], None]] = []
    engine = engine_for(uow_factory, ExportOptions(progress_from=10, monotonic=ticking()), jobs)
    api = FakeBotApi()
    settings = app.settings.model_copy(update={"telegram_bot_token": SecretStr(TOKEN)})
    channel = from_settings(settings, engine.handle, uow_factory, request=api)
    await channel.start()
    try:
        chat = Chat(engine, uow_factory, identity_key=f"tg:{USER}", channel="telegram")
        acme_with_notes(uow_factory, chat.identity_key, NOTES)
        to_model_question(chat)  # walked without Telegram: only the last press goes through it
        nfe = callback_update(900, USER, chat.button_id(texts.NFE), message_id=77)
        sender = OutboxSender(uow_factory, [channel])

        await channel.process(Update.de_json(nfe, channel.bot))
        await sender.send_due()
        run(jobs)
        await sender.send_due()
    finally:
        await channel.stop()

    sends = [c for c in api.calls if c.method not in ("getMe", "setMyCommands", "deleteWebhook")]
    sends = [c for c in sends if c.method != "answerCallbackQuery"]
    notice_call, action_call, question_call = sends[:3]
    assert (notice_call.method, notice_call.params["text"]) == ("sendMessage", NOTICE)
    assert action_call.method == "sendChatAction"
    assert action_call.params == {"chat_id": USER, "action": "upload_document"}
    assert (question_call.method, question_call.params["message_id"]) == ("editMessageText", 77)
    notice_id = 500  # the fake's first message id
    edits = [c for c in api.called("editMessageText") if c.params["message_id"] == notice_id]
    assert [c.params["text"] for c in edits] == [*PROGRESS, FINISHED]
    assert len(api.called("sendChatAction")) == 1 + len(PROGRESS) + 1  # +1: with the ZIP
    assert len(api.called("sendDocument")) == 1
    assert api.called("sendMessage") == [notice_call]  # progress never sends new messages


# -- the upload limit -----------------------------------------------------------------------------


def test_the_cloud_bot_api_keeps_the_50_mb_limit_and_a_local_server_takes_2000_mb() -> None:
    cloud = ExportOptions(deployment_upload_limits(CLOUD_URL))
    local = ExportOptions(deployment_upload_limits(LOCAL_URL))

    assert cloud.upload_limit("telegram") == 50 * MB
    assert local.upload_limit("telegram") == LOCAL_BOT_API_LIMIT == 2000 * MB
    assert local.upload_limit("whatsapp") == cloud.upload_limit("whatsapp") == 100 * MB
    assert deployment_upload_limits("https://api.telegram.org/bot/") == {}


def test_the_composition_root_gives_the_dialogue_the_local_servers_limit(
    db_engine: Engine,
) -> None:
    settings = Settings(
        environment="test",
        database_url=str(db_engine.url),
        telegram_base_url=LOCAL_URL,
        _env_file=None,
    )
    dialogue = build_app(settings, db=db_engine).conversation.dialogue

    assert isinstance(dialogue, Dialogue)
    assert dialogue.config.exports.upload_limit("telegram") == 2000 * MB


def over_the_cloud_limit(
    uow_factory: UnitOfWorkFactory, monkeypatch: pytest.MonkeyPatch, base_url: str
) -> Chat:
    """A telegram chat whose month (12 notes) is over the cloud limit, scaled down to 12 kB
    to stand for 50 MB (the month stands for 60 MB), with the limits for `base_url`."""
    monkeypatch.setitem(fiscal_exports.UPLOAD_LIMITS, "telegram", 12_000)
    options = ExportOptions(deployment_upload_limits(base_url))
    chat = Chat(engine_for(uow_factory, options), uow_factory, "tg:222", "telegram")
    acme_with_notes(uow_factory, chat.identity_key, 12)
    to_model_question(chat)
    return chat


def test_with_the_cloud_bot_api_a_month_over_the_limit_goes_in_parts(
    uow_factory: UnitOfWorkFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    chat = over_the_cloud_limit(uow_factory, monkeypatch, CLOUD_URL)

    chat.press(texts.NFE)

    names = [d.name for d in chat.documents()]
    assert len(names) > 1
    assert names[0] == "ACME-Comercio-Ltda_2026-10_NFe.part1.zip"


def test_with_a_local_bot_api_server_the_same_month_goes_whole(
    uow_factory: UnitOfWorkFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    chat = over_the_cloud_limit(uow_factory, monkeypatch, LOCAL_URL)

    chat.press(texts.NFE)

    [document] = chat.documents()
    assert document.name == "ACME-Comercio-Ltda_2026-10_NFe.zip"
    assert len(document.data) > 12_000
