"""`revendabot` — the operator's command line (serve, console, db, catalog, admin, demo)."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from bot.cli_support import CommandError
from bot.cli_support import command_app as _app
from bot.import_xml import import_xml
from bot.settings import Settings
from domain.clients import Role
from domain.errors import DomainError
from handlers.formatting import datetime_br
from services import access
from services import catalog as catalog_service
from services.errors import ServiceError

if TYPE_CHECKING:
    from bot.app import App

SEED_CATALOG = Path(__file__).resolve().parent.parent / "storage" / "seed" / "catalog.json"


def _deep_link(settings: Settings, code: str) -> str:
    bot = settings.telegram_bot_username or "SEU_BOT"
    return f"https://t.me/{bot}?start={code}"


def _fail(exc: DomainError | ServiceError) -> None:
    message = getattr(exc, "message", str(exc))
    raise CommandError(str(message)) from exc


@click.group()
def main() -> None:
    """RevendaBot: o painel do gestor no Telegram, WhatsApp e console."""


@main.command()
@click.option("--host", default=None, help="Endereço do servidor web (padrão: HOST).")
@click.option("--port", default=None, type=int, help="Porta do servidor web (padrão: PORT).")
@click.option(
    "--workers",
    default=None,
    type=click.IntRange(1, 64),
    help="Quantos trabalhos longos (ZIPs, relatórios, DANFEs) em paralelo "
    "(padrão: JOB_WORKERS, ou um por CPU até 4).",
)
def serve(host: str | None, port: int | None, workers: int | None) -> None:
    """Web app + Telegram + envio de mensagens (e o console, sem token e com terminal)."""
    from bot.serve import run_server

    overrides = {"job_workers": workers} if workers is not None else {}
    run_server(_app(background_jobs=True, overrides=overrides), host=host, port=port)


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
    channel = ConsoleChannel(
        name, app.conversation.handle, app.uow_factory, downloads, files=app.files
    )
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
    # Brasília time, as the bot shows every date: the operator passes the code on to a gestor.
    expires = f"{datetime_br(issued.expires_at)} (horário de Brasília)"
    click.echo(f"Gestor: {issued.gestor_name} ({issued.gestor_cnpj})")
    click.echo(f"Papel: {issued.role.value}")
    click.echo(f"Código de convite (uso único, válido até {expires}): {issued.code}")
    click.echo(f"Link do Telegram: {_deep_link(settings, issued.code)}")
    click.echo(f"No WhatsApp ou no console, envie: /start {issued.code}")


@main.command()
@click.option(
    "--fresh", is_flag=True, help="Apagar o escritório de demonstração e criá-lo de novo."
)
def demo(fresh: bool) -> None:
    """Criar o escritório de demonstração: 30 clientes, notas, certificados e uma fatura."""
    from bot.demo import CONSOLE_CONTADOR, CONSOLE_GESTOR, DEMO_NAME, seed_demo

    app = _app()
    result = seed_demo(app, fresh=fresh)
    if result.created:
        click.echo(
            f"Demonstração criada: {DEMO_NAME} com {result.clients} clientes "
            f"e {result.notes} notas fiscais."
        )
    else:
        click.echo(f"A demonstração já existe: {DEMO_NAME} (use --fresh para recriá-la).")
    if result.reminders:
        click.echo(f"{result.reminders} lembrete(s) de certificado esperando no console.")
    click.echo(f"Entre como gestor:   revendabot console --as {CONSOLE_GESTOR.split(':')[1]}")
    click.echo(f"Entre como contador: revendabot console --as {CONSOLE_CONTADOR.split(':')[1]}")


# --- encryption key rotation ---


@main.group()
def keys() -> None:
    """Chaves de criptografia dos certificados (ENCRYPTION_KEYS)."""


@keys.command("rotate")
def keys_rotate() -> None:
    """Recriptografar todos os certificados (PFX e senha) com a primeira chave de ENCRYPTION_KEYS.

    Para trocar de chave: coloque a nova na frente (NOVA,ANTIGA), rode este comando e só então
    retire a antiga.
    """
    from bot.crypto import secret_box
    from services.certificates import rotate_keys
    from services.crypto import BadKeys

    try:
        app = _app()
        count = rotate_keys(app.uow_factory(), secret_box(app.settings))
    except BadKeys as exc:
        raise CommandError(str(exc)) from None
    except ServiceError as exc:
        _fail(exc)
        return
    click.echo(f"{count} certificado(s) recriptografado(s) com a chave mais nova.")


main.add_command(import_xml)  # bulk XML import (bot/import_xml.py)


# --- billing (faturas) ---
@main.group()
def billing() -> None:
    """Faturas dos gestores: fechamento do mês e baixa de pagamento."""


@billing.command("close")
@click.option(
    "--competencia",
    default=None,
    help="Mês a fechar, AAAA-MM (padrão: o mês anterior, horário de São Paulo).",
)
def billing_close(competencia: str | None) -> None:
    """Criar a fatura de cada gestor (idempotente: rodar de novo não duplica)."""
    from datetime import UTC, datetime

    from domain.money import format_brl
    from services import billing as billing_service

    app = _app()
    now = datetime.now(UTC)
    try:
        month = (
            billing_service.check_competencia(competencia, now)
            if competencia
            else billing_service.previous_competencia(now)
        )
        result = billing_service.close_month(
            app.uow_factory, month, due_day=app.settings.billing_due_day, now=now
        )
    except (DomainError, ServiceError) as exc:
        _fail(exc)
        return
    click.echo(
        f"Competência {result.competencia}: {result.created} fatura(s) criada(s) "
        f"({format_brl(result.total)}), {result.already_closed} já existia(m), "
        f"{result.nothing_to_bill} gestor(es) sem nada a cobrar."
    )


@billing.command("paid")
@click.argument("fatura_id", type=int)
def billing_paid(fatura_id: int) -> None:
    """Dar baixa (marcar como paga) na fatura FATURA_ID."""
    from domain.money import format_brl
    from services import billing as billing_service

    app = _app()
    try:
        payment = billing_service.mark_paid(app.uow_factory(), fatura_id=fatura_id, via="operador")
    except (DomainError, ServiceError) as exc:
        _fail(exc)
        return
    what = "marcada como paga" if payment.newly_paid else "já estava paga; nada mudou"
    click.echo(
        f"Fatura {payment.fatura_id} ({payment.competencia}, {format_brl(payment.total)}): {what}."
    )


@admin.command("signups")
def admin_signups() -> None:
    """Listar os cadastros de /cadastro que não chegaram a nenhum gestor."""
    from domain.contacts import format_phone
    from domain.documents import format_tax_id
    from services import signups

    app = _app()
    found = signups.list_sign_ups(app.uow_factory())
    if not found:
        click.echo("Nenhum cadastro sem gestor.")
        return
    click.echo(f"{len(found)} cadastro(s) sem gestor:")
    for item in found:
        when = item.created_at.strftime("%d/%m/%Y %H:%M UTC")
        contador = item.email_contador or "(não informado)"
        click.echo(
            f"#{item.id} {when} · {format_tax_id(item.documento)} · {item.razao_social} · "
            f"{item.email} · {format_phone(item.telefone)} · {item.plan} · contador: {contador}"
        )


def _run_pacote(app: App, now: datetime, competencia: str | None, documento: str | None) -> None:
    """Queue the month's packages and build them here, now (the jobs are durable: a crash
    leaves them for `serve`'s workers)."""
    from domain.documents import normalize
    from services import pacote

    try:
        swept = pacote.sweep_pacote(
            app.uow_factory,
            now=now,
            dia=app.settings.pacote_dia,
            competencia=competencia,
            documento=normalize(documento) if documento else None,
        )
    except (DomainError, ServiceError) as exc:
        _fail(exc)
        return
    if app.jobs is not None:
        app.jobs.run_now(swept.job_ids)
    click.echo(f"pacote {swept.competencia}: {swept.queued} pacote(s) na fila e gerado(s).")


