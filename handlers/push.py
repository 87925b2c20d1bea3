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
Tenancy and role are re-checked by the services, as for any button; handlers/go.py opens them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from handlers import texts
from handlers.config_upload import CERT_UPLOAD_FLOW
from handlers.configuracoes import CONFIG_FLOW
from handlers.core import HISTORY, RETURN, Ctx, Data
from handlers.faturas import GERAR
from handlers.go import Opened, Opener, Screen, by_id
from handlers.meus_dados import MEUS_DADOS_FLOW
from handlers.pacote import ALL, PACOTE_FLOW
from services import billing, certificates, clients
from services.conversation import State


def _card(ctx: Ctx, client_id: int, args: Sequence[str], data: Data) -> Opened:
    clients.get_client(ctx.uow, ctx.principal, client_id)
    return Screen(
        State("clientes", "card", {"cid": client_id, "q": None, "p": 1, HISTORY: ["lista"]})
    )


def _certificate(ctx: Ctx, client_id: int, args: Sequence[str], data: Data) -> Opened:
    card = clients.open_management(ctx.uow, ctx.principal, client_id)
    version = args[0] if args else None
    if version is not None:
        now = datetime.now(UTC)
        current = certificates.certificate_status(ctx.uow, ctx.principal, client_id, now=now)
        if current is not None and f"{current.valid_until:%Y%m%d}" != version:
            until = f"{current.valid_until:%d/%m/%Y}"
            return texts.PUSH_CERT_REPLACED.format(name=card.razao_social, until=until)
    back = {"flow": CONFIG_FLOW.name, "step": "cert", "data": {"cid": client_id}}
    first = CERT_UPLOAD_FLOW.first
    return Screen(State(CERT_UPLOAD_FLOW.name, first, {"cid": client_id, RETURN: back}))


def _boleto(ctx: Ctx, fatura_id: int, args: Sequence[str], data: Data) -> Opened:
    summary = billing.get_fatura(ctx.uow, ctx.principal, fatura_id).summary
    if summary.status.value != "pendente":
        return texts.PUSH_FATURA_SETTLED.format(competencia=summary.competencia.label)
    return Screen(State(MEUS_DADOS_FLOW.name, "fatura", {"fid": fatura_id}), press=GERAR.id)


def _fornecedores(ctx: Ctx, client_id: int, args: Sequence[str], data: Data) -> Opened:
    """New supplier notes captured from SEFAZ: any role may see them."""
    clients.get_client(ctx.uow, ctx.principal, client_id)
    pending = {"cid": client_id, "f": "p", "comp": None, "pg": 1, HISTORY: ["inicio"]}
    return Screen(State("fornecedores", "lista", pending))


def _pacote(all_of_them: bool) -> Opener:
    """The month's packages (the list is the office's own: services/pacote/chat.py)."""

    def opener(ctx: Ctx, args: Sequence[str], data: Data) -> Opened:
        yyyymm = args[0] if args else ""
        if len(yyyymm) != 6 or not (yyyymm.isascii() and yyyymm.isdigit()):
            return texts.EXPIRED
        state = State(PACOTE_FLOW.name, "lista", {"c": f"{yyyymm[:4]}-{yyyymm[4:]}", "p": 1})
        return Screen(state, press=ALL.id if all_of_them else None)

    return opener


# The notices' `go:` kinds (the ids are made by handlers/core.py go_* and handlers/pacote.py).
OPENERS: Mapping[str, Opener] = {
    "card": by_id(_card),
    "cert": by_id(_certificate),
    "boleto": by_id(_boleto),
    "forn": by_id(_fornecedores),
    "pacote": _pacote(all_of_them=False),
    "pacotes": _pacote(all_of_them=True),
}
