"""Settings, validated once, from the environment and `.env` (see .env.example)."""

from __future__ import annotations

import os
from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.contacts import UFS

PLACEHOLDER = "change-me"
# HMAC keys and shared secrets shorter than this are guessable in production.
MIN_SECRET_LENGTH = 32
CONSULTA_PREFIX = "sefaz_url_consulta_"
_HOW_TO_GENERATE = "gere um com: python -c 'import secrets; print(secrets.token_urlsafe(48))'"


class ProductionSettingsError(ValueError):
    """Every reason the settings cannot run in production, in one pt-BR message."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(
            "Configuração recusada para produção (ENVIRONMENT=production). Corrija no .env ou "
            "no ambiente:\n" + "\n".join(f"- {problem}" for problem in problems)
        )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    environment: Literal["development", "production", "test"] = "development"
    database_url: str = "sqlite:///./data/revendabot.db"
    log_level: str = "INFO"
    # text: one readable line; json: one JSON object per line (event id, identity hash)
    log_format: Literal["text", "json"] = "text"
    # GET /metrics: with a token, only `Authorization: Bearer <token>`; without, loopback only
    metrics_token: SecretStr | None = None

    host: str = "127.0.0.1"
    port: int = 8000
    # serve's event loop: auto is uvloop where it is installed (not on Windows), else asyncio's
    event_loop: Literal["auto", "asyncio"] = "auto"
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
    # Seconds between edits of a long job's "Gerando…" message with its progress, at most.
    export_progress_seconds: float = Field(default=3.0, ge=1.0, le=60.0)
    # Job workers of `serve` (ZIPs, reports, DANFEs); unset: one per CPU, at most 4.
    # `serve --workers N` wins over it.
    job_workers: int | None = Field(default=None, ge=1, le=64)
    # More job workers that take only the quick kinds (a SEFAZ consulta, manifestação or XML
    # download by key, which a person waits for in the chat).
    quick_job_workers: int = Field(default=2, ge=1, le=32)
    # Seconds a running job's claim lasts without renewal: a job whose process died is taken
    # over by another worker (any instance) this long after its last sign of life.
    job_lease_seconds: float = Field(default=60.0, ge=2.0, le=3600.0)

    # -- WhatsApp Cloud API --
    whatsapp_phone_number_id: str | None = None
    whatsapp_token: SecretStr | None = None
    whatsapp_app_secret: SecretStr | None = None
    whatsapp_verify_token: SecretStr | None = None
    whatsapp_graph_base_url: str = "https://graph.facebook.com"
    whatsapp_api_version: str = "23.0"
    whatsapp_template_name: str = "revendabot_aviso"
    whatsapp_template_language: str = "pt_BR"

    # -- Configurações and Acessar software do cliente --
    link_signing_key: SecretStr = SecretStr(PLACEHOLDER)

    # -- Contracting links, sign-up page and e-mail --
    link_ttl_days: int = Field(default=7, ge=1, le=90)
    signup_secret: SecretStr = SecretStr(PLACEHOLDER)
    signup_rate_per_ip: int = Field(default=30, ge=1)
    signup_rate_per_token: int = Field(default=10, ge=1)
    signup_rate_window_seconds: int = Field(default=600, ge=1)
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "RevendaBot <nao-responda@revendabot.com.br>"
    smtp_starttls: bool = True
    smtp_timeout_seconds: float = Field(default=10.0, gt=0)

    @property
    def web_base_url(self) -> str:
        """Where people reach the web app: PUBLIC_BASE_URL, else this machine's HOST:PORT."""
        return (self.public_base_url or f"http://{self.host}:{self.port}").rstrip("/")

    def whatsapp_problems(self) -> list[str]:
        """The WHATSAPP_* secrets still empty or placeholders (when WhatsApp is on)."""
        if not self.whatsapp_enabled:
            return []
        secrets = {
            "WHATSAPP_APP_SECRET": self.whatsapp_app_secret,
            "WHATSAPP_VERIFY_TOKEN": self.whatsapp_verify_token,
        }
        return [
            name
            for name, value in secrets.items()
            if value is None or value.get_secret_value() in ("", PLACEHOLDER)
        ]

    @property
    def whatsapp_enabled(self) -> bool:
        """WhatsApp runs when the phone number id and the token are both set."""
        return bool(self.whatsapp_phone_number_id) and bool(
            self.whatsapp_token and self.whatsapp_token.get_secret_value()
        )

    @property
    def telegram_enabled(self) -> bool:
        return self.telegram_bot_token is not None and bool(
            self.telegram_bot_token.get_secret_value()
        )

    # -- Meus dados and billing --
    # Faturas are due on this day of the month after the competência.
    billing_due_day: int = Field(default=10, ge=1, le=28)
    # Who receives the faturas (printed on the boleto). Itaú, carteira 109 or 175.
    boleto_beneficiario_nome: str = "RevendaBot Tecnologia Ltda"
    boleto_beneficiario_cnpj: str = "11222333000181"
    boleto_beneficiario_endereco: str = "Av. Paulista, 1000 - Bela Vista - São Paulo/SP"
    boleto_agencia: str = Field(default="0057", pattern=r"^\d{4}$")
    boleto_conta: str = Field(default="12345", pattern=r"^\d{5}$")
    boleto_carteira: Literal["109", "175"] = "109"
    pix_chave: str = "11222333000181"
    pix_nome: str = "RevendaBot Tecnologia"
    pix_cidade: str = "Sao Paulo"
    # HMAC-SHA256 key of the payment gateway's callback (POST /payments/callback). Empty: the
    # route refuses every call.
    payments_callback_secret: SecretStr | None = None

    # -- Reminders, scheduler and delivery pacing --
    # Daily certificate sweep, São Paulo time (HH:MM); faturas and links run at NOTICE_SWEEP_TIME.
    cert_sweep_time: str = Field(default="08:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    notice_sweep_time: str = Field(default="09:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    scheduler_enabled: bool = True
    # More certificate reminders than this for one gestor in one day: one digest message.
    reminder_digest_threshold: int = Field(default=5, ge=1)
    telegram_rate_per_chat: float = Field(default=1.0, gt=0)  # messages/s to one chat
    telegram_rate_global: float = Field(default=30.0, gt=0)  # messages/s overall
    whatsapp_seconds_per_user: float = Field(default=6.0, ge=0)
    whatsapp_rate_global: float = Field(default=80.0, gt=0)  # messages/s per phone number
    # Messages a quiet chat may get at once before the spacing applies (a reply + the menu).
    telegram_burst_per_chat: int = Field(default=3, ge=1, le=20)
    whatsapp_burst_per_user: int = Field(default=45, ge=1, le=45)
    sender_concurrency: int = Field(default=64, ge=1, le=1000)

    # Webhook events in progress per process; beyond this a webhook answers 503 + Retry-After
    # and the platform redelivers later, instead of every answer queueing behind the burst.
    webhook_max_in_flight: int = Field(default=64, ge=1, le=10_000)
    webhook_retry_after_seconds: int = Field(default=1, ge=1, le=3600)

    # -- Retention: what is deleted after how many days (daily sweep, São Paulo time) --
    retention_sweep_time: str = Field(default="03:30", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    event_retention_days: int = Field(default=30, ge=1)
    outbox_retention_days: int = Field(default=30, ge=1)
    whatsapp_raw_retention_days: int = Field(default=7, ge=1)
    file_ttl_days: int = Field(default=7, ge=1)
    # DANFEs printed once are kept longer: a month asked for at its end finds them printed
    danfe_cache_days: int = Field(default=62, ge=1)
    # Print each issued note's DANFE in the background after it is stored (serve's workers)
    danfe_prerender: bool = True

    # -- Pendências: the list across all clients and its daily digest (São Paulo time) --
    pendencias_time: str = Field(default="08:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    # A client in Teste for more than this many days is listed (a contract to settle).
    teste_alerta_dias: int = Field(default=14, ge=1, le=365)
    # From this day of the month a client that issued last month and nothing yet this month is
    # listed; before it, the month checked is the previous one (no false alarm on the 1st).
    pendencias_sem_emissao_dia: int = Field(default=5, ge=1, le=28)

    # -- Generated files (ZIPs, PDFs, charts): a folder, or s3://bucket/prefix for several
    # instances (credentials from the standard AWS_* variables, or these for a stand-in) --
    file_store_url: str = "./data/files"
    file_store_s3_endpoint: str | None = None
    file_store_s3_region: str | None = None
    file_store_s3_access_key_id: str | None = None
    file_store_s3_secret_access_key: SecretStr | None = None

    # -- SEFAZ web services (supplier notes, manifestação, consulta), with each client's A1 --
    sefaz_ambiente: Literal["producao", "homologacao"] = "homologacao"
    # Overrides of nfelib's official URL table; SEFAZ_URL_BASE points every service at one host
    # (a stand-in). SEFAZ_URL_CONSULTA_<UF> (e.g. SEFAZ_URL_CONSULTA_SP) is read per UF.
    sefaz_url_distribuicao: str | None = None
    sefaz_url_evento: str | None = None
    sefaz_url_base: str | None = None
    # UF sigla → URL, gathered from every SEFAZ_URL_CONSULTA_<UF> of the environment and of
    # `.env` (the environment wins), checked against the 27 UFs.
    sefaz_url_consulta: dict[str, str] = Field(default_factory=dict)
    # PEM file replacing the ICP-Brasil chain shipped in bot/gateways/certs/icp_brasil.pem
    # (the system store is still used besides it). Never a way to turn verification off.
    sefaz_ca_bundle: str | None = None
    sefaz_timeout_seconds: float = Field(default=30.0, gt=0, le=300)
    # How often the `captura` job runs; each CNPJ still waits the hour NT 2014.002 asks.
    sefaz_capture_minutes: int = Field(default=60, ge=5, le=1440)
    # -- Pacote do mês: on day PACOTE_DIA at PACOTE_TIME (São Paulo) the previous month's
    # package of each client is built; the accountant gets it attached up to
    # PACOTE_EMAIL_MAX_MB, else a link valid PACOTE_LINK_DAYS (keep it ≤ FILE_TTL_DAYS) --
    pacote_dia: int = Field(default=1, ge=1, le=28)
    pacote_time: str = Field(default="06:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    pacote_email_max_mb: int = Field(default=10, ge=1, le=100)
    pacote_link_days: int = Field(default=7, ge=1, le=90)

    @model_validator(mode="before")
    @classmethod
    def _consulta_por_uf(cls, data: Any) -> Any:
        """SEFAZ_URL_CONSULTA_<UF> is one key per UF, not a declared field: `.env` hands its
        lines over here (as extra keys, lowercased), the environment is read as it is."""
        if not isinstance(data, dict):
            return data
        found: dict[str, str] = {}
        for source in (data, os.environ):  # later wins: the environment over .env
            for key, value in source.items():
                name = str(key).lower()
                if name.startswith(CONSULTA_PREFIX) and name != CONSULTA_PREFIX and value:
                    uf = name.removeprefix(CONSULTA_PREFIX).upper()
                    if uf not in UFS:
                        raise ValueError(
                            f"{key}: {uf} não é uma UF. Use a sigla, ex. SEFAZ_URL_CONSULTA_SP."
                        )
                    found[uf] = str(value)
        if not found:
            return data
        return {
            **data,
            "sefaz_url_consulta": {**found, **dict(data.get("sefaz_url_consulta") or {})},
        }

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.environment == "production":
            problems = self.production_problems()
            if problems:
                raise ProductionSettingsError(problems)
        return self

    def production_problems(self) -> list[str]:
        """Everything production refuses: placeholders, short keys, a missing webhook secret."""
        problems: list[str] = []
        if _is_placeholder(self.encryption_keys):
            problems.append("ENCRYPTION_KEYS: ainda é o valor de exemplo; gere uma chave Fernet.")
        keys = {
            "LINK_SIGNING_KEY": self.link_signing_key,
            "SIGNUP_SECRET": self.signup_secret,
            "TELEGRAM_WEBHOOK_SECRET": self.telegram_webhook_secret,
            "PAYMENTS_CALLBACK_SECRET": self.payments_callback_secret,
            "METRICS_TOKEN": self.metrics_token,
        }
        for name, value in keys.items():
            problem = _weak_secret(name, value)
            if problem:
                problems.append(problem)
        if self.public_base_url and self.telegram_enabled and self.telegram_webhook_secret is None:
            problems.append(
                "TELEGRAM_WEBHOOK_SECRET: obrigatório com PUBLIC_BASE_URL (webhook); todas as "
                f"instâncias precisam do mesmo valor, senão só a última aceita o Telegram; "
                f"{_HOW_TO_GENERATE}."
            )
        problems += [
            f"{name}: ainda vazio ou com o valor de exemplo." for name in self.whatsapp_problems()
        ]
        return problems


def _is_placeholder(value: SecretStr | None) -> bool:
    return value is not None and value.get_secret_value().strip() in ("", PLACEHOLDER)


def _weak_secret(name: str, value: SecretStr | None) -> str | None:
    """Why `value` is not a production secret, or None (an unset optional one is fine)."""
    if value is None:
        return None
    if _is_placeholder(value):
        return f"{name}: ainda vazio ou com o valor de exemplo; {_HOW_TO_GENERATE}."
    length = len(value.get_secret_value())
    if length < MIN_SECRET_LENGTH:
        return (
            f"{name}: tem {length} caracteres; use pelo menos {MIN_SECRET_LENGTH}; "
            f"{_HOW_TO_GENERATE}."
        )
    return None
