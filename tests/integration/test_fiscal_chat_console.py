"""The fiscal flows through the console channel (scripted): the month's ZIP is built while the
line is answered, written to the downloads folder and announced as `[documento] NAME (N bytes)`
(a report's chart as `[imagem] NAME (N bytes)`);
and with the serve runner the job runs on a worker thread and wakes the sender when done."""

from __future__ import annotations

import io
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import time_machine

from bot.app import App
from bot.channels.console import ConsoleChannel
from bot.jobs import JobWorkers
from handlers import texts
from services.clients import ClientCard
from services.messages import Document
from services.types import UnitOfWorkFactory
from tests.support import Chat, Office, add_client, make_office
from tests.unit.fiscal_chat.chat_support import NOW, open_gerenciar, store_emitted, unzip


@pytest.fixture(autouse=True)
def clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=True):
        yield


def test_a_console_script_receives_the_month_zip_in_the_downloads_folder(
    app: App, uow_factory: UnitOfWorkFactory, tmp_path: Path
) -> None:
    office = make_office(uow_factory, 1, identity_key="console:ana")
    acme = add_client(uow_factory, office.gestor, 1, name="ACME Comércio Ltda")
    specs = store_emitted(uow_factory, acme, 3)
    out = io.StringIO()
    console = ConsoleChannel(
        "ana", app.conversation.handle, uow_factory, tmp_path, out=out, files=app.files
    )
    script = [
        "/menu",
        texts.CLIENTES,
        "ACME Comércio Ltda",
        texts.GERENCIAR,
        texts.XMLS_EMITIDOS,
        texts.MES_ANTERIOR,
        texts.NFE,
    ]

    console.run(script, interactive=False)

    transcript = out.getvalue()
    path = tmp_path / "ACME-Comercio-Ltda_2026-10_NFe.zip"
    assert (
        "⏳ Gerando o ZIP com 3 NF-e de 10/2026… Envio aqui assim que ficar pronto.\n"
    ) in transcript
    assert f"[documento] {path.name} ({path.stat().st_size} bytes)\n" in transcript
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == sorted(f"{s.chave()}-nfe.xml" for s in specs)


def test_a_console_script_receives_the_reports_chart_as_an_image_before_the_pdf(
    app: App, uow_factory: UnitOfWorkFactory, tmp_path: Path
) -> None:
    office = make_office(uow_factory, 1, identity_key="console:ana")
    acme = add_client(uow_factory, office.gestor, 1, name="ACME Comércio Ltda")
    store_emitted(uow_factory, acme, 3)
    out = io.StringIO()
    console = ConsoleChannel(
        "ana", app.conversation.handle, uow_factory, tmp_path, out=out, files=app.files
    )
    script = [
        "/menu",
        texts.CLIENTES,
        "ACME Comércio Ltda",
        texts.GERENCIAR,
        texts.RELATORIOS,
        texts.MES_ANTERIOR,
        texts.NFE,
        texts.RELATORIO_CSV,
    ]

    console.run(script, interactive=False)

    transcript = out.getvalue()
    chart = tmp_path / "ACME-Comercio-Ltda_2026-10_NFe_relatorio_grafico.png"
    pdf = tmp_path / "ACME-Comercio-Ltda_2026-10_NFe_relatorio.pdf"
    image_line = f"[imagem] {chart.name} ({chart.stat().st_size} bytes)\n"
    pdf_line = f"[documento] {pdf.name} ({pdf.stat().st_size} bytes)\n"
    assert image_line in transcript
    assert transcript.index(image_line) < transcript.index(pdf_line)
    assert chart.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


@pytest.fixture
def acme(uow_factory: UnitOfWorkFactory, chat: Chat) -> ClientCard:
    office: Office = make_office(uow_factory, 1, identity_key=chat.identity_key)
    return add_client(uow_factory, office.gestor, 1, name="ACME Comércio Ltda")


def test_with_the_serve_runner_the_zip_is_built_on_a_worker_and_wakes_the_sender(
    app: App, chat: Chat, acme: ClientCard, uow_factory: UnitOfWorkFactory
) -> None:
    specs = store_emitted(uow_factory, acme, 4)
    assert app.jobs is not None
    workers = JobWorkers(app.jobs, 2, poll=0.05)
    app.conversation.run_jobs = lambda _ids: workers.wake()  # as `serve` wires it
    workers.start()
    woken_by_a_worker = threading.Event()

    def woken() -> None:
        if threading.current_thread().name.startswith("job"):
            woken_by_a_worker.set()

    app.wakeup.subscribe(woken)
    open_gerenciar(chat, "ACME Comércio Ltda")
    chat.press(texts.XMLS_EMITIDOS)
    chat.press(texts.MES_ANTERIOR)

    chat.press(texts.NFE)
    assert woken_by_a_worker.wait(10)
    workers.stop()
    chat.drain()

    [document] = [m for m in chat.received if isinstance(m, Document)]
    assert len(unzip(document)) == len(specs)
