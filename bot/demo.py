"""Demo data: a gestor's office with ~30 synthetic clients, reachable from the console."""

from __future__ import annotations

import random
from dataclasses import dataclass

from domain.clients import Payer, Role
from domain.documents import complete_cnpj
from services import access, catalog, clients
from services.principal import Principal
from services.types import UnitOfWork, UnitOfWorkFactory

DEMO_CNPJ = complete_cnpj("450238910001")
DEMO_NAME = "Contabilidade Exemplo Ltda"
DEMO_EMAIL = "gestor@contabilidade-exemplo.com.br"
CONSOLE_GESTOR = "console:demo"
CONSOLE_CONTADOR = "console:contador"

_FIRST = [
    "Padaria",
    "Mercado",
    "Farmácia",
    "Auto Peças",
    "Papelaria",
    "Restaurante",
    "Pet Shop",
    "Loja",
    "Distribuidora",
    "Oficina",
    "Açougue",
    "Sorveteria",
    "Ótica",
    "Floricultura",
]
_SECOND = [
    "São João",
    "Boa Vista",
    "Central",
    "Bom Preço",
    "Estrela",
    "Primavera",
    "Aurora",
    "Horizonte",
    "Paraíso",
    "Santa Luzia",
    "Ipê",
    "Jequitibá",
    "Bela Vista",
    "Real",
]
_CITIES = [
    ("São Paulo", "SP", "01310-100"),
    ("Campinas", "SP", "13010-000"),
    ("Belo Horizonte", "MG", "30130-000"),
    ("Curitiba", "PR", "80010-000"),
    ("Porto Alegre", "RS", "90010-000"),
    ("Salvador", "BA", "40020-000"),
    ("Recife", "PE", "50030-000"),
    ("Goiânia", "GO", "74003-010"),
]


@dataclass(frozen=True, slots=True)
class DemoResult:
    created: bool
    clients: int


def seed_demo(uow_factory: UnitOfWorkFactory, *, count: int = 30, seed: int = 7) -> DemoResult:
    """Create the demo office (once) with `count` clients and two console identities.

    One transaction: an interrupted or failed seed leaves nothing behind, so running it again
    starts over instead of finding a half-made demo that "already exists".
    """
    uow = uow_factory()
    with uow:
        if uow.gestores.by_cnpj(DEMO_CNPJ) is not None:
            return DemoResult(False, 0)
        access.create_gestor(uow, cnpj=DEMO_CNPJ, razao_social=DEMO_NAME, email=DEMO_EMAIL)
        for key, role in ((CONSOLE_GESTOR, Role.GESTOR), (CONSOLE_CONTADOR, Role.CONTADOR)):
            access.bind_identity(
                uow,
                gestor_cnpj=DEMO_CNPJ,
                identity_key=key,
                channel="console",
                address=key.split(":", 1)[1],
                role=role,
            )
        principal = access.resolve_principal(uow, CONSOLE_GESTOR)
        if principal is None:
            raise RuntimeError("the demo console identity was not bound")
        rng = random.Random(seed)
        softwares = catalog.list_softwares(uow)
        made = 0
        for index in range(count):
            made += _one_client(uow, principal, rng, softwares, index)
        uow.commit()
    return DemoResult(True, made)


def _one_client(
    uow: UnitOfWork,
    principal: Principal,
    rng: random.Random,
    softwares: list[catalog.SoftwareView],
    index: int,
) -> int:
    name = f"{rng.choice(_FIRST)} {rng.choice(_SECOND)}"
    suffix = rng.choice(["Ltda", "ME", "Eireli", "S.A."])
    city, uf, cep = rng.choice(_CITIES)
    software = rng.choice(softwares)
    plan = rng.choice(software.plans)
    base = f"{rng.randrange(10**7, 10**8)}0001"
    documento = complete_cnpj(base)
    slug = name.lower().replace(" ", "").encode("ascii", "ignore").decode()
    clients.register_client(
        uow,
        principal,
        clients.NewClient(
            payer=Payer.GESTOR if index % 3 else Payer.CLIENTE,
            software_id=software.id,
            plan_id=plan.id,
            documento=documento,
            razao_social=f"{name} {index + 1:02d} {suffix}",
            nome_fantasia=name if index % 2 else None,
            email=f"contato{index + 1}@{slug or 'cliente'}.com.br",
            telefone=f"(11) 9{rng.randrange(1000, 9999)}-{rng.randrange(1000, 9999)}",
            cep=cep,
            endereco=f"Rua {rng.choice(_SECOND)}, {rng.randrange(1, 2000)} - Centro - {city}/{uf}",
        ),
    )
    return 1
