"""The package delivered for real and the sweep run by hand: the accountant's e-mail through
SMTP to a local aiosmtpd server (the attachment checked byte for byte), a package job whose
worker died resumed without building or sending twice, `scheduler run-once pacote`, and the
scheduler's lease."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from click.testing import CliRunner
from sqlalchemy import Engine, func, select

from bot.app import App
from bot.channels.email_send import EmailSender
from bot.cli import main
from bot.gateways.email import SmtpEmailGateway
from services import outbox, pacote
from services import scheduler as scheduler_service
from services.jobs import JobRunner
from services.outbox import Delivered
from services.pacote import build, delivery
from storage.models import Notice, OutboxMessage
from storage.models_jobs import Job
from storage.models_pacote import PacoteEnvio
from tests.integration.pacote_support import (
    SWEEP_AT,
    options,
    package_of,
    packages,
    seed,
    sweep,
)
from tests.integration.test_signup_email import Inbox, smtp  # noqa: F401  (fixture)


@pytest.fixture(autouse=True)
def clock() -> Iterator[None]:
    with time_machine.travel(SWEEP_AT, tick=True):
        yield


async def test_the_accountant_receives_the_package_attached_through_smtp(
    app: App,
    smtp: tuple[Inbox, int],  # noqa: F811
) -> None:
    inbox, port = smtp
    seeded = seed(app)
    sweep(app)
    acme = package_of(app, seeded.acme.id)
    gateway = SmtpEmailGateway(
        host="127.0.0.1",
        port=port,
        sender="Revenda <nao-responda@revenda.example>",
        starttls=False,
        timeout=5,
    )
    sender = EmailSender(gateway, app.files)

    [row] = outbox.claim(app.uow_factory, channels=["email"])
    fate = await sender.deliver(row)

    assert fate == Delivered(row.id, None)
    [(envelope, received)] = inbox.messages
    assert envelope.rcpt_tos == ["contador@acme.com.br"]
    assert received["Subject"] == "Pacote do mês 10/2026 — ACME Comércio Ltda"
    [attachment] = list(received.iter_attachments())
    assert attachment.get_filename() == acme.nome
    assert attachment.get_content_type() == "application/zip"
    data = attachment.get_content()
    assert hashlib.sha256(data).hexdigest() == acme.file_sha256
    assert len(data) == acme.file_size


async def test_a_package_whose_file_is_gone_fails_its_email_with_the_reason(app: App) -> None:
    seeded = seed(app)
    sweep(app)
    app.files.delete(package_of(app, seeded.acme.id).file_key or "")

    class Unused:
        def send(self, message: object) -> None:
            raise AssertionError("nothing should be sent")

    [row] = outbox.claim(app.uow_factory, channels=["email"])
    fate = await EmailSender(Unused(), app.files).deliver(row)

    assert type(fate).__name__ == "Failed"


def counts(app: App) -> tuple[int, int, int, int]:
    """(package files, e-mails queued, envios recorded, month notices)."""
    uow = app.uow_factory()
    with uow:
        emails = uow.session.scalar(select(func.count()).where(OutboxMessage.channel == "email"))
        envios = uow.session.scalar(select(func.count()).select_from(PacoteEnvio))
        told = uow.session.scalar(select(func.count()).where(Notice.kind == "pacote.pronto"))
    built = len({p.file_key for p in packages(app.uow_factory) if p.file_key})
    return built, emails or 0, envios or 0, told or 0


class Died(BaseException):
    """The worker's process ends here (no handler runs: the job stays `running`)."""


