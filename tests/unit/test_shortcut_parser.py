"""Typed shortcuts, as people write them (domain/shortcuts.py): the action, the client's words,
the month and the model; and the lines that are not shortcuts at all. Then the client matcher."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from domain.fiscal import Modelo
from domain.shortcuts import Action, Shortcut, match_clients, read_shortcut

# Today, as the tests see it: November 2026 (São Paulo).
CURRENT = "2026-11"
A = Action
NFE, NFCE = Modelo.NFE, Modelo.NFCE


def sc(
    action: Action,
    client: str | None = None,
    month: str | None = None,
    model: Modelo | None = None,
) -> Shortcut:
    return Shortcut(action, client, month, model)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        # XMLs emitidos: the words, the month in every accepted form, the model
        ("xml padaria outubro", sc(A.EMITIDOS, "padaria", "2026-10")),
        ("XML Padaria Outubro", sc(A.EMITIDOS, "padaria", "2026-10")),
        ("xmls padaria 10/2026", sc(A.EMITIDOS, "padaria", "2026-10")),
        ("xml's da padaria out/26", sc(A.EMITIDOS, "padaria", "2026-10")),
        ("xml padaria 10/26", sc(A.EMITIDOS, "padaria", "2026-10")),
        ("xml padaria 10-2026", sc(A.EMITIDOS, "padaria", "2026-10")),
        ("xml padaria 2026-10", sc(A.EMITIDOS, "padaria", "2026-10")),
        ("xml padaria 10 / 2026", sc(A.EMITIDOS, "padaria", "2026-10")),
        ("xml padaria out.26", sc(A.EMITIDOS, "padaria", "2026-10")),
        ("xml padaria outubro de 2026", sc(A.EMITIDOS, "padaria", "2026-10")),
        ("xml padaria Outubro 2026", sc(A.EMITIDOS, "padaria", "2026-10")),
        ("xml padaria out", sc(A.EMITIDOS, "padaria", "2026-10")),
        ("xml padaria março de 2025", sc(A.EMITIDOS, "padaria", "2025-03")),
        ("xml padaria marco", sc(A.EMITIDOS, "padaria", "2026-03")),
        ("xml padaria dezembro", sc(A.EMITIDOS, "padaria", "2025-12")),  # the latest December
        ("xml padaria otubro", sc(A.EMITIDOS, "padaria", "2026-10")),  # a typo in the month
        ("xml padaria mês passado", sc(A.EMITIDOS, "padaria", "2026-10")),
        ("xml padaria mes atual", sc(A.EMITIDOS, "padaria", "2026-11")),
        ("outubro xml padaria", sc(A.EMITIDOS, "padaria", "2026-10")),  # word order
        ("padaria xml outubro nfce", sc(A.EMITIDOS, "padaria", "2026-10", NFCE)),
        ("nfce padaria 10/2026", sc(A.EMITIDOS, "padaria", "2026-10", NFCE)),
        ("NFC-e padaria 10/2026", sc(A.EMITIDOS, "padaria", "2026-10", NFCE)),
        ("nfc e padaria outubro", sc(A.EMITIDOS, "padaria", "2026-10", NFCE)),
        ("nf-e padaria outubro", sc(A.EMITIDOS, "padaria", "2026-10", NFE)),
        ("xml modelo 55 padaria outubro", sc(A.EMITIDOS, "padaria", "2026-10", NFE)),
        ("notas emitidas padaria outubro", sc(A.EMITIDOS, "padaria", "2026-10")),
        ("quero as notas da padaria de outubro por favor", sc(A.EMITIDOS, "padaria", "2026-10")),
        ("xml padaria", sc(A.EMITIDOS, "padaria")),  # the month is asked
        ("xml pão quente outubro", sc(A.EMITIDOS, "pao quente", "2026-10")),
        ("xml 45.997.418 outubro", sc(A.EMITIDOS, "45.997.418", "2026-10")),
        ("xml Contrato Engenharia outubro", sc(A.EMITIDOS, "contrato engenharia", "2026-10")),
        ("xml novo horizonte", sc(A.EMITIDOS, "novo horizonte")),
        ("xml mar azul", sc(A.EMITIDOS, "mar azul")),  # "mar" inside a name is not March
        ("xml marco polo", sc(A.EMITIDOS, "marco polo")),
        # Relatórios e documentos (typos, accents, DANFEs)
        ("relatório padaria setembro", sc(A.RELATORIOS, "padaria", "2026-09")),
        ("relatorio padaria setembro", sc(A.RELATORIOS, "padaria", "2026-09")),
        ("relatóri padaria set/26", sc(A.RELATORIOS, "padaria", "2026-09")),
        ("relatroio padaria setembro", sc(A.RELATORIOS, "padaria", "2026-09")),
        ("relatorios padaria nfe outubro 2026", sc(A.RELATORIOS, "padaria", "2026-10", NFE)),
        ("relatório setembro", sc(A.RELATORIOS, None, "2026-09")),  # the client is asked
        ("danfe padaria outubro", sc(A.RELATORIOS, "padaria", "2026-10")),
        ("relatório das notas da padaria", sc(A.RELATORIOS, "padaria")),
        # XMLs de fornecedores
        ("xml de fornecedores padaria", sc(A.FORNECEDORES, "padaria")),
        ("notas de fornecedores padaria outubro", sc(A.FORNECEDORES, "padaria", "2026-10")),
        ("fornecedor padaria", sc(A.FORNECEDORES, "padaria")),
        # Configurações and the other Gerenciar actions
        ("certificado padaria", sc(A.CERTIFICADO, "padaria")),
        ("certifcado padaria", sc(A.CERTIFICADO, "padaria")),
        ("Certificado Digital da Padaria", sc(A.CERTIFICADO, "padaria")),
        ("enviar certificado padaria", sc(A.ENVIAR_CERTIFICADO, "padaria")),
        ("novo certificado padaria", sc(A.ENVIAR_CERTIFICADO, "padaria")),
        ("chave padaria", sc(A.CHAVE, "padaria")),
        ("chave de integração padaria", sc(A.CHAVE, "padaria")),
        ("contrato padaria", sc(A.CONTRATO, "padaria")),
        ("contratos padaria", sc(A.CONTRATO, "padaria")),
        ("plano padaria", sc(A.SOFTWARE, "padaria")),
        ("configurações padaria", sc(A.CONFIGURACOES, "padaria")),
        ("acessar software padaria", sc(A.ACESSO, "padaria")),
        ("gerenciar padaria", sc(A.GERENCIAR, "padaria")),
        ("histórico padaria", sc(A.HISTORICO, "padaria")),
        # The card and the list
        ("cliente 45.997.418", sc(A.CLIENTE, "45.997.418")),
        ("cliente 45997418000190", sc(A.CLIENTE, "45997418000190")),
        ("cliente padaria", sc(A.CLIENTE, "padaria")),
        ("clientes", sc(A.CLIENTES)),
        ("quero ver meus clientes", sc(A.CLIENTES)),
        ("buscar padaria", sc(A.CLIENTES, "padaria")),
        # Novo cliente, Meus dados
        ("novo cliente", sc(A.NOVO_CLIENTE)),
        ("adicionar cliente", sc(A.NOVO_CLIENTE)),
        ("novo cadastro", sc(A.NOVO_CADASTRO)),
        ("link novo cliente", sc(A.LINK)),
        ("enviar link de contratação", sc(A.LINK)),
        ("links enviados", sc(A.LINKS_ENVIADOS)),
        ("faturas", sc(A.FATURAS)),
        ("minhas faturas", sc(A.FATURAS)),
        ("fatruas", sc(A.FATURAS)),
        ("boleto", sc(A.BOLETO)),
        ("2ª via do boleto de outubro", sc(A.BOLETO, month="2026-10")),
        ("meus dados", sc(A.MEUS_DADOS)),
        ("trocar senha", sc(A.SENHA)),
        ("forma de pagamento", sc(A.PAGAMENTO)),
        ("ajuda", sc(A.AJUDA)),
    ],
)
def test_a_shortcut_is_read(typed: str, expected: Shortcut) -> None:
    assert read_shortcut(typed, CURRENT) == expected


@pytest.mark.parametrize(
    "typed",
    [
        "oi",
        "Olá!",
        "bom dia",
        "boa tarde, tudo bem?",
        "obrigado",
        "padaria",
        "Padaria Pão Quente Ltda",
        "45.997.418/0001-90",
        "11.222.333/0001-81",
        "529.982.247-25",
        "outubro",
        "10/2026",
        "padaria outubro",
        "o gestor paga",
        "quero o de outubro",
        "abacaxi banana laranja",
        "(11) 98765-4321",
        "contato@paoquente.com.br",
        "Av. Paulista, 1000 - Bela Vista - São Paulo/SP",
        "me manda o link do video do youtube",
        "",
        "   ",
        "?",
    ],
)
def test_a_line_that_is_not_a_shortcut_is_none(typed: str) -> None:
    assert read_shortcut(typed, CURRENT) is None


# -- which client ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class C:
    id: int
    razao_social: str
    nome_fantasia: str | None
    documento: str


CLIENTS = [
    C(1, "Padaria Pão Quente Ltda", "Pão Quente", "45997418000190"),
    C(2, "Padaria Estrela do Norte ME", None, "11222333000181"),
    C(3, "Mercado Bom Preço Ltda", "Bom Preço", "33444555000166"),
    C(4, "Paola Modas Eireli", None, "77888999000155"),
    C(5, "Contrato Engenharia S.A.", None, "45123456000100"),
]


@pytest.mark.parametrize(
    ("query", "ids"),
    [
        ("padaria", [2, 1]),  # several: both, by name
        ("padaria pao quente", [1]),
        ("pão quente", [1]),
        ("paoquente", [1]),
        ("padria quente", [1]),  # a typo
        ("quente padaria", [1]),  # word order
        ("estrela", [2]),
        ("estrla", [2]),
        ("mercado", [3]),
        ("bom preço", [3]),
        ("pao", [1]),  # an exact word beats a name that starts with it (Paola)
        ("45.997.418", [1]),
        ("45997418000190", [1]),
        ("45.997.418/0001-90", [1]),
        ("000", [5, 3, 2, 1, 4]),  # every CNPJ has it: all, by name
        ("451", [5]),
        ("Padaria Pão Quente Ltda", [1]),
        ("contrato engenharia", [5]),
        ("padoca", []),
        ("farmacia", []),
        ("12", []),  # too few digits to tell
        ("99.999.999", []),
    ],
)
def test_clients_are_matched_by_name_or_document(query: str, ids: list[int]) -> None:
    assert [c.id for c in match_clients(query, CLIENTS)] == ids
