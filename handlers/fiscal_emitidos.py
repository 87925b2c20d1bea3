"""XMLs emitidos: a month → NF-e / NFC-e → the month's ZIP, sent when ready.

    mes ──► modelo ──(ZIP job)──► modelo
     └──► ano ──► mes_do_ano ──► modelo      (Outro mês; see handlers/fiscal_meses.py)

The month and model pickers are shared with Relatórios e documentos.
"""

from __future__ import annotations

from domain.fiscal import Modelo
from domain.text import fill
from handlers import texts
from handlers.core import Answer, Ctx, Data, Flow, Goto, Retry, Stay, Step, chosen, nav, screen
from handlers.fiscal_meses import ask_month_for, month_label, other_month_steps
from services import clients, fiscal_documents, fiscal_exports
from services.clients import ClientCard
from services.fiscal_exports import Export, Notice, Recipient, Words
from services.fiscal_prepare import TipoNota
from services.messages import Body, Choice, Text

MODELS = {
    "mod:55": (Choice("mod:55", texts.NFE), Modelo.NFE),
    "mod:65": (Choice("mod:65", texts.NFCE), Modelo.NFCE),
}
ICON = "📦"

WORDS = Words(
    zip_caption=texts.ZIP_CAPTION,
    part=texts.ZIP_PART,
    empty=texts.EXPORT_EMPTY,
    failed=texts.EXPORT_FAILED,
    report_caption=texts.REPORT_CAPTION,
    table_caption=texts.TABLE_CAPTION,
    danfe_caption=texts.DANFE_CAPTION,
    danfe_skipped=texts.DANFE_SKIPPED,
    progress=texts.EXPORT_PROGRESS,
    finished=texts.EXPORT_FINISHED,
    chart_caption=texts.CHART_CAPTION,
    danfe_progress=texts.DANFE_PROGRESS,
    report_progress=texts.REPORT_PROGRESS,
    report_finished=texts.REPORT_FINISHED,
)


def model_label(modelo: Modelo) -> str:
    return texts.NFE if modelo is Modelo.NFE else texts.NFCE


def client_card(ctx: Ctx, data: Data) -> ClientCard:
    """The client, checking role and tenancy again (the id sits in the flow data)."""
    return clients.open_management(ctx.uow, ctx.principal, int(data["cid"]))


def client_name(ctx: Ctx, data: Data) -> str:
    return client_card(ctx, data).razao_social


def file_base(card: ClientCard, *parts: str) -> str:
    """Files are named after the short name people use (nome fantasia) when there is one."""
    return fiscal_exports.file_base(card.nome_fantasia or card.razao_social, *parts)


def model_question(ctx: Ctx, data: Data, icon: str, feature: str) -> Text:
    text = texts.ASK_MODEL.format(
        icon=icon, feature=feature, name=client_name(ctx, data), mes=month_label(data["comp"])
    )
    buttons = [choice for choice, _ in MODELS.values()]
    return screen(text, buttons, nav(cancel=False, menu=True))


def picked_model(body: Body) -> Modelo | None:
    picked = MODELS.get(chosen(body))
    return picked[1] if picked else None


def ask_model(ctx: Ctx, data: Data) -> Text:
    """Ask NF-e or NFC-e for the chosen month."""
    return model_question(ctx, data, ICON, texts.XMLS_EMITIDOS)


def answer_model(ctx: Ctx, data: Data, body: Body) -> Answer:
    """Start the month's ZIP (or say the month is empty) and offer the other model."""
    modelo = picked_model(body)
    if modelo is None:
        return Retry(texts.USE_BUTTONS)
    cid, competencia = int(data["cid"]), str(data["comp"])
    card = client_card(ctx, data)
    name = card.razao_social
    counts = fiscal_documents.month_counts(
        ctx.uow, ctx.principal, cid, tipo=TipoNota.EMITIDA, modelo=modelo, competencia=competencia
    )
    mes = month_label(competencia)
    if counts.total == 0:
        return Stay(texts.EMITIDOS_EMPTY.format(modelo=model_label(modelo), name=name, mes=mes))
    export = Export(
        client_id=cid,
        tipo=TipoNota.EMITIDA,
        modelo=modelo,
        competencia=competencia,
        titulo=texts.ZIP_TITLE_EMITIDOS.format(name=name, modelo=model_label(modelo), mes=mes),
        base=file_base(card, competencia, fiscal_exports.model_tag(modelo)),
    )
    text = fill(texts.GENERATING_ZIP, notas=counts.total, modelo=model_label(modelo), mes=mes)
    # The job's factory puts the notice (and "enviando documento…") in the outbox first, to
    # edit it with the progress later.
    job = fiscal_exports.xml_zip_job(
        ctx.uow,
        ctx.principal,
        export,
        Recipient.of(ctx.event),
        WORDS,
        notice=Notice(text, counts.total),
        options=ctx.config.exports,
    )
    return Goto("modelo", jobs=[job])


EMITIDOS_FLOW = Flow(
    "emitidos",
    {
        "mes": ask_month_for(ICON, texts.XMLS_EMITIDOS),
        **other_month_steps(ICON, texts.XMLS_EMITIDOS),
        "modelo": Step(ask_model, answer_model),
    },
)
