"""Manifestação do destinatário from a supplier note's screen: pick the event, (justify
210240,) confirm, send. The note screen (handlers/fiscal_fornecedores.py) offers the buttons;
these steps live in the same flow.

    nota ──► manif_just ──► manif_ok ──► nota
       └──────────────────────►┘
"""

from __future__ import annotations

from datetime import UTC, datetime

from domain.fiscal.manifestacao import (
    MANIFESTACOES,
    JustificativaInvalida,
    TipoManifestacao,
    checar_justificativa,
)
from handlers import texts
from handlers.core import Answer, Ctx, Data, Goto, Retry, chosen, nav, screen
from handlers.formatting import SAO_PAULO, datetime_br
from services import fiscal_documents, sefaz_download, sefaz_manifest
from services.fiscal_documents import DocumentSummary
from services.job_progress import Recipient
from services.messages import Body, Choice, Text, TextBody

PREFIX = "mf:"
LABELS = {
    TipoManifestacao.CIENCIA: texts.MANIF_CIENCIA,
    TipoManifestacao.CONFIRMACAO: texts.MANIF_CONFIRMAR,
    TipoManifestacao.DESCONHECIMENTO: texts.MANIF_DESCONHECER,
    TipoManifestacao.NAO_REALIZADA: texts.MANIF_NAO_REALIZADA,
}
SEND = Choice("mf:send", texts.MANIF_SEND)
BAIXAR_COMPLETO = Choice("mf:xml", texts.BAIXAR_XML_COMPLETO)


def buttons() -> list[list[Choice]]:
    """The four events, two per row, for the note screen (gestor role only)."""
    choices = [Choice(f"{PREFIX}{tipo.value}", label) for tipo, label in LABELS.items()]
    return [choices[:2], choices[2:]]


def chosen_event(choice: str | None) -> TipoManifestacao | None:
    if not choice or not choice.startswith(PREFIX):
        return None
    try:
        return TipoManifestacao(choice.removeprefix(PREFIX))
    except ValueError:
        return None


def start(tipo: TipoManifestacao) -> Goto:
    """From the note: the justificativa first for 210240, else straight to confirmation."""
    step = "manif_just" if tipo is TipoManifestacao.NAO_REALIZADA else "manif_ok"
    return Goto(step, {"mf": tipo.value, "just": None})


def prazo_line(note: DocumentSummary) -> str:
    """'manifestar até dd/mm/aaaa (N dias)', counted from the authorization (the issue when
    unknown), and the Ciência's own shorter deadline while it is open."""
    today = datetime.now(UTC).astimezone(SAO_PAULO).date()
    desde = note.autorizada_em or note.emitida_em
    line = texts.FORN_PRAZO.format(prazo=sefaz_manifest.prazo_da_nota(desde, today).texto())
    ciencia = sefaz_manifest.prazo_da_nota(desde, today, TipoManifestacao.CIENCIA)
    if ciencia.dias >= 0:
        line += texts.FORN_PRAZO_CIENCIA.format(ate=f"{ciencia.ate:%d/%m/%Y}", dias=ciencia.dias)
    return line


def eventos_lines(ctx: Ctx, client_id: int, chave: str) -> str:
    """The note's events with their dates (ciência, confirmação, cancelamento…), or ''."""
    found = sefaz_manifest.eventos(ctx.uow, ctx.principal, client_id, chave)
    if not found:
        return ""
    lines = [texts.FORN_EVENTOS]
    for evento in found:
        line = texts.FORN_EVENTO.format(
            nome=texts.EVENTO_NOMES.get(evento.tp_evento, evento.descricao),
            quando=datetime_br(evento.registrado_em),
        )
        if evento.protocolo:
            line += texts.FORN_EVENTO_PROTOCOLO.format(protocolo=evento.protocolo)
        lines.append(line)
    return "".join(lines)


def offer_confirmation(ctx: Ctx, client_id: int, chave: str) -> bool:
    """After Reconhecer: offer Confirmar operação at SEFAZ when it can be sent."""
    if ctx.config.sefaz is None or ctx.config.secret_box is None:
        return False
    return sefaz_manifest.confirmacao_possivel(
        ctx.uow, ctx.principal, client_id, chave, datetime.now(UTC)
    )


def ask_full_xml(ctx: Ctx, client_id: int, chave: str) -> Answer:
    """Ask a worker to fetch the summary's full XML by its key (consChNFe)."""
    if ctx.config.sefaz is None or ctx.config.secret_box is None:
        return Retry(texts.SEFAZ_INDISPONIVEL)
    request = sefaz_download.pedir(
        ctx.uow,
        ctx.principal,
        client_id,
        chave,
        Recipient.of(ctx.event),
        sefaz_download.Palavras(texts.XML_COMPLETO_OK, texts.XML_COMPLETO_RECUSADO),
    )
    return Goto("nota", jobs=[request])


def ask_justificativa(ctx: Ctx, data: Data) -> Text:
    """Ask why the operation did not happen (15 to 255 characters)."""
    return screen(texts.MANIF_ASK_JUST, nav(cancel=True, menu=False))


def answer_justificativa(ctx: Ctx, data: Data, body: Body) -> Answer:
    """Keep the justificativa when its length is right; else say what is wrong."""
    if not isinstance(body, TextBody):
        return Retry(texts.MANIF_ASK_JUST)
    try:
        just = checar_justificativa(body.text)
    except JustificativaInvalida as error:
        return Retry(str(error))
    return Goto("manif_ok", {"just": just})


def _note(ctx: Ctx, data: Data) -> DocumentSummary:
    return fiscal_documents.supplier_note(ctx.uow, ctx.principal, int(data["cid"]), data["ch"])


def ask_confirm(ctx: Ctx, data: Data) -> Text:
    """Say what will be sent, signed with the client's A1, and ask to confirm."""
    tipo = TipoManifestacao(data["mf"])
    note = _note(ctx, data)
    text = texts.MANIF_CONFIRM.format(
        rotulo=LABELS[tipo],
        codigo=tipo.value,
        numero=note.numero,
        emitente=note.emitente_nome or note.emitente_documento,
        just=texts.MANIF_CONFIRM_JUST.format(just=data["just"]) if data.get("just") else "",
    )
    if data.get("rec"):
        text = f"{texts.RECONHECER_E_CONFIRMAR}\n\n{text}"
    return screen(text, [SEND], nav(cancel=True, menu=False))


def answer_confirm(ctx: Ctx, data: Data, body: Body) -> Answer:
    """Ask for the event to be sent (a worker calls SEFAZ); its answer — the protocol, or the
    rejection with its cStat and xMotivo — comes before the note again."""
    if chosen(body) != SEND.id:
        return Retry(texts.USE_BUTTONS)
    tipo = TipoManifestacao(data["mf"])
    if ctx.config.sefaz is None or ctx.config.secret_box is None:
        return Retry(texts.SEFAZ_INDISPONIVEL)
    request = sefaz_manifest.pedir(
        ctx.uow,
        ctx.principal,
        int(data["cid"]),
        str(data["ch"]),
        tipo,
        Recipient.of(ctx.event),
        sefaz_manifest.Palavras(texts.MANIF_OK, texts.MANIF_RECUSADA, MANIFESTACOES[tipo].rotulo),
        justificativa=data.get("just"),
    )
    return Goto("nota", {"mf": None, "just": None, "rec": None}, jobs=[request])
