"""Settings, validated once, from the environment and `.env` (see .env.example)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER = "change-me"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    environment: Literal["development", "production", "test"] = "development"
    database_url: str = "sqlite:///./data/revendabot.db"
    log_level: str = "INFO"

    host: str = "127.0.0.1"
    port: int = 8000
    public_base_url: str | None = None

    telegram_bot_token: SecretStr | None = None
    telegram_bot_username: str | None = None
    telegram_base_url: str = "https://api.telegram.org/bot"
    telegram_base_file_url: str = "https://api.telegram.org/file/bot"
    telegram_webhook_secret: SecretStr | None = None
    telegram_poll_timeout: int = Field(default=30, ge=0, le=50)

    encryption_keys: SecretStr = SecretStr(PLACEHOLDER)
    support_contact: str = "suporte@revendabot.com.br"
    invite_ttl_hours: int = Field(default=168, ge=1)
    sender_batch: int = Field(default=100, ge=1, le=1000)

    @model_validator(mode="after")
    def _refuse_placeholders(self) -> Settings:
        if self.environment != "production":
            return self
        problems = []
        if self.encryption_keys.get_secret_value() in ("", PLACEHOLDER):
            problems.append("ENCRYPTION_KEYS")
        if self.public_base_url and self.telegram_bot_token and not self.telegram_webhook_secret:
            problems.append("TELEGRAM_WEBHOOK_SECRET (obrigatório com PUBLIC_BASE_URL)")
        if self.telegram_webhook_secret and self.telegram_webhook_secret.get_secret_value() in (
            "",
            PLACEHOLDER,
        ):
            problems.append("TELEGRAM_WEBHOOK_SECRET")
        if problems:
            raise ValueError("defina valores reais em produção para: " + ", ".join(problems))
        return self

    @property
    def telegram_enabled(self) -> bool:
        return self.telegram_bot_token is not None and bool(
            self.telegram_bot_token.get_secret_value()
        )
