"""What an operator watches: /metrics (guarded), the status page, and log lines with the event
id and an identity hash — never the content of a message."""

from __future__ import annotations

import asyncio
import json
import logging
import socket

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from bot.app import App
from bot.observability import JsonFormatter, Metrics, identity_hash
from bot.serve import serve
from services.health import Status
from tests.integration.fake_telegram import FakeBotApi, message_update
from tests.support import make_office
from web.app import create_app
from web.observability import metrics_router, status_router

TOKEN = "123456:OBSERVE"
USER = 4242


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_serve_counts_events_and_sends_and_shows_a_status_page_without_gestor_data(
    app: App,
) -> None:
    office = make_office(app.uow_factory, 1, identity_key=f"tg:{USER}")
    app.settings = app.settings.model_copy(
        update={"telegram_bot_token": SecretStr(TOKEN), "telegram_poll_timeout": 5}
    )
    api = FakeBotApi()
    stop = asyncio.Event()
    port = free_port()
    running = asyncio.create_task(
        serve(app, host="127.0.0.1", port=port, stop=stop, telegram_request=api,
              handle_signals=False)
    )  # fmt: skip
    await api.push_update(message_update(1, USER, "/menu"))
    await api.wait_for_calls("sendMessage", 1, timeout=10)
    for _ in range(100):  # the fate is recorded right after the call
        async with httpx.AsyncClient() as client:
            metrics = await client.get(f"http://127.0.0.1:{port}/metrics")
        if 'fate="delivered"' in metrics.text:
            break
        await asyncio.sleep(0.05)
    async with httpx.AsyncClient() as client:
        page = await client.get(f"http://127.0.0.1:{port}/")
    stop.set()
    await asyncio.wait_for(running, timeout=10)

    assert metrics.status_code == 200
    text = metrics.text
    assert 'revendabot_events_handled_total{channel="telegram",outcome="ok"} 1.0' in text
    assert 'revendabot_outbox_sends_total{channel="telegram",fate="delivered"} 1.0' in text
    assert 'revendabot_handle_seconds_bucket{channel="telegram",le="0.5"} 1.0' in text
    assert "revendabot_outbox_pending 0.0" in text
    assert "revendabot_outbox_oldest_pending_seconds 0.0" in text
    assert page.status_code == 200
    assert "RevendaBot" in page.text
    assert "telegram" in page.text
    assert "certificados" in page.text
    assert "limpeza" in page.text
    assert "Escritório 1" not in page.text
    assert office.email not in page.text


def test_metrics_need_the_token_when_one_is_set_and_loopback_otherwise(app: App) -> None:
    metrics = Metrics()
    metrics.events.labels("telegram", "ok").inc()
    token = "t" * 40
    guarded = TestClient(
        create_app(app.uow_factory, routers=[metrics_router(metrics.render, token)])
    )
    local_only = TestClient(
        create_app(app.uow_factory, routers=[metrics_router(metrics.render, None)])
    )

    assert guarded.get("/metrics").status_code == 401
    assert guarded.get("/metrics", headers={"Authorization": "Bearer errado"}).status_code == 401
    ok = guarded.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 200
    assert "revendabot_events_handled_total" in ok.text
    assert local_only.get("/metrics").status_code == 403  # the test client is not loopback


def test_the_status_page_says_when_the_database_is_down(app: App) -> None:
    def broken() -> Status:
        raise RuntimeError("banco fora")

    page = TestClient(create_app(app.uow_factory, routers=[status_router(broken)])).get("/")

    assert page.status_code == 503
    assert "Banco de dados indisponível" in page.text


