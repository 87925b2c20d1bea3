"""A job worker killed with SIGKILL mid-job: another worker takes the job over after the lease
and sends only the parts the dead one did not — each part reaches the chat once.

Real processes: a child process (the app as `serve` builds it, a file store that takes a
while per part) takes the month's ZIP job and is killed with SIGKILL once its first part is
in the outbox; this process then waits out the lease and finishes the job.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine

from bot.app import App
from handlers import texts
from services import fiscal_exports
from services.capabilities import EVERYTHING
from services.clients import ClientCard
from services.jobs import Finished, JobRunner
from services.messages import Document
from services.types import UnitOfWorkFactory
from storage.models_jobs import Job
from tests.support import Chat, add_client, make_office
from tests.unit.fiscal_chat.chat_support import NOW, open_gerenciar, store_emitted, unzip

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 12_000
LEASE_SECONDS = 2.0

WORKER = """
import sys, time
from dataclasses import replace

from bot.app import build_app
from bot.gateways.file_store import file_store
from bot.settings import Settings
from services.capabilities import EVERYTHING

url, files_dir, limit, lease = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])


class SlowStore:
    '''The real store, a second per part: time for the test to kill this process.'''

    def __init__(self, store):
        self.store = store

    def put(self, source):
        ref = self.store.put(source)
        time.sleep(1.0)
        return ref

    def __getattr__(self, name):
        return getattr(self.store, name)


settings = Settings(
    _env_file=None,
    environment="test",
    database_url=url,
    file_store_url=files_dir,
    job_lease_seconds=lease,
)
app = build_app(settings, files=SlowStore(file_store(files_dir)), background_jobs=True)
exports = app.conversation.dialogue.config.exports
exports.channels["test"] = replace(EVERYTHING, upload_limit=limit)
print("taken:", app.jobs.run_next(), flush=True)
"""


@pytest.fixture
def acme(uow_factory: UnitOfWorkFactory, chat: Chat) -> ClientCard:
    office = make_office(uow_factory, 1, identity_key=chat.identity_key)
    return add_client(uow_factory, office.gestor, 1, name="ACME Comércio Ltda")


def _checkpoint(uow_factory: UnitOfWorkFactory) -> dict[str, int]:
    with uow_factory() as uow:
        row = uow.session.query(Job).filter(Job.identity_key.is_not(None)).one()
        return dict(row.checkpoint or {})


def test_a_worker_killed_mid_job_is_taken_over_and_each_part_arrives_once(
    app: App,
    chat: Chat,
    acme: ClientCard,
    uow_factory: UnitOfWorkFactory,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    specs = store_emitted(uow_factory, acme, 12)
    held: list[int] = []
    monkeypatch.setattr(app.conversation, "run_jobs", held.extend)
    with time_machine.travel(NOW, tick=True):  # the notes' month is the previous one
        open_gerenciar(chat, "ACME Comércio Ltda")
        chat.press(texts.XMLS_EMITIDOS)
        chat.press(texts.MES_ANTERIOR)
        chat.press(texts.NFE)
    chat.drain()
    url = app.db.url.render_as_string(hide_password=False)
    files_dir = str(tmp_path / "files")

    child = subprocess.Popen(
        [sys.executable, "-c", WORKER, url, files_dir, str(LIMIT), str(LEASE_SECONDS)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while _checkpoint(uow_factory).get("parts", 0) < 1:
            assert child.poll() is None, child.stderr.read() if child.stderr else ""
            assert time.monotonic() < deadline, "the worker never sent its first part"
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(10)
    assert child.returncode == -signal.SIGKILL
    first = [m for m in chat.drain() if isinstance(m, Document)]
    assert len(first) == 1

    exports = chat.engine.dialogue.config.exports  # type: ignore[attr-defined]
    exports.channels[chat.channel] = replace(EVERYTHING, upload_limit=LIMIT)
    survivor = JobRunner(
        uow_factory,
        fiscal_exports.kinds(exports),
        lease=timedelta(seconds=LEASE_SECONDS),
    )
    deadline = time.monotonic() + 30
    while (finished := survivor.run_next()) is None:  # the dead worker's lease runs out
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert finished == Finished(fiscal_exports.XML_ZIP, "done")

    documents = first + [m for m in chat.drain() if isinstance(m, Document)]
    names = [d.name for d in documents]
    assert len(names) >= 3
    assert names == [
        f"ACME-Comercio-Ltda_2026-10_NFe.part{n}.zip" for n in range(1, len(names) + 1)
    ]
    members: list[str] = []
    for document in documents:
        members += unzip(document)
    assert sorted(members) == sorted(f"{s.chave()}-nfe.xml" for s in specs)
    with uow_factory() as uow:
        row = uow.session.query(Job).filter(Job.identity_key.is_not(None)).one()
        assert (row.status, row.attempts) == ("done", 2)
