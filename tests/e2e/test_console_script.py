"""The console channel end to end: `revendabot demo`, then `revendabot console` as a subprocess
fed a script on stdin (not a terminal), its transcript compared with the expected one.

Scripts and transcripts live in tests/e2e/scripts/ (`NAME.txt` is the input, `NAME.expected.txt`
the output). After a deliberate change of wording, regenerate them with
`UPDATE_TRANSCRIPTS=1 .venv/bin/pytest tests/e2e/test_console_script.py` and review the diff.
"""

from __future__ import annotations

import os
import pty
import queue
import re
import shutil
import subprocess
import sys
import threading
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.conversation import enqueue_to
from services.messages import Document, Text, UrlButton
from storage.db import make_engine, make_session_factory
from storage.uow import UnitOfWorkFactory

pytestmark = pytest.mark.e2e

SCRIPTS = Path(__file__).parent / "scripts"
REVENDABOT = Path(sys.executable).parent / "revendabot"
# "Cliente desde" is the day the demo ran.
DATE = re.compile(r"\b\d{2}/\d{2}/\d{4}\b")
# Month pickers show the current and the previous month.
MONTH = re.compile(r"\b\d{2}/\d{4}\b")
# A new client's integration key is random: shown once, different on every run.
KEY = re.compile(r"rvb_[A-Za-z0-9_-]{20,}")
# File names carry the month (`ACME_2026-10_NFe.zip`); links say when they were created.
COMPETENCIA = re.compile(r"(?<!\d)20\d{2}-\d{2}(?!\d)")
HOUR = re.compile(r"às \d{2}:\d{2}")
# ZIPs and PDFs hold signatures, certificates and dates made on the day the demo ran.
SIZE = re.compile(r"\(\d+ bytes\)")
# The boleto's due-date factor changes with the month it is due.
LINHA = re.compile(r"\d{5}\.\d{5} \d{5}\.\d{6} \d{5}\.\d{6} \d \d{14}")
# The demo's fatura is due on day 10: pendente before it, vencida after it.
FATURA_SITUACAO = re.compile(r"(— |Situação: )(pendente|vencida)$", re.MULTILINE)
# How many pendências the demo office has depends on the day it ran (certificates, the fatura).
PENDENCIAS = re.compile(r"Pendências \(\d+\)")
NOTA = "<nfeProc versao='4.00'/>\n"


def revendabot(workdir: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_", "TELEGRAM_", "PUBLIC_BASE_URL"))
    }
    env.update(DATABASE_URL=f"sqlite:///{workdir / 'x.db'}", PYTHONUTF8="1")
    return subprocess.run(
        [str(REVENDABOT), *args],
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=workdir,
        env=env,
        timeout=120,
        check=False,
    )


