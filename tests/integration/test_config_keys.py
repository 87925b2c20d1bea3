"""Certificates at rest: sealed with MultiFernet, and `revendabot keys rotate` re-seals every
PFX and password under the newest key without loss."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet
from sqlalchemy import Engine

from bot.app import App
from bot.cli import main
from bot.crypto import secret_box
from bot.settings import Settings
from services import certificates
from services.crypto import BadKeys, FernetBox, SealBroken
from tests.support import Office, add_client, make_office
from tests.unit.certificates.pfx_factory import PASSWORD
from tests.unit.configuracoes.helpers import pfx_for, stored_certificate

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


@pytest.fixture
def office(app: App) -> Office:
    return make_office(app.uow_factory, 1)


def store(app: App, office: Office, n: int, box: FernetBox, password: str = PASSWORD) -> int:
    client = add_client(app.uow_factory, office.gestor, n)
    pfx = pfx_for(n, password=password)
    sealed = certificates.accept_file(
        app.uow_factory(), office.gestor, client.id, box=box, name="a.pfx", size=len(pfx), data=pfx
    )
    certificates.save_certificate(
        app.uow_factory(),
        office.gestor,
        client.id,
        box=box,
        sealed_pfx=sealed,
        password=password,
        now=datetime.now(UTC),
    )
    return client.id


def test_rotation_reseals_everything_under_the_new_key_without_loss(
    app: App, office: Office
) -> None:
    old_box = FernetBox([OLD])
    ids = [store(app, office, n, old_box, password=f"senha-{n}") for n in (1, 2, 3)]

    rotated = certificates.rotate_keys(app.uow_factory(), FernetBox([NEW, OLD]))

    assert rotated == 3
    new_only = FernetBox([NEW])
    for n, client_id in zip((1, 2, 3), ids, strict=True):
        pfx, password = certificates.stored_secret(app.uow_factory(), new_only, client_id) or (
            b"",
            "",
        )
        assert password == f"senha-{n}"
        assert certificates.open_certificate(pfx, password).documento is not None
    with pytest.raises(SealBroken):
        certificates.stored_secret(app.uow_factory(), old_box, ids[0])


def test_the_keys_rotate_command_reseals_with_the_first_key_of_the_setting(
    app: App, office: Office, db_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client_id = store(app, office, 1, FernetBox([OLD]))
    monkeypatch.chdir(tmp_path)
    url = db_engine.url.render_as_string(hide_password=False)
    runner = CliRunner(env={"DATABASE_URL": url, "ENCRYPTION_KEYS": f"{NEW},{OLD}"})

    result = runner.invoke(main, ["keys", "rotate"], catch_exceptions=False)

    assert result.exit_code == 0
    assert result.stdout == "1 certificado(s) recriptografado(s) com a chave mais nova.\n"
    secret = certificates.stored_secret(app.uow_factory(), FernetBox([NEW]), client_id)
    assert secret is not None
    assert secret[1] == PASSWORD


def test_the_keys_rotate_command_refuses_a_malformed_key_without_echoing_it(
    db_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    url = db_engine.url.render_as_string(hide_password=False)
    runner = CliRunner(env={"DATABASE_URL": url, "ENCRYPTION_KEYS": f"{NEW},nao-e-chave-secreta"})

    result = runner.invoke(main, ["keys", "rotate"])

    assert result.exit_code == 1
    assert "a chave nº 2 não é uma chave Fernet válida" in result.output
    assert "nao-e-chave-secreta" not in result.output


def test_a_stored_certificate_is_never_in_clear_in_the_database(app: App, office: Office) -> None:
    box = FernetBox([OLD])
    client_id = store(app, office, 1, box)

    row = stored_certificate(app.uow_factory, client_id)

    assert row is not None
    assert PASSWORD.encode() not in row.password_encrypted
    assert pfx_for(1)[:64] not in row.pfx_encrypted
    assert row.pfx_encrypted.startswith(b"gAAAA")  # a Fernet token


def test_development_settings_get_a_working_box_and_production_needs_real_keys() -> None:
    development = Settings(environment="development", _env_file=None)
    box = secret_box(development)
    assert box.open(box.seal(b"ok")) == b"ok"
    configured = Settings(environment="test", encryption_keys=f" {NEW} , {OLD} ", _env_file=None)
    assert FernetBox([NEW]).open(secret_box(configured).seal(b"x")) == b"x"
    with pytest.raises(BadKeys):
        FernetBox([])
