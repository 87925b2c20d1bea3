"""Long work in the chat (DESIGN.md "Conversation core"): the step answers at once with the
"Gerando…" notice and "enviando documento…"; while the job runs the chat action is renewed and
the notice edited with the count (throttled); at the end the notice says "Pronto" or the
error; the buttons to go on come under the files. Job time is simulated: nothing sleeps.
The upload limit follows the deployment (a local Bot API server takes 2000 MB)."""

from __future__ import annotations

import io
import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import time_machine
from pydantic import SecretStr
from sqlalchemy import Engine, select
from telegram import Update

from bot.app import CHANNEL_CAPABILITIES, App, build_app, channel_capabilities
from bot.channels.console import ConsoleChannel
from bot.channels.telegram import LOCAL_BOT_API_LIMIT, from_settings
from bot.channels.telegram import capabilities_for as telegram_capabilities_for
from bot.sender import OutboxSender
from bot.settings import Settings
from domain.fiscal import Modelo
from handlers import texts
from handlers.core import DialogueConfig
from handlers.router import Dialogue
from services import fiscal_exports, job_progress, outbox
from services.capabilities import EVERYTHING, MB
from services.clients import ClientCard
from services.conversation import ConversationEngine
from services.errors import ServiceError
from services.fiscal_exports import ExportOptions, danfe
from services.job_progress import Pace, Progress, Recipient, announce
from services.jobs import JobRunner
from services.messages import ChatAction, Document, Outbound, Text, from_payload, to_payload
from services.outbox import Delivered
from services.types import UnitOfWorkFactory
from storage.conversation import OutboxRepository
from storage.models import OutboxMessage
from tests.integration.fake_telegram import TOKEN, FakeBotApi, callback_update
from tests.support import Chat, add_client, make_office
from tests.unit.fiscal_chat.chat_support import NOW, open_gerenciar, store_emitted

CLOUD_URL = "https://api.telegram.org/bot"
LOCAL_URL = "http://127.0.0.1:8081/bot"
NOTES = 40
# With `ticking()` every look at the clock is one second later: the ZIP job looks once per
# note, so the notice shows every 3rd note (3 s) and "enviando documento…" goes every 5 s.
PROGRESS = [f"⏳ Gerando… {n} de 40 notas" for n in range(3, NOTES, 3)]
FINISHED = "✅ Pronto: enviado em 1 parte."
NOTICE = "⏳ Gerando o ZIP com 40 NF-e de 10/2026… Envio aqui assim que ficar pronto."
MODEL_QUESTION = "📦 XMLs emitidos de ACME Comércio Ltda — 10/2026\nQual tipo de nota?"


@pytest.fixture(autouse=True)
def clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=True):
        yield


def ticking() -> Callable[[], float]:
    """A monotonic clock that moves one second each time it is read."""
    seconds = itertools.count()
    return lambda: float(next(seconds))


class Held(list[int]):
    """The ids of the jobs the engine queued, run when the test says (`run`)."""

    runner: JobRunner | None = None


