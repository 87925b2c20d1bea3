"""XMLs de fornecedores: Pendentes / Reconhecidas counts, paginated lists, one note with
Reconhecer and Baixar XML, Buscar mais notas (year, then month), a ZIP of the listed notes.

    inicio ──► lista ──► nota
       └──► ano ──► mes ──► lista

The list's filter is `f`: "p" pendentes, "r" reconhecidas, "m" one month (`comp`).

A note its issuer cancelled is listed with a ❌ mark and never counted as pending (nothing is
left to acknowledge); Reconhecer is not offered on it, and the service refuses it anyway.
"""

from __future__ import annotations

from datetime import UTC, datetime

from domain.documents import format_tax_id
from domain.fiscal import Situacao
from domain.fiscal.manifestacao import TipoManifestacao
from domain.money import format_brl
from domain.text import fill
from handlers import fiscal_manifestacao as manifestacao
from handlers import texts
from handlers.core import (
    Answer,
    Ctx,
    Data,
    Flow,
    Goto,
    Retry,
    Step,
    choice_arg,
    chosen,
    int_arg,
    nav,
    screen,
)
from handlers.fiscal_emitidos import WORDS, client_card, client_name, file_base
from handlers.fiscal_meses import month_label
from handlers.formatting import SAO_PAULO, date_br, datetime_br, note_date_br
from services import fiscal_documents, fiscal_exports
from services.fiscal_documents import DocumentSummary
from services.fiscal_exports import Export, Recipient
from services.fiscal_prepare import TipoNota
from services.messages import Body, Choice, Document, Text

PENDING = Choice("f:p", texts.PENDENTES)
ACKNOWLEDGED = Choice("f:r", texts.RECONHECIDAS)
SEARCH = Choice("f:busca", texts.BUSCAR_MAIS_NOTAS)
PREVIOUS = Choice("pg:prev", texts.ANTERIOR)
NEXT = Choice("pg:next", texts.PROXIMA)
ZIP = Choice("zip", texts.BAIXAR_ZIP)
ACKNOWLEDGE = Choice("nota:rec", texts.RECONHECER)
DOWNLOAD = Choice("nota:xml", texts.BAIXAR_XML)
YEARS_KEPT = 5  # XMLs are kept 5 years by law: older ones are not asked for here
XML_MIME = "application/xml"


def ask_overview(ctx: Ctx, data: Data) -> Text:
    """Show how many supplier notes are pending and acknowledged."""
    name = client_name(ctx, data)
    counts = fiscal_documents.supplier_counts(ctx.uow, ctx.principal, int(data["cid"]))
    text = fill(
        texts.FORNECEDORES_TEXT,
        name=name,
        pendentes=counts.pendentes,
        reconhecidas=counts.reconhecidas,
        canceladas=fill(texts.FORN_CANCELADAS, n=counts.canceladas) if counts.canceladas else "",
    )
    return screen(text, [PENDING, ACKNOWLEDGED], [SEARCH], nav(cancel=False, menu=True))


def answer_overview(ctx: Ctx, data: Data, body: Body) -> Answer:
    """Open a list, or start Buscar mais notas."""
    choice = chosen(body)
    if choice == SEARCH.id:
        return Goto("ano")
    if choice in (PENDING.id, ACKNOWLEDGED.id):
        return Goto("lista", {"f": choice_arg(choice, "f"), "comp": None, "pg": 1})
    return Retry(texts.USE_BUTTONS)


def _what(data: Data) -> str:
    """Which notes the list holds, in words ("notas pendentes", "notas de 10/2026")."""
    title = texts.FORN_TITLE[data["f"]]
    return title.format(mes=month_label(data["comp"])) if data.get("comp") else title


def _reconhecida(data: Data) -> bool | None:
    return {"p": False, "r": True}.get(data["f"])


def _emitente(note: DocumentSummary) -> str:
    return note.emitente_nome or format_tax_id(note.emitente_documento)


def _cancelada(note: DocumentSummary) -> bool:
    return note.situacao is Situacao.CANCELADA


