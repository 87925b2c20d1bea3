"""ENVIRONMENT=production refuses what would be unsafe, and says everything at once.

The matrix: placeholders, secrets shorter than 32 characters, a webhook without its secret;
then the command line: one pt-BR message listing every problem, no traceback, exit code 2."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet

from bot.cli import main
from bot.settings import ProductionSettingsError, Settings

STRONG = "s" * 40


def production(**values: Any) -> Settings:
    good: dict[str, Any] = {
        "environment": "production",
        "encryption_keys": Fernet.generate_key().decode(),
        "link_signing_key": STRONG,
        "signup_secret": STRONG,
    }
    return Settings(_env_file=None, **{**good, **values})


def problems(**values: Any) -> list[str]:
    with pytest.raises(ValueError, match="recusada para produção") as refused:
        production(**values)
    cause = refused.value
    while not isinstance(cause, ProductionSettingsError):  # pydantic wraps it
        errors = getattr(cause, "errors", None)
        assert errors is not None, cause
        cause = errors()[0]["ctx"]["error"]
    return cause.problems


def test_real_secrets_pass() -> None:
    settings = production(
        telegram_bot_token="123:abc",
        public_base_url="https://bot.example",
        telegram_webhook_secret=STRONG,
        payments_callback_secret=STRONG,
    )
    assert settings.production_problems() == []


@pytest.mark.parametrize(
    ("values", "name"),
    [
        ({"encryption_keys": "change-me"}, "ENCRYPTION_KEYS"),
        ({"link_signing_key": "change-me"}, "LINK_SIGNING_KEY"),
        ({"signup_secret": ""}, "SIGNUP_SECRET"),
        ({"payments_callback_secret": "change-me"}, "PAYMENTS_CALLBACK_SECRET"),
        ({"telegram_webhook_secret": "change-me"}, "TELEGRAM_WEBHOOK_SECRET"),
    ],
)
def test_a_placeholder_is_refused(values: dict[str, str], name: str) -> None:
    [problem] = problems(**values)
    assert problem.startswith(f"{name}:")
    assert "valor de exemplo" in problem


@pytest.mark.parametrize(
    "name",
    ["link_signing_key", "signup_secret", "telegram_webhook_secret", "payments_callback_secret"],
)
def test_a_secret_shorter_than_32_characters_is_refused(name: str) -> None:
    [problem] = problems(**{name: "x" * 31})
    assert problem.startswith(f"{name.upper()}: tem 31 caracteres; use pelo menos 32")


def test_a_webhook_without_its_secret_is_refused() -> None:
    [problem] = problems(telegram_bot_token="123:abc", public_base_url="https://bot.example")
    assert problem.startswith("TELEGRAM_WEBHOOK_SECRET: obrigatório com PUBLIC_BASE_URL")


def test_every_problem_is_listed_at_once() -> None:
    found = problems(
        encryption_keys="change-me",
        link_signing_key="curta",
        signup_secret="change-me",
        telegram_bot_token="123:abc",
        public_base_url="https://bot.example",
        whatsapp_phone_number_id="1065",
        whatsapp_token="EAAG",
    )
    assert [problem.split(":")[0] for problem in found] == [
        "ENCRYPTION_KEYS",
        "LINK_SIGNING_KEY",
        "SIGNUP_SECRET",
        "TELEGRAM_WEBHOOK_SECRET",
        "WHATSAPP_APP_SECRET",
        "WHATSAPP_VERIFY_TOKEN",
    ]


def test_development_keeps_its_defaults() -> None:
    assert Settings(_env_file=None, environment="development").production_problems() != []


def test_the_command_line_lists_every_problem_without_a_traceback_and_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    runner = CliRunner(
        env={
            "ENVIRONMENT": "production",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
            "LINK_SIGNING_KEY": "curta",
        }
    )

    result = runner.invoke(main, ["db", "upgrade"])

    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "Configuração recusada para produção" in result.output
    for name in ("ENCRYPTION_KEYS", "LINK_SIGNING_KEY: tem 5 caracteres", "SIGNUP_SECRET"):
        assert name in result.output
    assert not (tmp_path / "x.db").exists()  # nothing started