# --- reminders and the scheduler ---
@main.group()
def scheduler() -> None:
    """Lembretes automáticos (certificados, faturas, links, resumo de pendências)."""


@scheduler.command("run-once")
@click.argument(
    "job",
    type=click.Choice(["certificados", "faturas", "links", "limpeza", "pendencias", "pacote"]),
)
@click.option(
    "--now",
    "now_text",
    default=None,
    help="Rodar como se fosse este momento (ISO 8601; sem fuso = horário de São Paulo).",
)
@click.option(
    "--competencia",
    default=None,
    help="pacote: o mês (AAAA-MM) a empacotar, em qualquer dia (padrão: o mês anterior, "
    "só no dia PACOTE_DIA).",
)
@click.option("--client", "documento", default=None, help="pacote: só este cliente (CNPJ/CPF).")
def scheduler_run_once(
    job: str, now_text: str | None, competencia: str | None, documento: str | None
) -> None:
    """Rodar a tarefa JOB agora (idempotente: o que já foi avisado não se repete)."""
    from datetime import UTC, datetime

    from bot.scheduler import options_from, retention_from
    from services import scheduler as scheduler_service
    from services.reminders import SAO_PAULO

    app = _app()
    if now_text is None:
        now = datetime.now(UTC)
    else:
        try:
            parsed = datetime.fromisoformat(now_text)
        except ValueError:
            raise CommandError(f"--now inválido: {now_text} (use AAAA-MM-DDTHH:MM)") from None
        now = parsed if parsed.tzinfo else parsed.replace(tzinfo=SAO_PAULO)
    if job == scheduler_service.PACOTE_JOB:
        _run_pacote(app, now, competencia, documento)
        return
    try:
        result = scheduler_service.run_job(
            app.uow_factory,
            job,
            now=now,
            options=options_from(app.settings),
            retention=retention_from(app.settings, app.files),
        )
    except (DomainError, ServiceError) as exc:
        _fail(exc)
        return
    if result is None:  # only with a lease holder; run-once has none
        return
    if job == scheduler_service.RETENTION_JOB:
        click.echo(f"{job}: {result.removed} registro(s) antigo(s) apagado(s).")
        return
    click.echo(
        f"{job}: {result.reminders} lembrete(s) novo(s), {result.notices} aviso(s) publicado(s)"
        f" ({result.digests} resumo(s)), {result.emails} e-mail(s) na fila."
    )


