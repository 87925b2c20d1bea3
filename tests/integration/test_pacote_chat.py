"""Pacote do mês in the chat: the gestor's one message and its two buttons, one client's
package, all of them as a ZIP of ZIPs split at the upload limit, a package too big for the
channel as a link, a contador downloading, another office refused, the toggle in
Configurações and the mute in Meus dados › Avisos. The upload limit is scaled down (a few kB
standing for Telegram's 50 MB)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from dataclasses import replace

import pytest
import time_machine

from bot.app import App
from domain.clients import Role
from domain.text import fill
from handlers import texts
from handlers.core import DialogueConfig
from handlers.router import Dialogue
from services import fiscal_exports, notices, pacote
from services.capabilities import EVERYTHING
from services.conversation import ConversationEngine
from services.fiscal_exports import ExportOptions
from services.jobs import JobRunner
from services.messages import Document, Text, UrlButton
from tests.integration.pacote_support import (
    SWEEP_AT,
    Seeded,
    efetivar,
    links,
    package_of,
    packages,
    seed,
    sweep,
)
from tests.support import Chat, add_client, add_member
from tests.unit.configuracoes.helpers import open_config
from tests.unit.fiscal_chat.chat_support import store_emitted

BIG = 50 * 1024 * 1024


@pytest.fixture(autouse=True)
def clock() -> Iterator[None]:
    with time_machine.travel(SWEEP_AT, tick=True):
        yield


def engine(app: App, upload_limit: int = BIG, max_attempts: int = 3) -> ConversationEngine:
    """The real dialogue and jobs, with the test channel's upload limit set."""
    channels = {"test": replace(EVERYTHING, upload_limit=upload_limit)}
    exports = ExportOptions(channels=channels, files=app.files)
    options = pacote.PacoteOptions(files=app.files, links=links(), channels=channels)
    runner = JobRunner(
        app.uow_factory,
        {**fiscal_exports.kinds(exports), **pacote.kinds(options)},
        max_attempts=max_attempts,
    )
    return ConversationEngine(
        app.uow_factory,
        Dialogue(DialogueConfig(exports=exports, pacote=options)),
        run_jobs=runner.run_now,
        files=app.files,
    )


def chat_of(app: App, key: str, upload_limit: int = BIG) -> Chat:
    return Chat(engine(app, upload_limit), app.uow_factory, identity_key=key, files=app.files)


def swept(app: App, chat: Chat) -> Seeded:
    """The office seeded, the sweep run, the notice delivered to the chat."""
    seeded = seed(app)
    chat.say("/menu")
    sweep(app)
    notices.dispatch(app.uow_factory, chat.engine.handle)
    chat.drain()
    return seeded


def stored_bytes(app: App, key: str | None) -> bytes:
    with app.files.open(key or "") as stream:
        return stream.read()


def members(document: Document) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(document.data)) as archive:
        assert archive.testzip() is None
        return {name: archive.read(name) for name in archive.namelist()}


def test_the_gestor_gets_one_message_with_the_totals_and_two_buttons_not_the_files(
    app: App,
) -> None:
    chat = chat_of(app, "test:gestor1")
    seed(app)
    chat.say("/menu")
    sweep(app)
    before = len(chat.received)

    notices.dispatch(app.uow_factory, chat.engine.handle)
    fresh = chat.drain()

    [message] = fresh
    assert isinstance(message, Text)
    ready = fill(texts.PACOTE_READY, mes="10/2026", clientes=2, notas=11)
    assert ready == "📦 Pacotes de 10/2026 prontos: 2 clientes, 11 notas."
    assert message.text == f"{ready}\n\n{texts.PACOTE_READY_HINT}"
    assert [c.label for c in message.choices] == [texts.PACOTE_ONE, texts.PACOTE_ALL]
    assert chat.documents() == []
    assert len(chat.received) == before + 1


def test_baixar_de_um_cliente_lists_the_packages_and_sends_the_one_chosen(app: App) -> None:
    chat = chat_of(app, "test:gestor1")
    seeded = swept(app, chat)

    chat.press(texts.PACOTE_ONE)

    assert chat.last_text().text.startswith("📦 Pacotes de 10/2026: 2 clientes, 11 notas.")
    assert chat.labels() == [
        "ACME Comércio Ltda (9 notas)",
        "Beta Serviços Ltda (2 notas)",
        texts.PACOTE_ALL,
        texts.MENU,
    ]
    chat.press("ACME Comércio Ltda (9 notas)")

    [document] = chat.documents()
    acme = package_of(app, seeded.acme.id)
    assert document.name == "ACME_Comercio_Ltda_2026-10_pacote.zip"
    assert document.data == stored_bytes(app, acme.file_key)
    assert "resumo.txt" in members(document)