def _seed(folder: Path) -> str:
    seeded = revendabot(folder, "demo")
    assert seeded.returncode == 0, seeded.stderr
    assert "Demonstração criada" in seeded.stdout
    return seeded.stdout


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo office as `revendabot demo` leaves it: its notices not yet seen by anyone.

    Built once per module (signing the demo's notes takes a few seconds) and copied per test.
    """
    folder = tmp_path_factory.mktemp("demo")
    _seed(folder)
    return folder


@pytest.fixture(scope="module")
def quiet_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo office after both console identities opened once: the demo's own pushes (the
    fatura, the certificate reminder) are already shown, so a script starts at its first line."""
    folder = tmp_path_factory.mktemp("quiet")
    _seed(folder)
    for identity in ("demo", "contador"):
        assert revendabot(folder, "console", "--as", identity).returncode == 0
    return folder


def _copy_db(template: Path, target: Path) -> Path:
    for name in ("x.db", "x.db-wal", "x.db-shm"):
        if (template / name).exists():
            shutil.copy(template / name, target / name)
    (target / "nota-fiscal.xml").write_text(NOTA, encoding="utf-8")
    return target


@pytest.fixture
def workdir(quiet_template: Path, tmp_path: Path) -> Path:
    """A folder with the demo office seeded, as README tells a newcomer to do."""
    return _copy_db(quiet_template, tmp_path)


@pytest.fixture
def demo_workdir(demo_template: Path, tmp_path: Path) -> Path:
    """A folder right after `revendabot demo`, before anyone opened the console."""
    return _copy_db(demo_template, tmp_path)


def normalized(transcript: str) -> str:
    dated = MONTH.sub("MM/AAAA", DATE.sub("DD/MM/AAAA", transcript))
    dated = COMPETENCIA.sub("AAAA-MM", HOUR.sub("às HH:MM", dated))
    sized = SIZE.sub("(N bytes)", LINHA.sub("<linha digitável>", dated))
    counted = PENDENCIAS.sub("Pendências (N)", sized)
    return FATURA_SITUACAO.sub(r"\1<situação>", KEY.sub("rvb_<chave>", counted))


def run_script(workdir: Path, name: str, identity: str) -> str:
    return normalized(run_raw(workdir, name, identity))


def run_raw(workdir: Path, name: str, identity: str) -> str:
    script = (SCRIPTS / f"{name}.txt").read_text(encoding="utf-8")
    done = revendabot(
        workdir, "console", "--as", identity, "--downloads", "baixados", stdin=script
    )
    assert done.returncode == 0, done.stderr
    # Logging goes to stderr, and migrations do not narrate every start.
    assert "alembic" not in done.stderr
    assert "INFO" not in done.stdout
    return done.stdout


def expected(name: str, actual: str) -> str:
    path = SCRIPTS / f"{name}.expected.txt"
    if os.environ.get("UPDATE_TRANSCRIPTS"):
        path.write_text(actual, encoding="utf-8")
    return path.read_text(encoding="utf-8")


def test_the_gestor_script_gives_the_expected_transcript(workdir: Path) -> None:
    transcript = run_script(workdir, "gestor", "demo")

    assert transcript == expected("gestor", transcript)


def test_the_gestor_script_registers_the_new_client_and_finds_it(workdir: Path) -> None:
    transcript = run_script(workdir, "gestor", "demo")

    assert "⚠️ CNPJ com todos os dígitos iguais não existe." in transcript
    assert "✅ Cliente Padaria Nova Esperança Ltda cadastrado com status Teste." in transcript
    assert "🔎 Clientes com “esperança” (1)" in transcript
    assert "Não esperava um arquivo agora." in transcript
    assert "Seus clientes (31)" in transcript
    assert not (workdir / "baixados").exists()


def test_the_contador_script_gives_the_expected_transcript_without_gerenciar(
    workdir: Path,
) -> None:
    transcript = run_script(workdir, "contador", "contador")

    assert transcript == expected("contador", transcript)
    assert "Gerenciar" not in transcript
    assert "🏢 Distribuidora Boa Vista 04 Eireli" in transcript


def test_a_number_or_an_exact_label_presses_and_anything_else_is_text(workdir: Path) -> None:
    by_number = revendabot(workdir, "console", "--as", "demo", stdin="/menu\n1\n")
    by_label = revendabot(workdir, "console", "--as", "demo", stdin="/menu\nClientes\n")
    # not a label and not a typed shortcut ("clientes" would be one: handlers/shortcuts.py)
    by_text = revendabot(workdir, "console", "--as", "demo", stdin="/menu\nbom dia\n")

    assert by_number.stdout == by_label.stdout
    assert "👥 Seus clientes (30)" in by_label.stdout
    assert "👥 Seus clientes" not in by_text.stdout
    assert "Para seguir, toque em um dos botões abaixo" in by_text.stdout


def test_a_file_that_does_not_exist_is_not_sent(workdir: Path) -> None:
    done = revendabot(workdir, "console", "--as", "demo", stdin="/menu\n/file sumiu.pfx\n")

    assert done.returncode == 0
    assert "(arquivo não encontrado: sumiu.pfx)" in done.stdout
    assert "Não esperava um arquivo" not in done.stdout


def test_messages_pushed_while_the_console_was_closed_are_shown_when_it_opens(
    workdir: Path,
) -> None:
    engine = make_engine(f"sqlite:///{workdir / 'x.db'}")
    uow = UnitOfWorkFactory(make_session_factory(engine))()
    with uow:
        enqueue_to(
            uow,
            "console",
            "console:demo",
            "demo",
            [
                Text("Lembrete: o certificado da Padaria vence em 10 dias."),
                Document("relatório.csv", "text/csv", b"id;valor\n1;10,00\n", "Seu relatório"),
                Text("Veja no painel:", ((UrlButton("Abrir painel", "https://exemplo.com/p"),),)),
            ],
            datetime.now(UTC),
        )
        uow.commit()
    engine.dispose()

    opened = revendabot(workdir, "console", "--as", "demo", "--downloads", "baixados")
    again = revendabot(workdir, "console", "--as", "demo", "--downloads", "baixados")

    assert opened.returncode == 0, opened.stderr
    assert opened.stdout == (
        "Lembrete: o certificado da Padaria vence em 10 dias.\n"
        "\n"
        "[documento] relatório.csv (17 bytes)\n"
        "Seu relatório\n"
        "\n"
        "Veja no painel:\n"
        "[link] Abrir painel: https://exemplo.com/p\n"
        "\n"
    )
    assert (workdir / "baixados" / "relatório.csv").read_bytes() == b"id;valor\n1;10,00\n"
    assert again.stdout == ""


def test_an_identity_without_access_is_told_how_to_get_it(workdir: Path) -> None:
    done = revendabot(workdir, "console", "--as", "visitante", stdin="/menu\nClientes\n")

    assert done.returncode == 0
    assert "Clientes" not in done.stdout
    assert "convite" in done.stdout.lower()


def _push(workdir: Path, text: str) -> None:
    engine = make_engine(f"sqlite:///{workdir / 'x.db'}")
    uow = UnitOfWorkFactory(make_session_factory(engine))()
    with uow:
        enqueue_to(uow, "console", "console:demo", "demo", [Text(text)], datetime.now(UTC))
        uow.commit()
    engine.dispose()


def test_an_open_interactive_console_prints_a_push_as_it_arrives(workdir: Path) -> None:
    controller, terminal = pty.openpty()  # stdin is a terminal: interactive mode
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "TELEGRAM_"))}
    env.update(DATABASE_URL=f"sqlite:///{workdir / 'x.db'}", PYTHONUTF8="1")
    process = subprocess.Popen(
        [str(REVENDABOT), "console", "--as", "demo"],
        stdin=terminal,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=workdir,
        env=env,
        text=True,
        encoding="utf-8",
    )
    os.close(terminal)
    lines: queue.Queue[str] = queue.Queue()
    output = process.stdout
    assert output is not None

    def read() -> None:
        for line in output:
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()

    def wait_for(fragment: str) -> None:
        while fragment not in lines.get(timeout=30):
            pass

    try:
        wait_for("Console do RevendaBot")
        os.write(controller, b"/menu\n")
        wait_for("[5] Ajuda")
        _push(workdir, "Novo cliente cadastrado pelo link: Padaria Lua Ltda.")
        wait_for("Novo cliente cadastrado pelo link: Padaria Lua Ltda.")
        os.write(controller, b"\x04")  # Ctrl+D
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
        os.close(controller)


