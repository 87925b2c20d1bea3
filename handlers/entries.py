"""Where each menu entry and Gerenciar action leads: a flow name, or None while its feature has
not landed (the person is told it is coming). One line per entry; the flow must be registered
in handlers/router.py FLOWS. Client-scoped flows receive {"cid": <client id>} as their data and
Voltar from their first step returns to where the person came from.
"""

from __future__ import annotations

ENTRY_FLOWS: dict[str, str | None] = {
    # Main menu
    "m:dados": None,
    # Novo cliente
    "n:link": None,
    # Gerenciar (client-scoped)
    "a:software": None,
    "a:relatorios": None,
    "a:fornecedores": None,
    "a:emitidos": None,
    "a:config": None,
}
