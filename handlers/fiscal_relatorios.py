"""Relatórios e documentos: month → NF-e / NFC-e → the PDF report with a CSV or XLSX of the
same notes, or DANFEs do mês (a ZIP of DANFE/DANFCE PDFs); each sent when ready.

    mes ──► modelo ──► tipo ──(report or DANFE job)──► tipo
     └──► ano ──► mes_do_ano ──► modelo      (Outro mês; see handlers/fiscal_meses.py)
"""

from __future__ import annotations

from typing import Literal

from domain.fiscal import Modelo, Situacao
from domain.money import format_brl
from domain.text import fill
from handlers import texts
from handlers.core import Answer, Ctx, Data, Flow, Goto, Retry, Stay, Step, chosen, nav, screen
from handlers.fiscal_emitidos import (
    WORDS,
    client_name,
    file_base,
    model_label,
    model_question,
    picked_model,
)
from handlers.fiscal_meses import ask_month_for, month_label, other_month_steps
from services import clients, fiscal_documents, fiscal_exports
from services.fiscal_exports import Export, Notice, Recipient
from services.fiscal_prepare import TipoNota
from services.messages import Body, Choice, Text

ICON = "📊"
WITH_CSV = Choice("r:csv", texts.RELATORIO_CSV)
WITH_XLSX = Choice("r:xlsx", texts.RELATORIO_XLSX)
DANFES = Choice("r:danfe", texts.DANFES_DO_MES)


def _counts(ctx: Ctx, data: Data) -> fiscal_documents.MonthCounts:
    return fiscal_documents.month_counts(
        ctx.uow,
        ctx.principal,
        int(data["cid"]),
        tipo=TipoNota.EMITIDA,
        modelo=Modelo(data["mod"]),
        competencia=str(data["comp"]),
    )


def ask_model(ctx: Ctx, data: Data) -> Text:
    """Ask NF-e or NFC-e for the chosen month."""
    return model_question(ctx, data, ICON, texts.RELATORIOS_FEATURE)


def answer_model(ctx: Ctx, data: Data, body: Body) -> Answer:
    """Go on to the kind of document, unless the month has no note of that model."""
    modelo = picked_model(body)
    if modelo is None:
        return Retry(texts.USE_BUTTONS)
    counts = _counts(ctx, {**data, "mod": modelo.value})
    if counts.total == 0:
        return Stay(
            texts.REPORT_EMPTY.format(
                modelo=model_label(modelo),
                name=client_name(ctx, data),
                mes=month_label(data["comp"]),
            )
        )
    return Goto("tipo", {"mod": modelo.value})


def ask_kind(ctx: Ctx, data: Data) -> Text:
    """Summarize the month and offer the report (with CSV or XLSX) or the DANFEs."""
    counts = _counts(ctx, data)
    detalhe = ", ".join(
        fill(texts.REPORT_DETAIL, n=n, situacao=situacao.label)
        for situacao, n in counts.quantidade.items()
        if n
    )
    text = fill(
        texts.ASK_REPORT_KIND,
        name=client_name(ctx, data),
        modelo=model_label(Modelo(data["mod"])),
        mes=month_label(data["comp"]),
        total=counts.total,
        detalhe=detalhe,
        valor=format_brl(counts.valor[Situacao.AUTORIZADA]),
    )
    return screen(text, [WITH_CSV], [WITH_XLSX], [DANFES], nav(cancel=False, menu=True))


def answer_kind(ctx: Ctx, data: Data, body: Body) -> Answer:
    """Start the report or the DANFEs; they arrive as documents when ready."""
    choice = chosen(body)
    if choice not in (WITH_CSV.id, WITH_XLSX.id, DANFES.id):
        return Retry(texts.USE_BUTTONS)
    card = clients.open_management(ctx.uow, ctx.principal, int(data["cid"]))
    modelo, competencia = Modelo(data["mod"]), str(data["comp"])
    mes = month_label(competencia)
    tag = fiscal_exports.model_tag(modelo)
    titulo = texts.REPORT_TITLE.format(name=card.razao_social, modelo=model_label(modelo), mes=mes)
    to = Recipient.of(ctx.event)
    total = _counts(ctx, data).total
    if choice == DANFES.id:
        export = Export(
            card.id,
            TipoNota.EMITIDA,
            modelo,
            competencia,
            titulo,
            file_base(card, competencia, "DANFEs", tag),
        )
        # The job's factory puts the notice (and "enviando documento…") in the outbox first.
        notice = Notice(fill(texts.GENERATING_DANFES, notas=total, mes=mes), total)
        job = fiscal_exports.danfe_zip_job(
            ctx.uow, ctx.principal, export, to, WORDS, notice=notice, options=ctx.config.exports
        )
        return Goto("tipo", jobs=[job])
    export = Export(
        card.id,
        TipoNota.EMITIDA,
        modelo,
        competencia,
        titulo,
        file_base(card, competencia, tag, "relatorio"),
    )
    formato: Literal["csv", "xlsx"] = "csv" if choice == WITH_CSV.id else "xlsx"
    job = fiscal_exports.report_job(
        ctx.uow,
        ctx.principal,
        export,
        (card.razao_social, card.documento),
        formato,
        to,
        WORDS,
        notice=Notice(texts.GENERATING_REPORT.format(mes=mes), total),
        options=ctx.config.exports,
    )
    return Goto("tipo", jobs=[job])


RELATORIOS_FLOW = Flow(
    "relatorios",
    {
        "mes": ask_month_for(ICON, texts.RELATORIOS_FEATURE),
        **other_month_steps(ICON, texts.RELATORIOS_FEATURE),
        "modelo": Step(ask_model, answer_model),
        "tipo": Step(ask_kind, answer_kind),
    },
)
