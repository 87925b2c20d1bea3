"""`go:` ids (a notice's buttons, Pendências' items) go through one table of openers
(handlers/go.py): every id the bot makes has exactly one, and an id that is malformed or of
no known kind is answered as an expired option over the main menu, from any state."""

from __future__ import annotations

from datetime import date

import pytest

from handlers import pendencias, push, texts
from handlers.core import go_boleto, go_card, go_cert, go_pendentes
from handlers.flows import GO_OPENERS
from handlers.pacote import go_pacote, go_pacotes
from services.messages import Text
from tests.support import Chat, Office
from tests.unit.helpers import step_of

MADE = [
    go_card(1),
    go_cert(1, date(2026, 12, 31)),
    go_cert(1),
    go_boleto(1),
    go_pendentes(1),
    go_pacote("2026-10"),
    go_pacotes("2026-10"),
    pendencias.go_pendencias(),
    pendencias.go_contrato(1),
    pendencias.go_fatura(1),
    pendencias.go_link(1),
]


def test_every_go_id_the_bot_makes_has_one_opener() -> None:
    assert not push.OPENERS.keys() & pendencias.OPENERS.keys()
    assert GO_OPENERS.keys() == push.OPENERS.keys() | pendencias.OPENERS.keys()
    for choice_id in MADE:
        assert choice_id.startswith("go:")
        assert choice_id.removeprefix("go:").split(":")[0] in GO_OPENERS, choice_id


@pytest.mark.parametrize(
    "choice_id",
    [
        "go:",
        "go:nada:1",
        "go:card",
        "go:card:",
        "go:card:abc",
        "go:card:²",  # a digit to str.isdigit, not to int()
        "go:card:123456789012",  # 12 digits: longer than any id a button carries
        "go:cert:x:20261231",
        "go:boleto:-1",
        "go:ctr:x",
        "go:fat:",
        "go:lnk",
        "go:pend:1",
        "go:pacote:2026",
        "go:pacotes:2026100",
        "go:pacote:²⁰²⁶¹⁰",
    ],
)
def test_a_malformed_go_id_is_an_expired_option_over_the_menu(
    chat: Chat, office: Office, choice_id: str
) -> None:
    chat.say("/menu")
    chat.press(texts.MEUS_DADOS)  # somewhere else than the menu

    replies = chat.press_id(choice_id)

    said = [m.text for m in replies if isinstance(m, Text)]
    assert said[0] == texts.EXPIRED
    assert step_of(chat) == ("menu", "inicio")