def test_json_logs_carry_the_event_id_and_an_identity_hash_never_the_text(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from datetime import UTC, datetime

    from services.messages import Inbound, TextBody

    metrics = Metrics()
    lines: list[str] = []

    def handle(inbound: Inbound) -> None:
        record = logging.LogRecord("services.x", logging.INFO, __file__, 1, "tratando", None, None)
        lines.append(JsonFormatter().format(record))

    inbound = Inbound("telegram", "tg:777", "tg-upd-9", "777", TextBody("minha senha 123"),
                      datetime.now(UTC))  # fmt: skip
    metrics.observe_handle(handle)(inbound)

    [line] = lines
    data = json.loads(line)
    assert data["event_id"] == "tg-upd-9"
    assert data["identity"] == identity_hash("tg:777")
    assert "777" not in data["identity"]
    assert "senha" not in line
    assert data["msg"] == "tratando"


def test_events_handled_together_are_each_counted_and_logged_as_their_own(app: App) -> None:
    """In a shared transaction (SQLite) each event's log lines carry its own id, and each is
    counted and timed."""
    from datetime import UTC, datetime

    from services.conversation import ConversationEngine, Outcome, Turn
    from services.messages import Inbound, Text, TextBody

    metrics = Metrics()
    lines: list[dict[str, str]] = []

    def dialogue(turn: Turn) -> Outcome:
        record = logging.LogRecord("handlers.x", logging.INFO, __file__, 1, "passo", None, None)
        lines.append(json.loads(JsonFormatter().format(record)))
        return Outcome([Text("ok")], None)

    engine = ConversationEngine(app.uow_factory, dialogue)
    events = [
        Inbound("telegram", f"tg:{n}", f"tg-upd-{n}", str(n), TextBody("oi"), datetime.now(UTC))
        for n in (1, 2, 3)
    ]

    metrics.observe_many(engine.handle_many)(events)

    assert [line["event_id"] for line in lines] == ["tg-upd-1", "tg-upd-2", "tg-upd-3"]
    assert [line["identity"] for line in lines] == [identity_hash(f"tg:{n}") for n in (1, 2, 3)]
    text = metrics.render().decode()
    assert 'revendabot_events_handled_total{channel="telegram",outcome="ok"} 3.0' in text
    assert 'revendabot_handle_seconds_count{channel="telegram"} 3.0' in text


def test_events_of_a_failed_group_are_counted_once_with_the_outcome_of_their_last_pass(
    app: App,
) -> None:
    """A step raises inside a group: nothing of it is kept and each event is handled again
    alone (the failing one answers with its error reference). Each event still counts once,
    with the time of both passes, as an event handled alone does."""
    from datetime import UTC, datetime

    from services.conversation import ConversationEngine, Outcome, Result, Turn
    from services.messages import Inbound, Text, TextBody

    metrics = Metrics()
    passes: list[str] = []

    def dialogue(turn: Turn) -> Outcome:
        passes.append(turn.event.event_id)
        if turn.event.event_id == "tg-upd-2":
            raise RuntimeError("passo quebrado")
        return Outcome([Text("ok")], None)

    engine = ConversationEngine(app.uow_factory, dialogue)
    events = [
        Inbound("telegram", f"tg:{n}", f"tg-upd-{n}", str(n), TextBody("oi"), datetime.now(UTC))
        for n in (1, 2, 3)
    ]

    results = metrics.observe_many(engine.handle_many)(events)

    assert results == [Result.DONE, Result.FAILED, Result.DONE]
    assert passes == ["tg-upd-1", "tg-upd-2", "tg-upd-1", "tg-upd-2", "tg-upd-3"]
    text = metrics.render().decode()
    assert 'revendabot_events_handled_total{channel="telegram",outcome="ok"} 3.0' in text
    assert 'outcome="error"' not in text
    assert 'revendabot_handle_seconds_count{channel="telegram"} 3.0' in text


@pytest.mark.parametrize(
    ("detail", "kept"),
    [
        (
            "DETAIL:  Key (email)=(ana@escritorio.com.br) already exists.",
            "DETAIL:  Key (email)=(…) already exists.",
        ),
        (
            "DETAIL:  Key (gestor_id, competencia)=(7, 2026-11) already exists.",
            "DETAIL:  Key (gestor_id, competencia)=(…) already exists.",
        ),
        (
            'DETAIL:  Key (client_id)=(99) is not present in table "client".',
            "DETAIL:  Key (client_id)=(…)",
        ),
        (
            'DETAIL:  Failing row contains (12, {"text": "Sua chave: rbk_live_SEGREDO"}, null).',
            "DETAIL:  Failing row contains (…)",
        ),
    ],
)
def test_a_database_errors_values_never_reach_the_log_lines(detail: str, kept: str) -> None:
    from bot.observability import ContextFormatter

    error = f"(psycopg.errors.UniqueViolation) violação\n{detail}\n[SQL: INSERT ...]"
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "falhou: %s", (error,), None)
    plain = ContextFormatter("%(message)s").format(record)
    as_json = json.loads(JsonFormatter().format(record))["msg"]
    for line in (plain, as_json):
        assert kept in line
        assert "[SQL: INSERT ...]" in line  # the rest of the error stays
        for value in ("ana@", "2026-11", "(99)", "SEGREDO"):
            assert value not in line


def test_a_unique_violations_values_are_left_out_of_the_logged_trace(app: App) -> None:
    """A real IntegrityError from the database (PostgreSQL names the duplicate e-mail in its
    DETAIL), logged with its trace by either formatter: the e-mail is not in the line."""
    from datetime import UTC, datetime

    from sqlalchemy.exc import IntegrityError

    from bot.observability import ContextFormatter

    office = make_office(app.uow_factory, 1)
    uow = app.uow_factory()
    with pytest.raises(IntegrityError) as raised, uow:
        uow.gestores.add_email(office.gestor.gestor_id, office.email, datetime.now(UTC))
    if app.db.dialect.name == "postgresql":
        assert office.email in str(raised.value)  # what would have reached the log
    record = logging.LogRecord(
        "x", logging.ERROR, __file__, 1, "falhou", None, (IntegrityError, raised.value, None)
    )
    plain = ContextFormatter("%(message)s").format(record)
    as_json = JsonFormatter().format(record)
    for line in (plain, as_json):
        assert "IntegrityError" in line
        assert office.email not in line