def ask_list(ctx: Ctx, data: Data) -> Text:
    """Show one page of the filtered notes, a button per note, paging and the ZIP."""
    name = client_name(ctx, data)
    page = fiscal_documents.list_documents(
        ctx.uow,
        ctx.principal,
        int(data["cid"]),
        tipo=TipoNota.FORNECEDOR,
        competencia=data.get("comp"),
        reconhecida=_reconhecida(data),
        page=int(data.get("pg", 1)),
        # Anterior, Próxima, the ZIP, Voltar and Menu fit beside the notes in a short list
        page_size=ctx.event.capabilities.page_size(ctx.config.page_size, 5),
    )
    if page.total == 0:
        return screen(
            texts.FORN_LIST_EMPTY.format(name=name, what=_what(data)), nav(cancel=False, menu=True)
        )
    if page.page > page.pages:  # notes acknowledged meanwhile: show the last page
        data["pg"] = page.pages
        return ask_list(ctx, data)
    # The count is of the notes the title names; cancelled ones are listed but counted apart.
    header = fill(
        texts.FORN_LIST_HEADER,
        name=name,
        what=_what(data),
        total=page.total - page.canceladas,
        canceladas=(
            fill(texts.FORN_LIST_CANCELADAS, n=page.canceladas) if page.canceladas else ""
        ),
        page=page.page,
        pages=page.pages,
    )
    first = (page.page - 1) * ctx.event.capabilities.page_size(ctx.config.page_size, 5)
    lines = [
        texts.FORN_LINE.format(
            n=first + i + 1,
            emitente=_emitente(note),
            numero=note.numero,
            data=note_date_br(note.emitida_em),
            valor=format_brl(note.valor),
        )
        + (texts.FORN_LINE_CANCELADA if _cancelada(note) else "")
        for i, note in enumerate(page.items)
    ]
    rows = [
        [
            Choice(
                f"n:{note.chave}",
                (texts.FORN_BUTTON_CANCELADA if _cancelada(note) else texts.FORN_BUTTON).format(
                    numero=note.numero, emitente=_emitente(note)
                ),
            )
        ]
        for note in page.items
    ]
    paging = [b for b, show in ((PREVIOUS, page.page > 1), (NEXT, page.page < page.pages)) if show]
    text = "\n".join([header, "", *lines, "", texts.FORN_LIST_HINT])
    return screen(text, *rows, paging, [ZIP], nav(cancel=False, menu=True))


def answer_list(ctx: Ctx, data: Data, body: Body) -> Answer:
    """Open a note, turn the page, or send the ZIP of every listed note."""
    choice = chosen(body)
    if choice == PREVIOUS.id:
        return Goto("lista", {"pg": max(1, int(data.get("pg", 1)) - 1)})
    if choice == NEXT.id:
        return Goto("lista", {"pg": int(data.get("pg", 1)) + 1})
    if choice == ZIP.id:
        return _zip(ctx, data)
    chave = choice_arg(choice, "n")
    if chave is None:
        return Retry(texts.USE_BUTTONS)
    # The chave came from a button: checked against the client's notes now.
    fiscal_documents.supplier_note(ctx.uow, ctx.principal, int(data["cid"]), chave)
    return Goto("nota", {"ch": chave})


def _zip(ctx: Ctx, data: Data) -> Answer:
    card = client_card(ctx, data)
    name = card.razao_social
    what = _what(data)
    competencia = data.get("comp")
    parts = [competencia, "fornecedores"] if competencia else ["fornecedores", _slug(data)]
    export = Export(
        client_id=int(data["cid"]),
        tipo=TipoNota.FORNECEDOR,
        modelo=None,
        competencia=competencia,
        reconhecida=_reconhecida(data),
        titulo=texts.FORN_ZIP_TITLE.format(name=name, what=what),
        base=file_base(card, *parts),
    )
    total = fiscal_documents.list_documents(
        ctx.uow,
        ctx.principal,
        export.client_id,
        tipo=TipoNota.FORNECEDOR,
        competencia=competencia,
        reconhecida=export.reconhecida,
        page_size=1,
        com_resumos=False,  # a summary has no XML: it is not in the ZIP
    ).total
    # The job's factory puts the notice (and "enviando documento…") in the outbox first.
    job = fiscal_exports.xml_zip_job(
        ctx.uow,
        ctx.principal,
        export,
        Recipient.of(ctx.event),
        WORDS,
        notice=fiscal_exports.Notice(fill(texts.GENERATING_FORN_ZIP, total=total), total),
        options=ctx.config.exports,
    )
    return Goto("lista", jobs=[job])


def _slug(data: Data) -> str:
    return "pendentes" if data["f"] == "p" else "reconhecidas"


