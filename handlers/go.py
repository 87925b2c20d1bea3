"""`go:` buttons: ids that open a screen from any state, on every channel, until the object
they are about changes (not only while the prompt they came with is live).

An id is `go:<kind>:<arg>:...`. Each kind has an *opener*, kept with the feature that offers
the button (handlers/push.py for the notices, handlers/pendencias.py for its items); the
router looks the kind up in one table (GO_OPENERS, next to the FLOWS table) and calls
`open_go`, the one place that turns such an id into a screen. An opener re-checks the object
now, through the services (tenancy and role, as for any button): another gestor's is not
found, a contador is refused; a note instead of a screen when the object changed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from handlers import texts
from handlers.core import GO, Ctx, Data
from services.conversation import State
from services.errors import ServiceError

# The longest object id a button may carry (int_arg's limit too).
ID_DIGITS = 11


@dataclass(frozen=True, slots=True)
class Screen:
    """Open `state` (its data as given); with `press`, press that button there at once."""

    state: State
    press: str | None = None


# Where a `go:` id leads: a screen, or a note shown over the main menu.
Opened = Screen | str
# (ctx, the id's arguments after its kind, the data of the state it was pressed from) → where.
Opener = Callable[[Ctx, Sequence[str], Data], Opened]
NumberedOpener = Callable[[Ctx, int, Sequence[str], Data], Opened]


def open_go(ctx: Ctx, choice_id: str, data: Data, openers: Mapping[str, Opener]) -> Opened:
    """Where a pressed `go:` id leads now; a note when the object changed, is not ours or
    the kind is unknown. `data` is the live state's (e.g. the page to come back to)."""
    kind, *args = choice_id.removeprefix(GO).split(":")
    opener = openers.get(kind)
    if opener is None:
        return texts.EXPIRED
    try:
        return opener(ctx, args, data)
    except ServiceError as exc:
        return f"⚠️ {exc.message}"


def by_id(open_: NumberedOpener) -> Opener:
    """An opener whose first argument is the object's id (up to 11 ASCII digits); the rest
    of the arguments are passed on. A missing or malformed id: the option expired."""

    def opener(ctx: Ctx, args: Sequence[str], data: Data) -> Opened:
        number = args[0] if args else ""
        if not (number.isascii() and number.isdigit()) or len(number) > ID_DIGITS:
            return texts.EXPIRED
        return open_(ctx, int(number), args[1:], data)

    return opener
