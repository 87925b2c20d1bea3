"""The daily Pendências digest: one message with counts, only when something is new or due,
not when muted (and muting does not make it replay the past later)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
import time_machine
from click.testing import CliRunner
from sqlalchemy import Engine, func, select

from bot.app import App
from bot.cli import main
from domain.clients import Role
from domain.text import fill
from handlers import texts
from services import notice_settings, notices
from services.reminders import ReminderOptions, SweepResult
from services.scheduler import run_job
from storage.models_reminders import ReminderSent
from tests.integration.pendencias_support import TODAY, seed_each_kind, sp
from tests.integration.reminder_support import published, put_certificate, put_fatura
from tests.support import Chat, Office, add_client, add_member, make_office
from tests.unit.helpers import move_client, step_of


def digest(app: App, day: date) -> SweepResult:
    with time_machine.travel(sp(day, 8), tick=False):
        result = run_job(app.uow_factory, "pendencias", now=sp(day, 8), options=ReminderOptions())
    assert result is not None
    return result


def digests(app: App) -> list[dict[str, object]]:
    return [
        payload for _, kind, payload in published(app.uow_factory) if kind == "pendencias.resumo"
    ]


@pytest.fixture
def office(app: App, chat: Chat) -> Office:
    return make_office(app.uow_factory, 1, identity_key=chat.identity_key)


def test_the_first_digest_counts_every_kind_and_a_second_run_the_same_day_says_nothing(
    app: App, office: Office
) -> None:
    seed_each_kind(app.uow_factory, office)

    first = digest(app, TODAY)
    again = digest(app, TODAY)

    assert (first.notices, again.notices) == (1, 0)
    [payload] = digests(app)
    assert payload["counts"] == {
        "certificado": 2,
        "fatura": 2,
        "link": 1,
        "teste": 1,
        "sem_notas": 1,
    }
    assert payload["overdue"] == {"certificado": 1, "fatura": 1}
    assert payload["new"] == payload["counts"]


def test_the_next_day_it_speaks_only_for_a_new_item_or_one_that_fell_due(
    app: App, office: Office
) -> None:
    seed_each_kind(app.uow_factory, office)
    digest(app, TODAY)

    assert digest(app, TODAY + timedelta(days=1)).notices == 0  # nothing new
    card = add_client(app.uow_factory, office.gestor, 50)
    put_certificate(app.uow_factory, card.id, TODAY + timedelta(days=20))
    assert digest(app, TODAY + timedelta(days=2)).notices == 1
    # The pending fatura (due on the 21st) falls due on the 22nd.
    assert digest(app, TODAY + timedelta(days=5)).notices == 0
    assert digest(app, TODAY + timedelta(days=6)).notices == 1

    assert [p["new"] for p in digests(app)[1:]] == [{"certificado": 1}, {"fatura": 1}]


def test_a_muted_digest_is_recorded_not_sent_and_turning_it_on_does_not_replay_it(
    app: App, office: Office
) -> None:
    seed_each_kind(app.uow_factory, office)
    notice_settings.set_muted(app.uow_factory(), office.gestor, "pendencias", muted=True)

    muted = digest(app, TODAY)
    notice_settings.set_muted(app.uow_factory(), office.gestor, "pendencias", muted=False)
    after = digest(app, TODAY + timedelta(days=1))

    assert (muted.notices, after.notices) == (0, 0)
    assert digests(app) == []
    with app.uow_factory() as uow:
        told = uow.session.scalar(
            select(func.count()).select_from(ReminderSent).where(ReminderSent.kind == "pendencia")
        )
    assert told == 7


def test_an_office_with_nothing_pending_gets_no_digest(app: App, office: Office) -> None:
    assert digest(app, TODAY).notices == 0


def test_the_digest_reaches_the_chat_with_ver_pendencias_which_opens_the_list(
    app: App, chat: Chat, office: Office
) -> None:
    seed_each_kind(app.uow_factory, office)
    digest(app, TODAY)

    with time_machine.travel(sp(TODAY, 8), tick=True):
        notices.dispatch(app.uow_factory, app.conversation.handle)
        [message] = chat.drain()
        assert "• Faturas em aberto: 2 (1 já venceu)" in message.text  # type: ignore[union-attr]
        assert "(7 novas desde o último resumo)" in message.text  # type: ignore[union-attr]
        chat.press(texts.VER_PENDENCIAS)

    assert step_of(chat) == ("pendencias", "lista")
    assert chat.last_text().text.startswith(
        fill(texts.PENDENCIAS_HEADER, total=7, page=1, pages=1)
    )


def test_a_contador_is_told_only_of_what_it_can_see(app: App, chat: Chat, office: Office) -> None:
    add_member(app.uow_factory, office, "test:contador", Role.CONTADOR)
    contador = Chat(app.conversation, app.uow_factory, identity_key="test:contador")
    seed_each_kind(app.uow_factory, office)
    digest(app, TODAY)

    notices.dispatch(app.uow_factory, app.conversation.handle)

    [message] = contador.drain()
    assert "Faturas" not in message.text  # type: ignore[union-attr]
    assert "(4 novas desde o último resumo)" in message.text  # type: ignore[union-attr]


def test_a_contador_gets_nothing_when_only_the_gestors_kinds_are_new(
    app: App, chat: Chat, office: Office
) -> None:
    add_member(app.uow_factory, office, "test:contador", Role.CONTADOR)
    contador = Chat(app.conversation, app.uow_factory, identity_key="test:contador")
    put_fatura(app.uow_factory, office.gestor.gestor_id, TODAY + timedelta(days=3))
    digest(app, TODAY)

    notices.dispatch(app.uow_factory, app.conversation.handle)

    assert contador.drain() == []
    assert len(chat.drain()) == 1


def test_the_digest_is_muted_from_meus_dados_avisos(app: App, chat: Chat, office: Office) -> None:
    seed_each_kind(app.uow_factory, office)
    chat.say("/menu")
    chat.press(texts.MEUS_DADOS)
    chat.press(texts.AVISOS)

    chat.press(texts.AVISO_TOGGLE_OFF.format(label="Resumo diário de pendências"))

    assert digest(app, TODAY).notices == 0
    assert notice_settings.muted_kinds(app.uow_factory(), office.gestor) == {"pendencias"}


def test_run_once_sends_the_digest_by_hand_and_only_once(
    app: App, db_engine: Engine, office: Office, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    seed_each_kind(app.uow_factory, office)
    runner = CliRunner(env={"DATABASE_URL": db_engine.url.render_as_string(hide_password=False)})
    args = ["scheduler", "run-once", "pendencias", "--now", f"{TODAY.isoformat()}T08:00"]

    first = runner.invoke(main, args, catch_exceptions=False)
    second = runner.invoke(main, args, catch_exceptions=False)

    assert "pendencias: 7 lembrete(s) novo(s), 1 aviso(s) publicado(s)" in first.output
    assert "pendencias: 0 lembrete(s) novo(s), 0 aviso(s)" in second.output


def told_rows(app: App) -> int:
    with app.uow_factory() as uow:
        return (
            uow.session.scalar(
                select(func.count())
                .select_from(ReminderSent)
                .where(ReminderSent.kind == "pendencia")
            )
            or 0
        )


def test_what_is_no_longer_pending_is_forgotten_and_a_moved_client_is_news_to_its_new_office(
    app: App, office: Office
) -> None:
    seeded = seed_each_kind(app.uow_factory, office)
    other = make_office(app.uow_factory, 2)
    digest(app, TODAY)
    assert told_rows(app) == 7

    move_client(app.uow_factory, seeded.teste, other.gestor.gestor_id)
    result = digest(app, TODAY + timedelta(days=1))

    assert result.notices == 1  # the other office hears of the client it received
    assert told_rows(app) == 7  # forgotten by the first office, told to the second
    [(gestor_id, _, payload)] = [n for n in published(app.uow_factory) if n[0] != 1]
    assert gestor_id == other.gestor.gestor_id
    assert payload["new"] == {"teste": 1}
