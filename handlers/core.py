"""Flow machinery: named steps (ask + answer) in one table per flow, driven by the router.

A step *asks* (renders its question from the flow data) and *answers* (reads the person's
input and says where to go). The router owns what is the same for every step: commands,
stale buttons, Voltar/Cancelar/Menu, re-prompting, and editing the pressed message.

Every question the router shows (the *prompt*) gets a fresh token, carried in the id of each
of its buttons (`<token>|<id>`) and kept in the state: a press whose token is not the live
prompt's comes from a message the flow has moved past, and changes nothing.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from domain.pendencias import PendenciaOptions
from handlers import texts
from handlers.entries import ENTRY_FLOWS
from services.crypto import SecretBox
from services.fiscal_exports import ExportOptions
from services.jobs import JobRequest
from services.links import LinkOptions
from services.messages import Body, Button, Choice, ChoiceBody, Inbound, Outbound, Text, TextBody
from services.pacote.options import PacoteOptions
from services.payment_gateway import BillingSetup
from services.principal import Principal
from services.sefaz import SefazGateway
from services.software_access import LinkSigner
from services.types import UnitOfWork

Data = dict[str, Any]

# Keys of the flow data that belong to the router, not to the flow.
OFFERED = "_offered"
HISTORY = "_hist"
# Where Voltar goes from the first step of a flow entered from another one: {flow, step, data}.
RETURN = "_ret"
# Goto(FIRST, flow=...) enters a flow at its first step.
FIRST = ""
# The token of the live prompt, carried by its buttons.
PROMPT = "_prompt"
STAMP_SEPARATOR = "|"
STAMP_LENGTH = 6

BACK = Choice("nav:back", texts.VOLTAR)
CANCEL = Choice("nav:cancel", texts.CANCELAR)
MENU = Choice("nav:menu", texts.MENU)


@dataclass(frozen=True, slots=True)
class DialogueConfig:
    support_contact: str = "suporte@revendabot.com.br"
    page_size: int = 8
    # Configurações: seals the certificate upload; signs software access links.
    secret_box: SecretBox | None = None
    link_signer: LinkSigner | None = None
    # Pagamento: the payment gateway and the boleto's beneficiary.
    billing: BillingSetup | None = None
    # Enviar link de contratação: link address, validity, e-mail and SMS gateways.
    links: LinkOptions = field(default_factory=LinkOptions)
    # long work: upload limits of this deployment, progress of big jobs.
    exports: ExportOptions = field(default_factory=ExportOptions)
    # Pendências: how long in Teste is too long, how far ahead certificates count.
    pendencias: PendenciaOptions = field(default_factory=PendenciaOptions)
    # SEFAZ web services (manifestação, consulta), with each client's A1.
    sefaz: SefazGateway | None = None
    # Pacote do mês: a package too big for the channel goes as a signed link.
    pacote: PacoteOptions = field(default_factory=PacoteOptions)


@dataclass(frozen=True, slots=True)
class Ctx:
    """What a step may use: the transaction, who is acting, the event and the settings."""

    uow: UnitOfWork
    principal: Principal
    event: Inbound
    config: DialogueConfig


@dataclass(frozen=True, slots=True)
class Goto:
    """Go to `step` (of `flow`, when switching flows) with `data` merged into the flow data."""

    step: str
    data: Mapping[str, Any] = field(default_factory=dict)
    flow: str | None = None
    before: Sequence[Outbound] = ()
    # Long work (a month's ZIP, a report) run after commit; it delivers its own messages.
    jobs: Sequence[JobRequest] = ()


@dataclass(frozen=True, slots=True)
class Retry:
    """The input was not accepted: tell why and ask the same question again."""

    message: str


@dataclass(frozen=True, slots=True)
class Stay:
    """Answer something and keep asking the same question (e.g. "em breve")."""

    message: str


Answer = Goto | Retry | Stay


@dataclass(frozen=True, slots=True)
class Step:
    ask: Callable[[Ctx, Data], Text]
    answer: Callable[[Ctx, Data, Body], Answer]
    accepts_text: bool = False
    accepts_file: bool = False
    # A chat photo (MediaBody.photo) is answered here as the image file it carries.
    accepts_photo: bool = False
    # The text typed here may be a password: an unknown /command is taken as the answer,
    # never echoed back.
    secret_text: bool = False


@dataclass(frozen=True, slots=True)
class Flow:
    name: str
    steps: Mapping[str, Step]

    @property
    def first(self) -> str:
        return next(iter(self.steps))


def screen(text: str, *rows: Sequence[Button]) -> Text:
    """A message with button rows (empty rows are dropped)."""
    return Text(text, tuple(tuple(row) for row in rows if row))


def nav(*, back: bool = True, cancel: bool = True, menu: bool = False) -> list[Choice]:
    row = []
    if back:
        row.append(BACK)
    if cancel:
        row.append(CANCEL)
    if menu:
        row.append(MENU)
    return row


def new_token() -> str:
    """A prompt's token: 6 URL-safe characters (36 random bits, 7 bytes of callback data)."""
    return secrets.token_urlsafe(5)[:STAMP_LENGTH]