def ask_note(ctx: Ctx, data: Data) -> Text:
    """Show one supplier note; Reconhecer while it is pending (never once it is cancelled)."""
    note = fiscal_documents.supplier_note(ctx.uow, ctx.principal, int(data["cid"]), data["ch"])
    cancelada_em = (
        texts.FORN_CANCELADA_EM.format(data=date_br(note.cancelada_em))
        if note.cancelada_em is not None
        else ""
    )
    if note.reconhecida_em is None:
        status = (
            texts.FORN_CANCELADA.format(quando=cancelada_em)
            if _cancelada(note)
            else texts.FORN_PENDENTE
        )
    else:
        who = note.reconhecida_por or ""
        status = texts.FORN_RECONHECIDA.format(
            quando=datetime_br(note.reconhecida_em),
            quem=texts.FORN_VOCE if who == ctx.principal.identity_key else who,
        )
        if _cancelada(note):
            status += texts.FORN_CANCELADA_DEPOIS.format(quando=cancelada_em)
    text = texts.FORN_NOTE.format(
        emitente=note.emitente_nome or "",
        doc=format_tax_id(note.emitente_documento),
        numero=note.numero,
        serie=note.serie,
        data=note_date_br(note.emitida_em),
        valor=format_brl(note.valor),
        situacao=note.situacao.label,
        chave=note.chave,
        status=status,
    )
    if note.resumo:
        text += texts.FORN_RESUMO
    if not _cancelada(note):
        text += manifestacao.prazo_line(note)
    text += manifestacao.eventos_lines(ctx, int(data["cid"]), note.chave)
    pending = note.reconhecida_em is None and not _cancelada(note)
    # A summary's blob is the resNFe, not the note: nothing to download until the XML arrives.
    download = [] if note.resumo else [DOWNLOAD]
    actions = [ACKNOWLEDGE, *download] if pending else download
    manifest = manifestacao.buttons() if ctx.principal.can_manage and not _cancelada(note) else []
    if note.resumo and ctx.principal.can_manage and not _cancelada(note):
        manifest.append([manifestacao.BAIXAR_COMPLETO])
    return screen(text, actions, *manifest, nav(cancel=False, menu=True))


def answer_note(ctx: Ctx, data: Data, body: Body) -> Answer:
    """Reconhecer (who and when are recorded) or send the XML."""
    choice = chosen(body)
    cid, chave = int(data["cid"]), str(data["ch"])
    tipo = manifestacao.chosen_event(choice)
    if tipo is not None:
        ctx.principal.require_manage()
        return manifestacao.start(tipo)
    if choice == ACKNOWLEDGE.id:
        note = fiscal_documents.recognize(ctx.uow, ctx.principal, cid, chave)
        done = texts.RECONHECIDA_OK.format(numero=note.numero, emitente=_emitente(note))
        if manifestacao.offer_confirmation(ctx, cid, chave):
            # the local acknowledgement is done; the same tap may also confirm at SEFAZ
            return Goto("manif_ok", {"mf": TipoManifestacao.CONFIRMACAO.value, "just": None,
                                     "rec": True}, before=[Text(done)])  # fmt: skip
        return Goto("nota", before=[Text(done)])
    if choice == manifestacao.BAIXAR_COMPLETO.id:
        return manifestacao.ask_full_xml(ctx, cid, chave)
    if choice == DOWNLOAD.id:
        xml = fiscal_documents.get_xml(
            ctx.uow, ctx.principal, cid, chave, tipo=TipoNota.FORNECEDOR
        )
        return Goto("nota", before=[Document(xml.nome, XML_MIME, xml.data)])
    return Retry(texts.USE_BUTTONS)


def ask_year(ctx: Ctx, data: Data) -> Text:
    """Offer this year and the four before it."""
    year = datetime.now(UTC).astimezone(SAO_PAULO).year
    years = [Choice(f"ano:{y}", str(y)) for y in range(year, year - YEARS_KEPT, -1)]
    text = texts.ASK_YEAR.format(name=client_name(ctx, data))
    return screen(text, years[:3], years[3:], nav(cancel=False, menu=True))


def answer_year(ctx: Ctx, data: Data, body: Body) -> Answer:
    """Keep the year and ask the month."""
    year = int_arg(chosen(body), "ano")
    if year is None:
        return Retry(texts.USE_BUTTONS)
    return Goto("mes", {"ano": year})


def ask_month(ctx: Ctx, data: Data) -> Text:
    """Offer the year's months (up to the current one)."""
    now = datetime.now(UTC).astimezone(SAO_PAULO)
    year = int(data["ano"])
    last = now.month if year == now.year else 12
    months = [Choice(f"mm:{m}", texts.MESES[m - 1]) for m in range(1, last + 1)]
    rows = [months[i : i + 3] for i in range(0, len(months), 3)]
    text = texts.ASK_MONTH_OF_YEAR.format(name=client_name(ctx, data), ano=year)
    return screen(text, *rows, nav(cancel=False, menu=True))


def answer_month(ctx: Ctx, data: Data, body: Body) -> Answer:
    """List the supplier notes of that month."""
    month = int_arg(chosen(body), "mm")
    if month is None or not 1 <= month <= 12:
        return Retry(texts.USE_BUTTONS)
    return Goto("lista", {"f": "m", "comp": f"{int(data['ano'])}-{month:02d}", "pg": 1})


FORNECEDORES_FLOW = Flow(
    "fornecedores",
    {
        "inicio": Step(ask_overview, answer_overview),
        "lista": Step(ask_list, answer_list),
        "nota": Step(ask_note, answer_note),
        "manif_just": Step(
            manifestacao.ask_justificativa, manifestacao.answer_justificativa, accepts_text=True
        ),
        "manif_ok": Step(manifestacao.ask_confirm, manifestacao.answer_confirm),
        "ano": Step(ask_year, answer_year),
        "mes": Step(ask_month, answer_month),
    },
)
