"""The registration tables the router dispatches on: every flow (flow → steps, each flow
module shows its own steps) and every `go:` kind (handlers/go.py), with the main menu's step.
"""

from __future__ import annotations

from collections.abc import Mapping

from handlers import push
from handlers.acesso import ACESSO_FLOW
from handlers.cadastro import CADASTRO_FLOW, NOVO_FLOW
from handlers.clients import CLIENTES_FLOW
from handlers.configuracoes import CONFIG_FLOWS
from handlers.consulta import CONSULTA_FLOW
from handlers.core import Flow
from handlers.fiscal_emitidos import EMITIDOS_FLOW
from handlers.fiscal_fornecedores import FORNECEDORES_FLOW
from handlers.fiscal_relatorios import RELATORIOS_FLOW
from handlers.go import Opener
from handlers.historico import HISTORICO_FLOW
from handlers.links import LINK_FLOW
from handlers.menu import MENU_FLOW
from handlers.meus_dados import MEUS_DADOS_FLOW
from handlers.pacote import PACOTE_FLOW
from handlers.pendencias import OPENERS as PENDENCIAS_OPENERS
from handlers.pendencias import PENDENCIAS_FLOW
from handlers.shortcuts import ATALHO_FLOWS

# Every flow of the bot, one per line.
FLOWS: Mapping[str, Flow] = {
    flow.name: flow
    for flow in (
        MENU_FLOW,
        CLIENTES_FLOW,
        NOVO_FLOW,
        CADASTRO_FLOW,
        MEUS_DADOS_FLOW,
        LINK_FLOW,
        *CONFIG_FLOWS,
        HISTORICO_FLOW,
        ACESSO_FLOW,
        EMITIDOS_FLOW,
        FORNECEDORES_FLOW,
        RELATORIOS_FLOW,
        CONSULTA_FLOW,
        *ATALHO_FLOWS,  # typed shortcuts: which client, which month
        PENDENCIAS_FLOW,
        PACOTE_FLOW,  # the month's packages (from the pacote.pronto notice)
    )
}
HOME = ("menu", "inicio")
# Every `go:` kind (handlers/go.py), with the module that offers its buttons.
GO_OPENERS: Mapping[str, Opener] = {**push.OPENERS, **PENDENCIAS_OPENERS}