# --- SEFAZ ---
@main.group()
def sefaz() -> None:
    """Conexão com a SEFAZ: captura de notas de fornecedores."""


@sefaz.command("capturar")
@click.option("--client", "documento", default=None, help="Só o cliente com este CNPJ.")
def sefaz_capturar(documento: str | None) -> None:
    """Buscar agora as notas de fornecedores na SEFAZ (respeitando as esperas da NT 2014.002)."""
    from datetime import UTC, datetime

    from bot.scheduler import holder_name
    from bot.sefaz import capture_runner
    from domain.documents import normalize
    from services.reminders import SAO_PAULO

    app = _app()
    run = capture_runner(app.settings, app.uow_factory)
    report = run(
        now=datetime.now(UTC),
        holder=holder_name(),
        documento=normalize(documento) if documento else None,
    )
    if not report.clientes:
        click.echo(
            "Nenhum cliente com captura ligada e certificado válido"
            + (f" com o CNPJ {documento}." if documento else ".")
        )
        return
    for got in report.clientes:
        proxima = (
            got.proxima.astimezone(SAO_PAULO).strftime("%d/%m/%Y %H:%M") if got.proxima else "-"
        )
        situacao = got.erro or got.pulada or f"cStat {got.c_stat} {got.x_motivo}"
        if got.por_chave:
            situacao += f"; XML pedido por chave: {got.baixados_por_chave} de {got.por_chave}"
        click.echo(
            f"{got.nome} ({got.cnpj}): {got.notas} nota(s) completa(s), {got.resumos} resumo(s), "
            f"{got.eventos} evento(s), {got.recusados} recusado(s); {got.consultas} consulta(s); "
            f"{situacao}; próxima consulta: {proxima}"
        )
