"""Messages that arrive late or out of order (WhatsApp guarantees neither).

An event the platform dates before one already processed (`Inbound.out_of_order`) must not
answer the step the person has since moved to (the razão social would land in the nome
fantasia): it is named and the live question asked again. A command dated more than
STALE_COMMAND ago (a /cancelar delivered after the person went on) is ignored with a note.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from handlers import texts
from handlers.core import Step
from services.messages import ChoiceBody, FileBody, Inbound, TextBody

STALE_COMMAND = timedelta(minutes=10)
QUOTE = 60  # characters of an ignored text repeated back


def ignored_out_of_order(event: Inbound, step: Step | None) -> str | None:
    """What to say about an out-of-order event (None: it is in order, act on it)."""
    if not event.out_of_order:
        return None
    body = event.body
    if isinstance(body, TextBody):
        if step is not None and step.secret_text:
            return texts.OUT_OF_ORDER.format(what=texts.OUT_OF_ORDER_HIDDEN)
        return texts.OUT_OF_ORDER.format(what=f"“{_quote(body.text)}”")
    if isinstance(body, ChoiceBody):
        return texts.OUT_OF_ORDER.format(what=texts.OUT_OF_ORDER_CHOICE)
    if isinstance(body, FileBody):
        return texts.OUT_OF_ORDER.format(what=f"o arquivo {_quote(body.name)}")
    return None


def stale_command(event: Inbound, now: datetime | None = None) -> str | None:
    """The note for a command sent too long ago to act on (None: act on it)."""
    body = event.body
    if not isinstance(body, TextBody) or not body.text.startswith("/"):
        return None
    age = (now or datetime.now(UTC)) - event.received_at
    if age <= STALE_COMMAND:
        return None
    minutes = int(age.total_seconds() // 60)
    return texts.STALE_COMMAND.format(command=_quote(body.text.split()[0]), minutes=minutes)


def _quote(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= QUOTE else flat[: QUOTE - 1] + "…"