def test_baixar_todos_sends_a_zip_of_zips_split_at_the_channels_limit(app: App) -> None:
    # first learn the packages' sizes, then pick a limit that holds one but not both
    probe = chat_of(app, "test:gestor1")
    seeded = swept(app, probe)
    acme, beta = package_of(app, seeded.acme.id), package_of(app, seeded.beta.id)
    sizes = [acme.file_size or 0, beta.file_size or 0]
    limit = max(sizes) + 400
    assert limit < sum(sizes) + 400
    chat = chat_of(app, "test:gestor1", upload_limit=limit)
    chat.press_id("go:pacotes:202610")

    notice, *_ = [m for m in chat.received if isinstance(m, Text)]
    assert notice.text == fill(texts.PACOTE_GENERATING_ALL, mes="10/2026", clientes=2)
    parts = chat.documents()
    assert [d.name for d in parts] == ["pacotes_2026-10.part1.zip", "pacotes_2026-10.part2.zip"]
    assert all(d.size <= limit for d in parts)
    inner = {name: data for d in parts for name, data in members(d).items()}
    assert inner == {
        acme.nome: stored_bytes(app, acme.file_key),
        beta.nome: stored_bytes(app, beta.file_key),
    }
    assert parts[1].caption is not None
    assert fill(texts.ZIP_PART, n=2, total=2) in parts[1].caption


def test_baixar_todos_in_one_part_when_the_channel_takes_it(app: App) -> None:
    chat = chat_of(app, "test:gestor1")
    swept(app, chat)

    chat.press(texts.PACOTE_ALL)

    [document] = chat.documents()
    assert document.name == "pacotes_2026-10.zip"
    assert sorted(members(document)) == [
        "ACME_Comercio_Ltda_2026-10_pacote.zip",
        "Beta_Servicos_Ltda_2026-10_pacote.zip",
    ]


def test_a_package_larger_than_the_channel_takes_goes_as_a_signed_link(app: App) -> None:
    probe = chat_of(app, "test:gestor1")
    seeded = swept(app, probe)
    acme = package_of(app, seeded.acme.id)
    chat = chat_of(app, "test:gestor1", upload_limit=(acme.file_size or 0) - 1)
    chat.press_id("go:pacote:202610")

    chat.press("ACME Comércio Ltda (9 notas)")

    assert chat.documents() == []
    message = chat.received[-2]  # the link, then the list again
    assert isinstance(message, Text)
    assert message.text == texts.PACOTE_TOO_BIG.format(nome=acme.nome)
    [[button]] = message.buttons
    assert isinstance(button, UrlButton)
    assert button.url.startswith("https://revenda.example/arquivo/")


def test_a_contador_gets_the_message_and_downloads_a_package(app: App) -> None:
    gestor = chat_of(app, "test:gestor1")
    seeded = seed(app)
    add_member(app.uow_factory, seeded.office, "test:contadora", Role.CONTADOR)
    contadora = chat_of(app, "test:contadora")
    contadora.say("/menu")
    gestor.say("/menu")
    sweep(app)
    notices.dispatch(app.uow_factory, contadora.engine.handle)
    contadora.drain()

    contadora.press(texts.PACOTE_ONE)
    contadora.press("Beta Serviços Ltda (2 notas)")

    [document] = contadora.documents()
    assert document.name == "Beta_Servicos_Ltda_2026-10_pacote.zip"


def test_another_office_opening_the_months_buttons_sees_none_of_these_packages(
    app: App,
) -> None:
    seeded = seed(app, 1)
    other = seed(app, 2)
    sweep(app)
    intruder = chat_of(app, "test:gestor2")
    intruder.say("/menu")

    intruder.press_id("go:pacote:202610")

    own = package_of(app, other.acme.id)
    acme_1 = package_of(app, seeded.acme.id)
    assert own.id != acme_1.id
    assert intruder.button_id("ACME Comércio Ltda (9 notas)").endswith(f"|pk:{own.id}")
    token = intruder.button_id("ACME Comércio Ltda (9 notas)").split("|")[0]

    intruder.press_id(f"{token}|pk:{acme_1.id}")  # office 1's package, forged

    assert intruder.documents() == []


