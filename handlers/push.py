"""The buttons of pushed notices: `go:` ids that work from any state, on every channel, until
the object they are about changes (not only while the prompt they came with is live).

- `go:card:<client>` (a sign-up, a completed link): the client's card, while the client is
  the gestor's;
- `go:cert:<client>:<yyyymmdd>` (a certificate reminder): the certificate upload, while the
  client's certificate is still the one valid until that day;
- `go:boleto:<fatura>` (a fatura): Gerar boleto, while the fatura is pending;
- `go:forn:<client>` (supplier notes captured from SEFAZ): the client's pending notes.
- `go:pacote:<AAAAMM>` / `go:pacotes:<AAAAMM>` (the month's packages): the office's list of
  that month, or all of them in one ZIP (handlers/pacote.py).
Tenancy and role are re-checked by the services, as for any button.
"""

from __future__ import annotations

from datetime import UTC, datetime

from handlers import texts
from handlers.config_upload import CERT_UPLOAD_FLOW
from handlers.configuracoes import CONFIG_FLOW
from handlers.core import GO, HISTORY, RETURN, Ctx
from handlers.faturas import GERAR
from handlers.meus_dados import MEUS_DADOS_FLOW
from handlers.pacote import ALL, PACOTE_FLOW
from services import billing, certificates, clients
from services.conversation import State
from services.errors import ServiceError
from services.messages import ChoiceBody

# Where a push button leads: a screen to show, a screen with a press to answer, or a note.
Target = State | tuple[State, ChoiceBody] | str


def target(ctx: Ctx, choice_id: str) -> Target:
    """Where a pressed `go:` id leads now (a note when its object changed or is not ours)."""
    kind, *args = choice_id.removeprefix(GO).split(":")
    if not args or not args[0].isdigit() or len(args[0]) > 11:
        return texts.EXPIRED
    object_id = int(args[0])
    try:
        if kind == "card":
            clients.get_client(ctx.uow, ctx.principal, object_id)
            return State(
                "clientes", "card", {"cid": object_id, "q": None, "p": 1, HISTORY: ["lista"]}
            )
        if kind == "cert":
            return _certificate(ctx, object_id, args[1] if len(args) > 1 else None)
        if kind == "boleto":
            return _boleto(ctx, object_id)
        if kind == "forn":  # new supplier notes captured from SEFAZ: any role may see them
            clients.get_client(ctx.uow, ctx.principal, object_id)
            data = {"cid": object_id, "f": "p", "comp": None, "pg": 1, HISTORY: ["inicio"]}
            return State("fornecedores", "lista", data)
        if kind in ("pacote", "pacotes"):
            return _pacote(args[0], all_of_them=kind == "pacotes")
    except ServiceError as exc:
        return f"⚠️ {exc.message}"
    return texts.EXPIRED


def _certificate(ctx: Ctx, client_id: int, version: str | None) -> Target:
    card = clients.open_management(ctx.uow, ctx.principal, client_id)
    if version is not None:
        now = datetime.now(UTC)
        current = certificates.certificate_status(ctx.uow, ctx.principal, client_id, now=now)
        if current is not None and f"{current.valid_until:%Y%m%d}" != version:
            until = f"{current.valid_until:%d/%m/%Y}"
            return texts.PUSH_CERT_REPLACED.format(name=card.razao_social, until=until)
    back = {"flow": CONFIG_FLOW.name, "step": "cert", "data": {"cid": client_id}}
    return State(CERT_UPLOAD_FLOW.name, CERT_UPLOAD_FLOW.first, {"cid": client_id, RETURN: back})


def _boleto(ctx: Ctx, fatura_id: int) -> Target:
    summary = billing.get_fatura(ctx.uow, ctx.principal, fatura_id).summary
    if summary.status.value != "pendente":
        return texts.PUSH_FATURA_SETTLED.format(competencia=summary.competencia.label)
    state = State(MEUS_DADOS_FLOW.name, "fatura", {"fid": fatura_id})
    return state, ChoiceBody(GERAR.id)


def _pacote(yyyymm: str, *, all_of_them: bool) -> Target:
    """The month's packages (the list is the office's own: services/pacote/chat.py)."""
    if len(yyyymm) != 6:
        return texts.EXPIRED
    state = State(PACOTE_FLOW.name, "lista", {"c": f"{yyyymm[:4]}-{yyyymm[4:]}", "p": 1})
    return (state, ChoiceBody(ALL.id)) if all_of_them else state