def engine_for(
    uow_factory: UnitOfWorkFactory,
    options: ExportOptions,
    jobs: Held | None = None,
) -> ConversationEngine:
    """The real dialogue with these export options (and the channels' own capabilities);
    jobs kept in `jobs` (run by the test) instead of inline, when given."""
    if not options.channels:
        options = replace(options, channels=CHANNEL_CAPABILITIES)
    runner = JobRunner(uow_factory, fiscal_exports.kinds(options))
    if jobs is not None:
        jobs.runner = runner
    return ConversationEngine(
        uow_factory,
        Dialogue(DialogueConfig(exports=options)),
        run_jobs=jobs.extend if jobs is not None else runner.run_now,
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


def to_report_kind(chat: Chat) -> None:
    open_gerenciar(chat, "ACME Comércio Ltda")
    chat.press(texts.RELATORIOS_FEATURE)
    chat.press(texts.MES_ANTERIOR)
    chat.press(texts.NFE)


def run(jobs: Held) -> None:
    assert jobs.runner is not None
    ids = list(jobs)
    jobs.clear()
    jobs.runner.run_now(ids)


def texts_of(messages: list[Outbound]) -> list[str]:
    return [m.text for m in messages if isinstance(m, Text)]


def timeline(chat: Chat, since: int = 0) -> list[tuple[float, str, str | None]]:
    """What went to the chat's outbox from row `since` on: (seconds after the first of them,
    what, the platform id it edits). `what` is "action", "document" or the text."""
    uow = chat.uow_factory()
    seen = []
    with uow:
        rows = uow.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.identity_key == chat.identity_key, OutboxMessage.id > since)
            .order_by(OutboxMessage.id)
        )
        for row in rows:
            message, edit_ref = from_payload(row.payload, row.blob)
            what = (
                message.text
                if isinstance(message, Text)
                else {ChatAction: "action", Document: "document"}[type(message)]
            )
            seen.append((row.created_at, what, edit_ref))
    start = seen[0][0]
    return [((at - start).total_seconds(), what, ref) for at, what, ref in seen]


def last_outbox_id(chat: Chat) -> int:
    uow = chat.uow_factory()
    with uow:
        ids = uow.session.scalars(
            select(OutboxMessage.id).where(OutboxMessage.identity_key == chat.identity_key)
        )
        return max(ids, default=0)


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


# -- the answer at once ---------------------------------------------------------------------------


def test_a_chat_action_survives_the_outbox_as_itself() -> None:
    payload, blob = to_payload(ChatAction("upload_document"))

    assert payload == {"type": "chat_action", "kind": "upload_document"}
    assert from_payload(payload, blob) == (ChatAction("upload_document"), None)


def test_the_notice_and_the_chat_action_go_at_once_and_the_buttons_come_under_the_zip(
    uow_factory: UnitOfWorkFactory,
) -> None:
    jobs = Held()
    chat = Chat(engine_for(uow_factory, ExportOptions(), jobs), uow_factory)
    acme_with_notes(uow_factory, chat.identity_key, 3)
    to_model_question(chat)
    sent = len(chat.received)

    replies = chat.press(texts.NFE)

    notice = Text("⏳ Gerando o ZIP com 3 NF-e de 10/2026… Envio aqui assim que ficar pronto.")
    assert replies == [notice, ChatAction("upload_document")]  # the pressed message is kept
    run(jobs)
    later = chat.drain()
    assert [type(m).__name__ for m in later] == ["Document", "Text", "Text"]
    document, pronto, question = later
    assert isinstance(document, Document)
    assert document.name == "ACME-Comercio-Ltda_2026-10_NFe.zip"
    assert pronto == Text(FINISHED, edit=True)
    assert isinstance(question, Text)
    assert question.text == MODEL_QUESTION
    assert [c.label for c in question.choices] == ["NF-e", "NFC-e", "Voltar", "Menu"]
    notice_ref = _ref_of_notice(chat, notice.text)
    # the notice is edited in place; the buttons are a new message under the ZIP
    assert chat.edits[sent:] == [None, None, None, notice_ref, None]


def test_the_buttons_do_not_follow_the_files_when_the_person_moved_on_meanwhile(
    uow_factory: UnitOfWorkFactory,
) -> None:
    jobs = Held()
    chat = Chat(engine_for(uow_factory, ExportOptions(), jobs), uow_factory)
    acme_with_notes(uow_factory, chat.identity_key, 3)
    to_model_question(chat)
    chat.press(texts.NFE)
    menu = chat.say("/menu")

    run(jobs)
    later = chat.drain()

    assert [type(m).__name__ for m in later] == ["Document", "Text"]  # the ZIP and "Pronto"
    assert chat.last_with_buttons() == menu[-1]


# -- a long job: chat action, progress, last words ------------------------------------------------