@pytest.mark.parametrize("stage", ["email_accountant", "write_package"])
def test_a_package_job_whose_worker_died_is_resumed_without_duplicates(
    app: App, monkeypatch: pytest.MonkeyPatch, stage: str
) -> None:
    seed(app)
    swept = pacote.sweep_pacote(app.uow_factory, now=SWEEP_AT, dia=1)
    runner = JobRunner(app.uow_factory, pacote.kinds(options(app)))
    module = delivery if stage == "email_accountant" else build
    real = getattr(module, stage)
    calls = {"n": 0}

    def dies_once(*args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == 1:
            raise Died()
        return real(*args, **kwargs)

    monkeypatch.setattr(module, stage, dies_once)
    with pytest.raises(Died):
        runner.run_now(swept.job_ids)  # the first package's worker dies mid-way
    runner.run_now(swept.job_ids[1:])  # the other one is built meanwhile
    # the message waits for every package to be built (not for the e-mails)
    assert counts(app)[3] == (0 if stage == "write_package" else 1)

    with time_machine.travel(SWEEP_AT + timedelta(minutes=5), tick=True):  # lease gone
        taken = runner.run_next()

    assert taken is not None
    assert taken.outcome == "done"
    assert counts(app) == (2, 1, 1, 1)
    uow = app.uow_factory()
    with uow:
        attempts = uow.session.scalars(
            select(Job.attempts).where(Job.kind == pacote.BUILD).order_by(Job.id)
        ).all()
    assert list(attempts) == [2, 1]


def test_run_once_pacote_builds_a_named_month_for_one_client_once(
    app: App, db_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded = seed(app)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner(
        env={
            "DATABASE_URL": db_engine.url.render_as_string(hide_password=False),
            "FILE_STORE_URL": str(tmp_path / "files"),
            "TELEGRAM_BOT_USERNAME": "RevendaTesteBot",
        }
    )
    args = ["scheduler", "run-once", "pacote", "--competencia", "2026-10"]
    args += ["--client", seeded.acme.documento]

    first = runner.invoke(main, args, catch_exceptions=False)
    again = runner.invoke(main, args, catch_exceptions=False)

    assert first.exit_code == 0, first.output
    assert first.output == "pacote 2026-10: 1 pacote(s) na fila e gerado(s).\n"
    assert again.output == "pacote 2026-10: 0 pacote(s) na fila e gerado(s).\n"
    [row] = packages(app.uow_factory)
    assert (row.client_id, row.status) == (seeded.acme.id, "pronto")
    bad = runner.invoke(main, [*args[:3], "--competencia", "2026-13"])
    assert bad.exit_code != 0
    assert "Competência inválida" in bad.output


def test_the_scheduled_pacote_runs_on_one_instance_only(app: App) -> None:
    seed(app)
    ran = [
        scheduler_service.run_job(
            app.uow_factory,
            "pacote",
            now=SWEEP_AT,
            options=scheduler_service.ReminderOptions(),
            holder=holder,
            pacote=pacote.PacoteOptions(dia=1),
        )
        for holder in ("instance-a", "instance-b")
    ]

    assert [r.reminders if r else None for r in ran] == [2, None]
    assert len(packages(app.uow_factory)) == 2


def test_a_package_no_worker_could_build_is_marked_failed_and_built_by_the_next_run(
    app: App,
) -> None:
    seeded = seed(app)
    swept = pacote.sweep_pacote(app.uow_factory, now=SWEEP_AT, dia=1)
    # every taker over the limit at once: both jobs give up instead of running
    JobRunner(app.uow_factory, pacote.kinds(options(app)), max_attempts=0).run_now(swept.job_ids)
    assert {p.status for p in packages(app.uow_factory)} == {"falhou"}
    assert counts(app)[3] == 0  # no package is ready: nothing to tell

    again = sweep(app, competencia="2026-10", documento=seeded.acme.documento)

    assert again.queued == 1
    statuses = {p.client_id: p.status for p in packages(app.uow_factory)}
    assert statuses == {seeded.acme.id: "pronto", seeded.beta.id: "falhou"}
    assert len(packages(app.uow_factory)) == 2  # the same rows, queued again
    assert counts(app)[3] == 1  # now one is ready: the month's message goes