def stamped(buttons: Sequence[Sequence[Button]], token: str) -> tuple[tuple[Button, ...], ...]:
    """The button rows with `token` in front of each choice id (URL buttons as they are)."""
    return tuple(
        tuple(
            Choice(f"{token}{STAMP_SEPARATOR}{b.id}", b.label) if isinstance(b, Choice) else b
            for b in row
        )
        for row in buttons
    )


def unstamped(choice_id: str) -> tuple[str | None, str]:
    """(token, plain id) of a pressed id; (None, id) for an id without a token."""
    token, separator, plain = choice_id.partition(STAMP_SEPARATOR)
    if separator and len(token) == STAMP_LENGTH:
        return token, plain
    return None, choice_id


class UnexpectedInput(Exception):
    """The input is of a kind this step does not take; the router asks again."""


def chosen(body: Body) -> str:
    """The id of the pressed button (the router has already checked it was offered)."""
    if not isinstance(body, ChoiceBody):
        raise UnexpectedInput
    return body.choice_id


def command_of(text: str) -> str:
    """The command a text starts with: " /Menu@bot texto" → "/menu"; "" when it starts with
    no "/"."""
    stripped = text.strip()
    if not stripped.startswith("/"):
        return ""
    return stripped.split(maxsplit=1)[0].split("@", 1)[0].lower()


def typed(body: Body) -> str:
    """The text the person typed."""
    if not isinstance(body, TextBody):
        raise UnexpectedInput
    return body.text


def enter(
    entry: Choice, data: Mapping[str, Any], *, back_to: tuple[str, str, Mapping[str, Any]]
) -> Answer:
    """Open the flow an entry leads to (handlers/entries.py), or say it is coming soon."""
    flow = ENTRY_FLOWS.get(entry.id)
    if flow is None:
        return Stay(texts.COMING_SOON.format(feature=entry.label))
    origin, step, origin_data = back_to
    keep = {k: v for k, v in origin_data.items() if k != OFFERED}
    ret = {"flow": origin, "step": step, "data": keep}
    return Goto(FIRST, {**data, RETURN: ret}, flow=flow)


def choice_arg(choice_id: str, prefix: str) -> str | None:
    """`("c:42", "c")` → `"42"`; None when the id has another prefix."""
    head, _, tail = choice_id.partition(":")
    return tail if head == prefix and tail else None


def int_arg(choice_id: str, prefix: str) -> int | None:
    value = choice_arg(choice_id, prefix)
    return int(value) if value is not None and value.isdigit() and len(value) < 12 else None


# -- global shortcuts ----------------------------------------------------------------------------
# Buttons whose id starts with `go:` work from any state (a notice's buttons, Pendências'
# items), until their object changes: handlers/go.py opens them, re-checking tenancy and role
# as for any button.
GO = "go:"


def go_card(client_id: int) -> str:
    """The id of a button that opens a client's card from anywhere."""
    return f"{GO}card:{client_id}"


def go_cert(client_id: int, valid_until: date | None = None) -> str:
    """The id of a button that opens a client's certificate upload from anywhere, while its
    certificate is still the one valid until `valid_until` (handlers/push.py opens it)."""
    version = f":{valid_until:%Y%m%d}" if valid_until is not None else ""
    return f"{GO}cert:{client_id}{version}"


def go_boleto(fatura_id: int) -> str:
    """The id of Gerar boleto for a fatura, from anywhere, while it is pending."""
    return f"{GO}boleto:{fatura_id}"


def go_pendentes(client_id: int) -> str:
    """The id of a button that opens a client's pending supplier notes from anywhere."""
    return f"{GO}forn:{client_id}"