def slow_danfes(traveller: time_machine.Traveller, seconds: float) -> Callable[..., bytes]:
    """A DANFE printer that takes `seconds` of simulated time per note (and prints a stub)."""

    def render(xml: bytes, modelo: Modelo, *, cancelada: bool, gerado_em: datetime) -> bytes:
        traveller.shift(seconds)
        return b"%PDF-1.4 DANFE"

    return render


def test_a_long_month_of_danfes_renews_the_chat_action_and_edits_the_notice_until_pronto(
    uow_factory: UnitOfWorkFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    jobs = Held()
    with time_machine.travel(NOW, tick=False) as traveller:  # job time: 1.5 s per DANFE
        monkeypatch.setattr(danfe, "render_danfe", slow_danfes(traveller, 1.5))
        chat = Chat(engine_for(uow_factory, ExportOptions(monotonic=time.time), jobs), uow_factory)
        acme_with_notes(uow_factory, chat.identity_key, NOTES)
        to_report_kind(chat)
        since = last_outbox_id(chat)
        chat.press(texts.DANFES_DO_MES)  # the notice is delivered: it can be edited

        run(jobs)
        chat.drain()

    seen = timeline(chat, since)
    notice = (
        "⏳ Gerando 40 DANFEs de 10/2026… Pode levar alguns minutos; envio aqui quando ficar "
        "pronto."
    )
    assert seen[:2] == [(0.0, notice, None), (0.0, "action", None)]
    notice_ref = _ref_of_notice(chat, notice)
    # "enviando documento…" every 4.5 s of the 60 s the DANFEs take (Telegram shows it ~5 s)
    actions = [at for at, what, _ in seen if what == "action"]
    assert actions == pytest.approx([4.5 * n for n in range(14)])
    # the notice shows the count at most every 3 s, growing, then "Pronto" once the ZIP is sent
    edits = [(at, what) for at, what, ref in seen if ref == notice_ref]
    assert [what for _, what in edits] == [
        *(f"⏳ Gerando… {n} de 40 DANFEs" for n in range(2, NOTES, 2)),
        FINISHED,
    ]
    assert all(b - a >= 3.0 for (a, _), (b, _) in itertools.pairwise(edits))
    # then the ZIP, "Pronto" on the notice above it, and the buttons to go on, last
    *_, document, pronto, question = [what for _, what, _ in seen]
    assert (document, pronto) == ("document", FINISHED)
    assert question.startswith("📊 ACME Comércio Ltda — NF-e 10/2026: 40 notas")
    assert [c.label for c in chat.last_with_buttons().choices][-2:] == ["Voltar", "Menu"]


@pytest.mark.parametrize(
    ("error", "says"),
    [
        (OSError("disk full"), "⚠️ Não consegui gerar o arquivo. Tente de novo;"),
        (ServiceError("Cliente bloqueado."), "⚠️ Cliente bloqueado."),
    ],
)
def test_a_failing_job_edits_its_notice_to_the_error_and_the_buttons_come_under_it(
    uow_factory: UnitOfWorkFactory,
    monkeypatch: pytest.MonkeyPatch,
    error: Exception,
    says: str,
) -> None:
    printed = itertools.count(1)

    def fails_on_the_fifth(*_args: object, **_kwargs: object) -> bytes:
        if next(printed) == 5:
            raise error
        return b"%PDF-1.4 DANFE"

    monkeypatch.setattr(danfe, "render_danfe", fails_on_the_fifth)
    jobs = Held()
    chat = Chat(engine_for(uow_factory, ExportOptions(monotonic=ticking()), jobs), uow_factory)
    acme_with_notes(uow_factory, chat.identity_key, 12)
    to_report_kind(chat)
    notice, _action = chat.press(texts.DANFES_DO_MES)
    assert isinstance(notice, Text)
    sent = len(chat.received)

    run(jobs)
    later = chat.drain()

    assert chat.documents() == []
    *_, failed, question = later
    assert isinstance(failed, Text)
    assert failed.text.startswith(says)
    assert chat.edits[sent:][-2:] == [_ref_of_notice(chat, notice.text), None]
    assert question == chat.last_with_buttons()


def test_the_report_shows_the_notes_read_then_pronto(
    uow_factory: UnitOfWorkFactory,
) -> None:
    jobs = Held()
    chat = Chat(engine_for(uow_factory, ExportOptions(monotonic=ticking()), jobs), uow_factory)
    acme_with_notes(uow_factory, chat.identity_key, 12)
    to_report_kind(chat)
    chat.press(texts.RELATORIO_CSV)
    sent = len(chat.received)

    run(jobs)
    later = chat.drain()

    assert [type(m).__name__ for m in later if not isinstance(m, ChatAction)] == [
        *(["Text"] * 3),
        "Image",  # the month's chart, before the documents to read
        "Document",
        "Document",
        "Text",
        "Text",
    ]
    assert texts_of(later)[:-1] == [
        "⏳ Gerando o relatório… 3 de 12 notas lidas",
        "⏳ Gerando o relatório… 6 de 12 notas lidas",
        "⏳ Gerando o relatório… 9 de 12 notas lidas",
        "✅ Pronto: relatório enviado.",
    ]
    notice = "⏳ Gerando o relatório de 10/2026… Envio aqui assim que ficar pronto."
    notice_ref = _ref_of_notice(chat, notice)
    edited = [ref for m, ref in zip(later, chat.edits[sent:], strict=True) if isinstance(m, Text)]
    assert edited == [notice_ref] * 4 + [None]


def test_the_notice_is_edited_at_most_every_interval_and_only_when_the_count_changed(
    uow_factory: UnitOfWorkFactory,
) -> None:
    to = Recipient("test", "test:ana", "ana")
    uow = uow_factory()
    with uow:
        announced = announce(uow, to, "⏳ Gerando…", 10, EVERYTHING)
        uow.commit()
    claimed = outbox.claim(uow_factory, identity_key=to.identity_key)
    outbox.record(uow_factory, [Delivered(m.id, f"m{m.id}") for m in claimed])
    now = [0.0]
    pace = Pace(progress_interval=3.0, action_interval=60.0, monotonic=lambda: now[0])
    progress = Progress(uow_factory, to, announced, "{feito} de {total}", EVERYTHING, pace)

    for at, done in [(1, 1), (3, 2), (6.5, 2), (7, 3), (8, 5), (11, 5), (20, 10)]:
        now[0] = at
        progress.tick(done)
    progress.end("✅ Pronto")

    edits = outbox.claim(uow_factory, identity_key=to.identity_key)
    assert [(m.payload["text"], m.payload["edit_ref"]) for m in edits] == [
        ("2 de 10", f"m{announced.notice_id}"),  # at 3 s (1 s was too soon)
        ("3 de 10", f"m{announced.notice_id}"),  # at 7 s (at 6.5 s the count was still 2)
        ("5 de 10", f"m{announced.notice_id}"),  # at 11 s (8 s was too soon after 7 s)
        ("✅ Pronto", f"m{announced.notice_id}"),  # 10 of 10 is not shown: the end follows
    ]


def test_a_notice_not_delivered_yet_gets_no_progress_and_pronto_arrives_as_a_new_message(
    uow_factory: UnitOfWorkFactory,
) -> None:
    options = ExportOptions(pronto_from=10, monotonic=ticking())
    chat = Chat(engine_for(uow_factory, options), uow_factory)
    acme_with_notes(uow_factory, chat.identity_key, NOTES)
    to_model_question(chat)

    replies = chat.press(texts.NFE)  # the job ran inline, before anything was delivered

    assert not any(t.startswith("⏳ Gerando… ") for t in texts_of(replies))
    assert texts_of(replies)[-2:] == [FINISHED, MODEL_QUESTION]
    assert chat.edits[-2:] == [None, None]  # new messages, not edits


def test_when_progress_cannot_be_shown_the_job_still_delivers_its_zip(
    uow_factory: UnitOfWorkFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    jobs = Held()
    options = ExportOptions(pronto_from=10, monotonic=ticking())
    chat = Chat(engine_for(uow_factory, options, jobs), uow_factory)
    acme_with_notes(uow_factory, chat.identity_key, NOTES)
    to_model_question(chat)
    chat.press(texts.NFE)

    def broken(self: OutboxRepository, message_id: int) -> str | None:
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(OutboxRepository, "external_ref", broken)
    run(jobs)
    later = chat.drain()

    assert [d.name for d in chat.documents()] == ["ACME-Comercio-Ltda_2026-10_NFe.zip"]
    # the notice is not edited; "Pronto" comes as a new message, the buttons after it
    assert texts_of(later) == [FINISHED, MODEL_QUESTION]


def test_when_a_chat_action_cannot_be_queued_the_job_goes_on_quietly(
    uow_factory: UnitOfWorkFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    jobs = Held()
    chat = Chat(engine_for(uow_factory, ExportOptions(monotonic=ticking()), jobs), uow_factory)
    acme_with_notes(uow_factory, chat.identity_key, 12)
    to_model_question(chat)
    chat.press(texts.NFE)
    real = job_progress.enqueue_to

    def no_chat_actions(*args: Any) -> None:
        if any(isinstance(m, ChatAction) for m in args[4]):
            raise RuntimeError("database hiccup")
        real(*args)

    monkeypatch.setattr(job_progress, "enqueue_to", no_chat_actions)
    run(jobs)
    later = chat.drain()

    # the count shown at 3 s; the chat action failed at 5 s: no more tries, and the ZIP and
    # the buttons still come
    assert [type(m).__name__ for m in later] == ["Text", "Document", "Text"]
    assert texts_of(later) == ["⏳ Gerando… 3 de 12 notas", MODEL_QUESTION]


# -- channels that cannot edit or show chat actions -------------------------------------------


@pytest.mark.parametrize(("pronto_from", "pronto"), [(10, [FINISHED]), (NOTES + 1, [])])
def test_on_whatsapp_there_is_no_chat_action_nor_progress_and_only_a_big_job_says_pronto(
    uow_factory: UnitOfWorkFactory, pronto_from: int, pronto: list[str]
) -> None:
    jobs = Held()
    options = ExportOptions(pronto_from=pronto_from, monotonic=ticking())
    chat = Chat(
        engine_for(uow_factory, options, jobs),
        uow_factory,
        identity_key="wa:BR.ana",
        channel="whatsapp",
    )
    acme_with_notes(uow_factory, chat.identity_key, NOTES)
    to_model_question(chat)
    answer = chat.press(texts.NFE)
    sent = len(chat.received)

    run(jobs)
    later = chat.drain()

    # a job that ends soon says nothing first on WhatsApp (every message is paced): its ZIP
    # and the question are the answer; a big one still says "Gerando…"
    assert [m.text[:1] for m in answer if isinstance(m, Text)] == (["⏳"] if pronto else [])
    assert [type(m).__name__ for m in later] == ["Document", *(["Text"] * len(pronto)), "Text"]
    assert texts_of(later) == [*pronto, MODEL_QUESTION]
    assert not any(chat.edits[sent:])  # every one a new message
    # no "enviando documento…" on WhatsApp: the pacer would hold the replies behind it
    assert not any(isinstance(m, ChatAction) for m in chat.received)


def test_the_console_prints_the_notice_then_the_zip_then_the_buttons(
    app: App, uow_factory: UnitOfWorkFactory, tmp_path: Path
) -> None:
    acme_with_notes(uow_factory, "console:ana", 12)
    engine = engine_for(uow_factory, ExportOptions(monotonic=ticking()))
    out = io.StringIO()
    console = ConsoleChannel("ana", engine.handle, uow_factory, tmp_path, out=out)
    script = ["/menu", texts.CLIENTES, "ACME Comércio Ltda", texts.GERENCIAR,
              texts.XMLS_EMITIDOS, texts.MES_ANTERIOR, texts.NFE]  # fmt: skip

    console.run(script, interactive=False)

    transcript = out.getvalue()
    answer = transcript[transcript.rindex("⏳ Gerando o ZIP com 12 NF-e") :]
    assert answer.startswith(
        "⏳ Gerando o ZIP com 12 NF-e de 10/2026… Envio aqui assim que ficar pronto.\n\n"
        "[documento] ACME-Comercio-Ltda_2026-10_NFe.zip ("
    )
    assert answer.endswith(f"{MODEL_QUESTION}\n[1] NF-e\n[2] NFC-e\n[3] Voltar\n[4] Menu\n\n")
    assert "⏳ Gerando… " not in answer  # a terminal cannot edit: no progress blocks
    assert "Pronto" not in answer


# -- on Telegram --------------------------------------------------------------------------------

USER = 111


async def test_on_telegram_the_notice_is_edited_in_place_and_the_buttons_come_after_the_zip(
    app: App, uow_factory: UnitOfWorkFactory
) -> None:
    jobs = Held()
    engine = engine_for(uow_factory, ExportOptions(monotonic=ticking()), jobs)
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

    setup = ("getMe", "setMyCommands", "deleteWebhook", "answerCallbackQuery")
    calls = [c for c in api.calls if c.method not in setup]
    notice_id = 500  # the fake's first message id
    methods = [
        f"{c.method}:{c.params.get('message_id')}" if c.method == "editMessageText" else c.method
        for c in calls
    ]
    assert (calls[0].method, calls[0].params["text"]) == ("sendMessage", NOTICE)
    assert calls[1].params == {"chat_id": USER, "action": "upload_document"}
    # while the ZIP is built: only edits of the notice and renewed chat actions
    working = methods[2 : methods.index("sendDocument") - 1]
    assert set(working) == {f"editMessageText:{notice_id}", "sendChatAction"}
    assert working.count("sendChatAction") == 8  # every 5 s of the 40 s (a second a note)
    assert methods[-4:] == [
        "sendChatAction",
        "sendDocument",
        f"editMessageText:{notice_id}",
        "sendMessage",
    ]
    edits = [c for c in api.called("editMessageText") if c.params["message_id"] == notice_id]
    assert [c.params["text"] for c in edits] == [*PROGRESS, FINISHED]
    assert "editMessageText:77" not in methods  # the pressed question stays as it was
    question = calls[-1]
    assert question.params["text"] == MODEL_QUESTION
    assert "reply_markup" in question.params  # the buttons to go on, under the ZIP


# -- the upload limit -----------------------------------------------------------------------------


def test_the_cloud_bot_api_keeps_the_50_mb_limit_and_a_local_server_takes_2000_mb() -> None:
    cloud = ExportOptions(channels=channel_capabilities(settings_for(CLOUD_URL)))
    local = ExportOptions(channels=channel_capabilities(settings_for(LOCAL_URL)))

    assert cloud.upload_limit("telegram") == 50 * MB
    assert local.upload_limit("telegram") == LOCAL_BOT_API_LIMIT == 2000 * MB
    assert local.upload_limit("whatsapp") == cloud.upload_limit("whatsapp") == 100 * MB
    assert telegram_capabilities_for("https://api.telegram.org/bot/").upload_limit == 50 * MB


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
    channels = channel_capabilities(settings_for(base_url))
    if channels["telegram"].upload_limit == 50 * MB:  # the cloud's 50 MB, scaled down
        channels["telegram"] = replace(channels["telegram"], upload_limit=12_000)
    options = ExportOptions(channels=channels)
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


def settings_for(telegram_base_url: str) -> Settings:
    return Settings(environment="test", telegram_base_url=telegram_base_url, _env_file=None)
