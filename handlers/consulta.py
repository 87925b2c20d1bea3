"""Consultar nota (main menu): a key typed or read from a DANFE/DANFCE photo → what the archive
or the SEFAZ knows; DANFE (PDF) and XML when the note is stored, Manifestar for a supplier note.

    chave ──► nota ──► (fornecedores › nota, to manifest)      stored for a client
    chave ──► (a job asks the SEFAZ: its answer, then) chave    not stored
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from domain.fiscal import FiscalDocumentError, Modelo
from domain.fiscal.consulta import chave_da_foto, chave_digitada
from domain.fiscal.danfe import DanfeError, danfe_name, render_danfe
from domain.money import format_brl
from handlers import texts
from handlers.core import Answer, Ctx, Data, Flow, Goto, Retry, Step, chosen, nav, screen
from handlers.formatting import note_date_br
from services import fiscal_documents, sefaz_consulta
from services.fiscal_prepare import TipoNota
from services.job_progress import Recipient
from services.messages import Body, Choice, Document, FileBody, Text, TextBody

DANFE = Choice("cq:danfe", texts.DANFE_PDF)
XML = Choice("cq:xml", texts.BAIXAR_XML)
MANIFESTAR = Choice("cq:manif", texts.MANIFESTAR)
AGAIN = Choice("cq:again", texts.OUTRA_CONSULTA)


def ask_chave(ctx: Ctx, data: Data) -> Text:
    """Ask for the key or a photo."""
    return screen(texts.CONSULTA_ASK, nav(cancel=False, menu=True))


def answer_chave(ctx: Ctx, data: Data, body: Body) -> Answer:
    """Read the key (typed or from the photo) and look the note up."""
    try:
        if isinstance(body, TextBody):
            chave = chave_digitada(body.text).valor
        elif isinstance(body, FileBody) and body.data is not None:
            chave = chave_da_foto(body.data).valor
        else:
            return Retry(texts.CONSULTA_FOTO_FILE)
    except FiscalDocumentError as error:
        return Retry(error.message)
    nota = sefaz_consulta.no_arquivo(ctx.uow, ctx.principal, chave)
    if nota is not None:
        return Goto("nota", {"r": _as_data(nota)})
    if ctx.config.sefaz is None or ctx.config.secret_box is None:
        return Retry(texts.SEFAZ_INDISPONIVEL)
    request = sefaz_consulta.pedir(ctx.uow, ctx.principal, chave, Recipient.of(ctx.event), WORDS)
    # the answer comes from a worker; then this question again, for another key
    return Goto(
        "chave",
        {"r": None},
        before=[Text(texts.CONSULTANDO_SEFAZ.format(chave=chave))],
        jobs=[request],
    )


WORDS = sefaz_consulta.Palavras(
    texts.CONSULTA_RESULT,
    texts.CONSULTA_EMITENTE,
    texts.CONSULTA_DEST,
    texts.CONSULTA_PROTOCOLO,
    texts.CONSULTA_SEFAZ,
)


def _as_data(nota: sefaz_consulta.NotaConsultada) -> dict[str, Any]:
    """A stored note's screen (the SEFAZ's answers are worded by the job: `WORDS`)."""
    lines = []
    if nota.emitente:
        lines.append(texts.CONSULTA_EMITENTE.format(v=nota.emitente))
    if nota.destinatario:
        lines.append(texts.CONSULTA_DEST.format(v=nota.destinatario))
    if nota.valor is not None:
        lines.append(texts.CONSULTA_VALOR.format(v=format_brl(nota.valor)))
    if nota.emitida_em is not None:
        lines.append(texts.CONSULTA_DATA.format(v=note_date_br(nota.emitida_em)))
    tipo = texts.CONSULTA_TIPOS.get(nota.tipo or "", nota.tipo or "")
    lines.append(texts.CONSULTA_ARQUIVO.format(cliente=nota.client_nome, tipo=tipo))
    if nota.resumo:
        lines.append(texts.CONSULTA_SEM_XML)
    return {
        "ch": nota.chave,
        "cid": nota.client_id,
        "tipo": nota.tipo,
        "xml": not nota.resumo,
        "situacao": nota.situacao,
        "linhas": "\n".join(lines),
    }


def ask_nota(ctx: Ctx, data: Data) -> Text:
    """Show what is known of the note, with what can be done with it."""
    r = data["r"]
    text = texts.CONSULTA_RESULT.format(chave=r["ch"], situacao=r["situacao"], linhas=r["linhas"])
    row = [DANFE, XML] if r["xml"] else []
    manifest = [MANIFESTAR] if r["tipo"] == "fornecedor" and ctx.principal.can_manage else []
    return screen(text, row, manifest, [AGAIN], nav(cancel=False, menu=True))


def answer_nota(ctx: Ctx, data: Data, body: Body) -> Answer:
    """DANFE, XML, Manifestar (the supplier note's screen) or another key."""
    r, choice = data["r"], chosen(body)
    if choice == AGAIN.id:
        return Goto("chave", {"r": None})
    tipo = TipoNota(r["tipo"]) if r.get("tipo") else None
    if choice in (DANFE.id, XML.id) and r["xml"] and tipo is not None:
        xml = fiscal_documents.get_xml(ctx.uow, ctx.principal, int(r["cid"]), r["ch"], tipo=tipo)
        if choice == XML.id:
            return Goto("nota", before=[Document(xml.nome, "application/xml", xml.data)])
        modelo = Modelo(r["ch"][20:22])
        try:
            pdf = render_danfe(
                xml.data,
                modelo,
                cancelada=r["situacao"] == "cancelada",
                gerado_em=datetime.now(UTC),
            )
        except DanfeError as error:
            return Retry(error.message)
        name = f"{danfe_name(modelo)}-{r['ch']}.pdf"
        return Goto("nota", before=[Document(name, "application/pdf", pdf)])
    if choice == MANIFESTAR.id and r["tipo"] == "fornecedor":
        ctx.principal.require_manage()
        return Goto(
            "nota",
            {"cid": int(r["cid"]), "ch": r["ch"], "f": "p", "comp": None, "pg": 1},
            flow="fornecedores",
        )
    return Retry(texts.USE_BUTTONS)


CONSULTA_FLOW = Flow(
    "consulta",
    {
        "chave": Step(
            ask_chave, answer_chave, accepts_text=True, accepts_file=True, accepts_photo=True
        ),
        "nota": Step(ask_nota, answer_nota),
    },
)
