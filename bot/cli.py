"""`revendabot` — the operator's command line (serve, console, db, catalog, admin, demo)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO, Any

import click

from bot.app import App, build_app, configure_logging
from bot.settings import Settings
from domain.clients import Role
from domain.errors import DomainError
from services import access
from services import catalog as catalog_service
from services.errors import ServiceError

SEED_CATALOG = Path(__file__).resolve().parent.parent / "storage" / "seed" / "catalog.json"


def _app(migrate: bool = True) -> App:
    settings = Settings()
    configure_logging(settings.log_level)
    app = build_app(settings)
    context = click.get_current_context(silent=True)
    if context is not None:
        context.call_on_close(app.close)
    if migrate:
        app.migrate()
    return app


def _deep_link(settings: Settings, code: str) -> str:
    bot = settings.telegram_bot_username or "SEU_BOT"
    return f"https://t.me/{bot}?start={code}"


class CommandError(click.ClickException):
    """A refusal the operator can act on, shown in Portuguese on stderr (exit code 1)."""

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"Erro: {self.format_message()}", file=file or sys.stderr)


def _fail(exc: DomainError | ServiceError) -> None:
    message = getattr(exc, "message", str(exc))
    raise CommandError(str(message)) from exc


@click.group()
def main() -> None:
    """RevendaBot: o painel do gestor no Telegram, WhatsApp e console."""


@main.command()
@click.option("--host", default=None, help="Endereço do servidor web (padrão: HOST).")
@click.option("--port", default=None, type=int, help="Porta do servidor web (padrão: PORT).")
def serve(host: str | None, port: int | None) -> None:
    """Web app + Telegram + envio de mensagens (e o console, sem token e com terminal)."""
    from bot.serve import run_server

    run_server(_app(), host=host, port=port)


@main.command()
@click.option("--as", "identity", default="demo", show_default=True, help="Nome no console.")
@click.option(
    "--downloads",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("downloads"),
    show_default=True,
    help="Pasta onde os documentos recebidos são gravados.",
)
def console(identity: str, downloads: Path) -> None:
    """Conversar com o bot no terminal (ou rodar um roteiro pela entrada padrão)."""
    from bot.channels.console import ConsoleChannel

    app = _app()
    name = identity.split(":", 1)[1] if identity.startswith("console:") else identity
    channel = ConsoleChannel(name, app.conversation.handle, app.uow_factory, downloads)
    channel.run(sys.stdin, interactive=sys.stdin.isatty())
    app.close()


@main.group()
def db() -> None:
    """Banco de dados."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Aplicar as migrações (também feito por `serve`)."""
    _app()
    click.echo("Banco de dados atualizado.")


@main.group()
def catalog() -> None:
    """Catálogo de softwares e planos."""


@catalog.command("load")
@click.argument(
    "path", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=False
)
def catalog_load(path: Path | None) -> None:
    """Carregar (inserir ou atualizar) softwares e planos de um arquivo JSON."""
    app = _app()
    softwares, plans = catalog_service.load_catalog(app.uow_factory(), path or SEED_CATALOG)
    click.echo(f"Catálogo carregado: {softwares} software(s), {plans} plano(s).")


@main.group()
def admin() -> None:
    """Gestores e convites."""


@admin.command("create-gestor")
@click.option("--cnpj", required=True)
@click.option("--razao-social", required=True)
@click.option("--email", required=True)
def create_gestor(cnpj: str, razao_social: str, email: str) -> None:
    """Cadastrar um gestor e emitir o primeiro convite (papel gestor)."""
    app = _app()
    try:
        issued = access.create_gestor(
            app.uow_factory(),
            cnpj=cnpj,
            razao_social=razao_social,
            email=email,
            ttl=app.invite_ttl,
        )
    except (DomainError, ServiceError) as exc:
        _fail(exc)
        return
    _print_invite(app.settings, issued)


@admin.command("invite")
@click.option("--gestor", "gestor_cnpj", required=True, help="CNPJ do gestor.")
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.GESTOR.value)
def invite(gestor_cnpj: str, role: str) -> None:
    """Emitir mais um convite para a equipe de um gestor."""
    app = _app()
    try:
        issued = access.invite(
            app.uow_factory(), gestor_cnpj=gestor_cnpj, role=Role(role), ttl=app.invite_ttl
        )
    except (DomainError, ServiceError) as exc:
        _fail(exc)
        return
    _print_invite(app.settings, issued)


def _print_invite(settings: Settings, issued: access.IssuedInvite) -> None:
    expires = issued.expires_at.strftime("%d/%m/%Y %H:%M UTC")
    click.echo(f"Gestor: {issued.gestor_name} ({issued.gestor_cnpj})")
    click.echo(f"Papel: {issued.role.value}")
    click.echo(f"Código de convite (uso único, válido até {expires}): {issued.code}")
    click.echo(f"Link do Telegram: {_deep_link(settings, issued.code)}")
    click.echo(f"No WhatsApp ou no console, envie: /start {issued.code}")


@main.command()
def demo() -> None:
    """Criar o gestor de demonstração com ~30 clientes fictícios."""
    from bot.demo import CONSOLE_CONTADOR, CONSOLE_GESTOR, DEMO_NAME, seed_demo

    app = _app()
    result = seed_demo(app.uow_factory)
    if result.created:
        click.echo(f"Demonstração criada: {DEMO_NAME} com {result.clients} clientes.")
    else:
        click.echo(f"A demonstração já existe: {DEMO_NAME}.")
    click.echo(f"Entre como gestor:   revendabot console --as {CONSOLE_GESTOR.split(':')[1]}")
    click.echo(f"Entre como contador: revendabot console --as {CONSOLE_CONTADOR.split(':')[1]}")
