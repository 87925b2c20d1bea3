"""Enviar certificado from the console: `/file PATH` carries the bytes, the prompt warns that the
password cannot be deleted here, and the certificate is saved."""

from __future__ import annotations

import io
import re
from pathlib import Path

from bot.app import App
from bot.channels.console import ConsoleChannel
from handlers import texts
from services import integration_keys
from services.clients import ClientCard
from services.messages import FileBody
from tests.support import add_client, make_office
from tests.unit.certificates.pfx_factory import PASSWORD
from tests.unit.configuracoes.helpers import pfx_for, stored_certificate


def console(app: App, tmp_path: Path) -> tuple[ConsoleChannel, io.StringIO]:
    out = io.StringIO()
    channel = ConsoleChannel(
        "ana",
        app.conversation.handle,
        app.uow_factory,
        tmp_path / "downloads",
        out=out,
        files=app.files,
    )
    return channel, out


def to_config(client: ClientCard, *section: str) -> list[str]:
    """The lines that open a client's Configurações, then `section`."""
    opening = [texts.CLIENTES, client.razao_social, texts.GERENCIAR, texts.CONFIGURACOES]
    return ["/menu", *opening, *section]


def test_a_file_sent_with_slash_file_carries_its_bytes(app: App, tmp_path: Path) -> None:
    path = tmp_path / "empresa.pfx"
    path.write_bytes(b"\x30\x82 conteudo")
    channel, _ = console(app, tmp_path)

    event = channel.event_for(f"/file {path}")

    assert event is not None
    assert isinstance(event.body, FileBody)
    assert event.body.data == b"\x30\x82 conteudo"
    assert (event.body.name, event.body.size) == ("empresa.pfx", 11)


def test_a_scripted_console_session_sends_a_certificate(app: App, tmp_path: Path) -> None:
    office = make_office(app.uow_factory, 1, identity_key="console:ana")
    client = add_client(app.uow_factory, office.gestor, 1)
    path = tmp_path / "empresa.pfx"
    path.write_bytes(pfx_for(1))
    channel, out = console(app, tmp_path)

    lines = to_config(client, texts.CERTIFICADO_DIGITAL, texts.ENVIAR_CERTIFICADO)
    channel.run([*lines, f"/file {path}", PASSWORD], interactive=False)

    transcript = out.getvalue()
    assert texts.CERT_PROMPT_WARNS.format(name="empresa.pfx") in transcript
    # a typed line cannot be taken back: the person is asked at once to clear it
    assert f"{texts.APAGUE_A_SENHA}\n\n✅ Certificado salvo: PADARIA BOM PAO LTDA" in transcript
    assert stored_certificate(app.uow_factory, client.id) is not None


def test_a_new_integration_key_prints_as_plain_text_on_the_console(
    app: App, tmp_path: Path
) -> None:
    office = make_office(app.uow_factory, 1, identity_key="console:ana")
    client = add_client(app.uow_factory, office.gestor, 1)
    channel, out = console(app, tmp_path)

    lines = to_config(client, texts.CHAVE_INTEGRACAO, texts.GERAR_NOVA_CHAVE, texts.CONFIRMAR)
    channel.run(lines, interactive=False)

    intro = texts.CHAVE_NEW.format(name=client.razao_social, key="")
    found = re.search(rf"{re.escape(intro)}(\S+)\n", out.getvalue())
    assert found is not None, out.getvalue()
    assert integration_keys.authenticate(app.uow_factory(), found[1]).client_id == client.id
    assert "<code>" not in out.getvalue()
    assert "```" not in out.getvalue()
