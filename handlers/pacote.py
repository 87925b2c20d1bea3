"""Pacote do mês in the chat: the gestor's one message per month, and where its buttons lead.

- `render_ready` words the `pacote.pronto` notice: counts, `Baixar de um cliente` and
  `Baixar todos` (push ids `go:pacote:AAAAMM` / `go:pacotes:AAAAMM`, handlers/push.py);
- the `pacote` flow lists the month's packages a page at a time; a client's button sends its
  package (a signed link when it is larger than the channel takes); `Baixar todos` asks for
  the ZIP of ZIPs, a durable job split at the channel's upload limit.
The whole office downloads (a contador too); the services keep it to the office's packages.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from domain.pacote import competencia_label
from domain.text import fill
from handlers import texts
from handlers.core import (
    GO,
    Answer,
    Ctx,
    Data,
    Flow,
    Goto,
    Retry,
    Step,
    chosen,
    int_arg,
    nav,
    screen,
)
from services.fiscal_exports import ZIP_MIME
from services.job_progress import Recipient
from services.messages import Body, Choice, Document, Outbound, Text, UrlButton
from services.pacote import chat

ALL = Choice("pk:todos", texts.PACOTE_ALL)
PREVIOUS = Choice("pg:prev", texts.ANTERIOR)
NEXT = Choice("pg:next", texts.PROXIMA)


def go_pacote(competencia: str) -> str:
    """The id of `Baixar de um cliente` from the notice: the month's list, from anywhere."""
    return f"{GO}pacote:{competencia.replace('-', '')}"


def go_pacotes(competencia: str) -> str:
    """The id of `Baixar todos` from the notice."""
    return f"{GO}pacotes:{competencia.replace('-', '')}"


def render_ready(ctx: Ctx, data: dict[str, Any]) -> Sequence[Outbound]:
    """'Pacotes de 11/2026 prontos: 37 clientes, 12.480 notas', with the two buttons."""
    competencia = str(data["competencia"])
    text = fill(
        texts.PACOTE_READY,
        mes=competencia_label(competencia),
        clientes=int(data["clientes"]),
        notas=int(data["notas"]),
    )
    buttons = (
        (Choice(go_pacote(competencia), texts.PACOTE_ONE),),
        (Choice(go_pacotes(competencia), texts.PACOTE_ALL),),
    )
    return [Text(f"{text}\n\n{texts.PACOTE_READY_HINT}", buttons)]


def ask_list(ctx: Ctx, data: Data) -> Text:
    """Show one page of the month's packages, a button per client, and Baixar todos."""
    found = chat.month_page(ctx.uow, ctx.principal, str(data["c"]), int(data.get("p", 1)))
    mes = competencia_label(found.competencia)
    if not found.items:
        return screen(texts.PACOTE_NONE.format(mes=mes), nav(back=False, cancel=False, menu=True))
    text = fill(texts.PACOTE_LIST, mes=mes, clientes=found.clientes, notas=found.notas)
    rows: list[list[Choice]] = [
        [Choice(f"pk:{item.id}", fill(texts.PACOTE_ITEM, cliente=item.cliente, notas=item.notas))]
        for item in found.items
    ]
    paging = []
    if found.page > 1:
        paging.append(PREVIOUS)
    if found.page < found.pages:
        paging.append(NEXT)
    if found.pages > 1:
        text += "\n" + fill(texts.PACOTE_LIST_PAGE, page=found.page, pages=found.pages)
    return screen(text, *rows, paging, [ALL], nav(back=False, cancel=False, menu=True))


def answer_list(ctx: Ctx, data: Data, body: Body) -> Answer:
    """Send one client's package, turn the page, or ask for all of them."""
    choice = chosen(body)
    page = int(data.get("p", 1))
    if choice == NEXT.id:
        return Goto("lista", {"p": page + 1})
    if choice == PREVIOUS.id:
        return Goto("lista", {"p": max(1, page - 1)})
    if choice == ALL.id:
        return _all(ctx, data)
    pacote_id = int_arg(choice, "pk")
    if pacote_id is None:
        return Retry(texts.USE_BUTTONS)
    found = chat.package_file(ctx.uow, ctx.principal, pacote_id)
    return Goto("lista", before=[_package(ctx, found)])


def _package(ctx: Ctx, found: chat.PacoteFile) -> Outbound:
    """The package as a document, or a signed link when the channel cannot take its size."""
    caption = texts.PACOTE_CAPTION.format(
        mes=competencia_label(found.competencia), cliente=found.cliente
    )
    limit = ctx.config.exports.upload_limit(ctx.event.channel)
    links = ctx.config.pacote.links
    if found.file.size <= limit or links is None:
        return Document(found.nome, ZIP_MIME, caption=caption, file=found.file)
    url, _ = links.link(found.file, found.nome, ZIP_MIME, datetime.now(UTC))
    button = UrlButton(texts.PACOTE_LINK.format(nome=found.nome), url)
    return Text(texts.PACOTE_TOO_BIG.format(nome=found.nome), ((button,),))


def _all(ctx: Ctx, data: Data) -> Answer:
    competencia = str(data["c"])
    words = chat.AllWords(
        caption=texts.PACOTE_ALL_CAPTION,
        part=texts.ZIP_PART,
        too_big=texts.PACOTE_ALL_TOO_BIG,
        failed=texts.EXPORT_FAILED,
    )
    request = chat.all_packages_job(
        ctx.uow, ctx.principal, competencia, Recipient.of(ctx.event), words
    )
    found = chat.month_page(ctx.uow, ctx.principal, competencia)
    notice = fill(
        texts.PACOTE_GENERATING_ALL, mes=competencia_label(competencia), clientes=found.clientes
    )
    return Goto("lista", before=[Text(notice)], jobs=[request])


PACOTE_FLOW = Flow("pacote", {"lista": Step(ask_list, answer_list)})