def test_the_toggle_in_configuracoes_turns_the_package_on_and_off(app: App) -> None:
    seeded = seed(app)
    chat = chat_of(app, "test:gestor1")
    open_config(chat, seeded.acme.razao_social)
    on = texts.PACOTE_TOGGLE.format(estado=texts.PACOTE_ON)
    off = texts.PACOTE_TOGGLE.format(estado=texts.PACOTE_OFF)
    assert on in chat.labels()  # Efetivado: on by default

    chat.press(on)

    said = [m.text for m in chat.received if isinstance(m, Text)]
    assert (
        texts.PACOTE_TOGGLED.format(name=seeded.acme.razao_social, estado=texts.PACOTE_OFF, dia=1)
        in said
    )
    assert off in chat.labels()
    sweep(app)
    assert [p.client_id for p in packages(app.uow_factory)] == [seeded.beta.id]


def test_the_month_message_can_be_muted_in_avisos(app: App) -> None:
    seed(app)
    chat = chat_of(app, "test:gestor1")
    chat.say("/menu")
    chat.press(texts.MEUS_DADOS)
    chat.press(texts.AVISOS)
    assert "🔔 Pacotes do mês prontos" in chat.last_text().text

    chat.press(texts.AVISO_TOGGLE_OFF.format(label="Pacotes do mês prontos"))
    sweep(app)
    notices.dispatch(app.uow_factory, chat.engine.handle)

    assert not [
        m for m in chat.drain() if isinstance(m, Text) and m.text.startswith("📦 Pacotes de")
    ]


def test_the_clients_historico_records_the_package_sent_to_whom_its_size_and_sha256(
    app: App,
) -> None:
    chat = chat_of(app, "test:gestor1")
    seeded = swept(app, chat)
    acme = package_of(app, seeded.acme.id)
    chat.say("/menu")
    chat.press(texts.CLIENTES)
    chat.press(seeded.acme.razao_social)

    chat.press(texts.HISTORICO)

    text = chat.last_text().text
    assert texts.HISTORICO_ACTIONS["pacote.enviado"] in text
    assert "Para: contador@acme.com.br" in text
    assert "Envio: anexo" in text
    assert f"Tamanho (bytes): {acme.file_size}" in text
    assert f"SHA-256: {acme.file_sha256}" in text


def test_baixar_todos_that_no_worker_could_finish_says_so_with_a_reference(app: App) -> None:
    probe = chat_of(app, "test:gestor1")
    swept(app, probe)
    # every taker is over the limit at once: the job gives up instead of running
    chat = Chat(engine(app, max_attempts=0), app.uow_factory, "test:gestor1", files=app.files)

    chat.press_id("go:pacotes:202610")

    assert chat.documents() == []
    failed = [m.text for m in chat.received if isinstance(m, Text) and "referência" in m.text]
    [text] = failed
    assert text.startswith(texts.EXPORT_FAILED.split("{ref}")[0])


def test_the_months_list_pages_six_clients_at_a_time(app: App) -> None:
    seeded = seed(app)
    for n in range(3, 8):  # five more clients: seven packages in all
        card = add_client(app.uow_factory, seeded.office.gestor, 100 + n, name=f"Zeta {n} Ltda")
        efetivar(app.uow_factory, seeded.office.gestor, card)
        store_emitted(app.uow_factory, card, 1, seed=40 + n)
    chat = chat_of(app, "test:gestor1")
    chat.say("/menu")
    sweep(app)

    chat.press_id("go:pacote:202610")

    first = chat.labels()
    assert len(first) == 6 + 3  # six clients, Próxima, Baixar todos, Menu
    assert first[-3:] == [texts.PROXIMA, texts.PACOTE_ALL, texts.MENU]
    assert "Página 1 de 2." in chat.last_text().text
    chat.press(texts.PROXIMA)
    assert chat.labels() == ["Zeta 7 Ltda (1 nota)", texts.ANTERIOR, texts.PACOTE_ALL, texts.MENU]