def test_the_demo_walk_shows_every_feature_with_real_data(demo_workdir: Path) -> None:
    raw = run_raw(demo_workdir, "demo", "demo")
    transcript = normalized(raw)

    assert transcript == expected("demo", transcript)
    # The reminder of the certificate that expires in 7 days waits for the first console.
    first_screen = transcript.split("O que você quer fazer?", 1)[0]
    assert "🔐 O certificado digital de Auto Peças Ipê 13 ME vence em 7 dias" in first_screen
    assert "🧾 A fatura MM/AAAA fechou" in first_screen
    for status in ("Efetivado", "Teste", "Bloqueado", "Cancelado"):
        assert f" — {status}\n" in transcript
    # The previous month's NF-e: 14 signed notes and one cancellation, as a ZIP.
    downloads = demo_workdir / "baixados"
    zips = list(downloads.glob("Distribuidora-Boa-Vista_*_NFe.zip"))
    assert len(zips) == 1
    with zipfile.ZipFile(zips[0]) as archive:
        names = archive.namelist()
        first = archive.read(names[0])
    assert len(names) == 15
    assert b"<Signature" in first
    assert b"<digVal>" in first
    assert "14 notas e 1 evento de cancelamento" in transcript
    assert "Pendentes: 3\nReconhecidas: 2\n❌ Canceladas pelo emitente" in transcript
    assert "✅ Parabéns! O certificado digital está válido até" in transcript
    assert "⚠️ O certificado digital vence em 7 dias" in transcript
    assert "❌ O certificado digital venceu em" in transcript
    assert (downloads / next(downloads.glob("*_relatorio.pdf")).name).read_bytes()[:4] == b"%PDF"
    boleto = next(downloads.glob("boleto-*.pdf"))
    assert boleto.read_bytes()[:4] == b"%PDF"
    assert "FazNota Prata — Enviado" in transcript


def test_demo_again_reuses_the_office_and_fresh_rebuilds_it(demo_workdir: Path) -> None:
    again = revendabot(demo_workdir, "demo")
    fresh = revendabot(demo_workdir, "demo", "--fresh")
    walk = normalized(run_raw(demo_workdir, "demo", "demo"))

    assert "A demonstração já existe" in again.stdout
    assert "Demonstração criada: Contabilidade Exemplo Ltda com 30 clientes" in fresh.stdout
    assert walk == expected("demo", walk)
