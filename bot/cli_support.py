"""What every `revendabot` command shares: its settings, its app, and refusals in Portuguese.

Kept apart from bot/cli.py so a command module (e.g. bot/import_xml.py) can use them without
importing the command group that registers it.
"""

from __future__ import annotations

import sys
from typing import IO, Any

import click
from pydantic import ValidationError

from bot.app import App, build_app, configure_logging
from bot.settings import ProductionSettingsError, Settings


def command_app(
    migrate: bool = True,
    *,
    background_jobs: bool = False,
    overrides: dict[str, Any] | None = None,
) -> App:
    """The app for a command; `serve` runs long chat work in the background. `overrides`:
    settings given on the command line (they win over the environment)."""
    settings = load_settings()
    if overrides:
        settings = settings.model_copy(update=overrides)
    configure_logging(settings.log_level, settings.log_format)
    app = build_app(settings, background_jobs=background_jobs)
    context = click.get_current_context(silent=True)
    if context is not None:
        context.call_on_close(app.close)
    if migrate:
        app.migrate()
    return app


class CommandError(click.ClickException):
    """A refusal the operator can act on, shown in Portuguese on stderr (exit code 1)."""

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"Erro: {self.format_message()}", file=file or sys.stderr)


class SettingsRefused(CommandError):
    """Settings that cannot run: every problem listed at once, no traceback, exit code 2."""

    exit_code = 2

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(self.format_message(), file=file or sys.stderr)


def load_settings() -> Settings:
    """The settings, or a `SettingsRefused` that says each problem in Portuguese."""
    try:
        return Settings()
    except ValidationError as exc:
        raise SettingsRefused(_describe_settings_errors(exc)) from None


def _describe_settings_errors(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, ProductionSettingsError):
            lines.append(str(cause))
            continue
        name = "_".join(str(part) for part in error["loc"]).upper() or "configuração"
        lines.append(f"Configuração inválida: {name}: {error['msg']}")
    return "\n".join(lines)
