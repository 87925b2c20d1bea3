"""WhatsApp settings: what turns the channel on, and what production refuses."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr

from bot.settings import Settings


def settings(**values: Any) -> Settings:
    return Settings.model_validate(values)


def whatsapp_problems(**values: Any) -> list[str]:
    """What production would refuse of these WhatsApp settings (the validator's part for them;
    other features add their own requirements, not ours to fill in here)."""
    return settings(**values).whatsapp_problems()


def test_whatsapp_is_off_until_the_phone_number_id_and_the_token_are_set() -> None:
    assert not settings().whatsapp_enabled
    assert not settings(whatsapp_phone_number_id="1065").whatsapp_enabled
    assert settings(
        whatsapp_phone_number_id="1065", whatsapp_token=SecretStr("EAAG")
    ).whatsapp_enabled


def test_the_graph_api_and_template_defaults_are_metas_and_portuguese() -> None:
    defaults = settings()
    assert defaults.whatsapp_graph_base_url == "https://graph.facebook.com"
    assert (defaults.whatsapp_template_name, defaults.whatsapp_template_language) == (
        "revendabot_aviso",
        "pt_BR",
    )


@pytest.mark.parametrize(
    ("secret", "verify", "refused"),
    [
        ("change-me", "real-verify", "WHATSAPP_APP_SECRET"),
        ("real-secret", "", "WHATSAPP_VERIFY_TOKEN"),
        (None, "real", "WHATSAPP_APP_SECRET"),
    ],
)
def test_production_refuses_placeholder_whatsapp_secrets(
    secret: str | None, verify: str, refused: str
) -> None:
    values: dict[str, object] = {
        "whatsapp_phone_number_id": "1065",
        "whatsapp_token": SecretStr("EAAG"),
        "whatsapp_verify_token": SecretStr(verify),
    }
    if secret is not None:
        values["whatsapp_app_secret"] = SecretStr(secret)
    assert whatsapp_problems(**values) == [refused]


def test_production_accepts_real_whatsapp_secrets() -> None:
    configured = {
        "whatsapp_phone_number_id": "1065",
        "whatsapp_token": SecretStr("EAAG"),
        "whatsapp_app_secret": SecretStr("a1b2c3"),
        "whatsapp_verify_token": SecretStr("d4e5f6"),
    }
    assert whatsapp_problems(**configured) == []
