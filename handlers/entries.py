"""Where each menu entry and Gerenciar action leads: a flow name, or None while its feature has
not landed (the person is told it is coming). One line per entry; the flow must be registered
in handlers/flows.py FLOWS. Client-scoped flows receive {"cid": <client id>} as their data and
Voltar from their first step returns to where the person came from.
"""

from __future__ import annotations

ENTRY_FLOWS: dict[str, str | None] = {
    # Main menu
    "m:dados": "dados",
    # Novo cliente
    "n:link": "link",
    # Gerenciar (client-scoped)
    "a:software": "acesso",
    "a:relatorios": "relatorios",
    "a:fornecedores": "fornecedores",
    "a:emitidos": "emitidos",
    "a:config": "config",
}
