"""The demo office: a gestor with 30 synthetic clients and something real on every screen.

`build_demo` makes, through the same services a gestor and an operator use (so everything is
validated like real data): the office and two console identities (gestor and contador); 30
clients with varied status and payer; two months (previous and current, São Paulo) of NF-e and
NFC-e signed at demo time for three clients, with cancellations; supplier notes pending,
acknowledged and cancelled; A1 certificates (stored encrypted) valid, expiring in 7 days and
expired; a contracting link; the previous month's fatura with its boleto. Then it runs the
certificate sweep, so the reminder of the expiring certificate waits in the gestor's chats.

Running it again reuses the office; `fresh=True` deletes the office and builds it again. The
build is one transaction: an interrupted one leaves nothing behind.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.app import App
from bot.crypto import secret_box
from bot.demo_notes import DemoClient, DemoNotes
from bot.gateways.payments import billing_from_settings
from domain.clients import ContractStatus, Payer, Role
from domain.documents import complete_cnpj
from services import access, billing, boletos, catalog, clients, contracts, links, offices
from services import scheduler as scheduler_service
from services.crypto import SecretBox
from services.payment_gateway import BillingSetup
from services.principal import Principal
from services.reminders import ReminderOptions
from services.types import UnitOfWork, UnitOfWorkFactory

DEMO_CNPJ = complete_cnpj("450238910001")
DEMO_NAME = "Contabilidade Exemplo Ltda"
DEMO_EMAIL = "gestor@contabilidade-exemplo.com.br"
CONSOLE_GESTOR = "console:demo"
CONSOLE_CONTADOR = "console:contador"

# Contract status by client (index in creation order); the rest are Efetivado. The first page
# of the client list shows each of the four.
TESTE = frozenset({5, 9, 17, 22, 26, 28})
BLOQUEADO = frozenset({7, 11, 19, 24})
CANCELADO = frozenset({14, 27})

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
    notes: int = 0
    reminders: int = 0


def build_demo(
    uow_factory: UnitOfWorkFactory,
    *,
    box: SecretBox,
    billing_setup: BillingSetup | None = None,
    fresh: bool = False,
    now: datetime | None = None,
    count: int = 30,
    seed: int = 7,
) -> DemoResult:
    """Build the demo office (or reuse it; `fresh` rebuilds it), then run the certificate sweep.

    `box` seals the certificates as Configurações does; `billing_setup` (BOLETO_*/PIX_*) gives
    the fatura its boleto.
    """
    now = now or datetime.now(UTC)
    uow = uow_factory()
    with uow:
        if fresh:  # in the same transaction: a rebuild that fails keeps the old office
            offices.delete_office(uow, DEMO_CNPJ)
        if uow.gestores.by_cnpj(DEMO_CNPJ) is not None:
            result = DemoResult(False, 0)
        else:
            result = _build(uow, box, billing_setup, now, count, seed)
            uow.commit()
    # Through the scheduler's own job (idempotent: a reminder is sent once, ever), so a
    # newcomer finds the expiring certificate's reminder waiting in the console.
    swept = scheduler_service.run_job(
        uow_factory, "certificados", now=now, options=ReminderOptions()
    )
    reminders = swept.notices if swept is not None else 0
    return DemoResult(result.created, result.clients, result.notes, reminders)


def _build(
    uow: UnitOfWork,
    box: SecretBox,
    billing_setup: BillingSetup | None,
    now: datetime,
    count: int,
    seed: int,
) -> DemoResult:
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
    made = [_one_client(uow, principal, rng, softwares, index) for index in range(count)]
    for client in made:
        _set_status(uow, principal, client, now)
    notes = DemoNotes(uow, principal, box, now=now, seed=seed).issue(made)
    _link(uow, principal, softwares)
    _fatura(uow, principal, billing_setup, now)
    return DemoResult(True, len(made), notes)


def _one_client(
    uow: UnitOfWork,
    principal: Principal,
    rng: random.Random,
    softwares: list[catalog.SoftwareView],
    index: int,
) -> DemoClient:
    name = f"{rng.choice(_FIRST)} {rng.choice(_SECOND)}"
    suffix = rng.choice(["Ltda", "ME", "Eireli", "S.A."])
    city, uf, cep = rng.choice(_CITIES)
    software = rng.choice(softwares)
    plan = rng.choice(software.plans)
    base = f"{rng.randrange(10**7, 10**8)}0001"
    documento = complete_cnpj(base)
    slug = name.lower().replace(" ", "").encode("ascii", "ignore").decode()
    card = clients.register_client(
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
    return DemoClient(index, card.id, card.documento, card.razao_social, city)


def status_of(index: int) -> ContractStatus:
    """The demo client's contract status by its creation index."""
    if index in TESTE:
        return ContractStatus.TESTE
    if index in BLOQUEADO:
        return ContractStatus.BLOQUEADO
    if index in CANCELADO:
        return ContractStatus.CANCELADO
    return ContractStatus.EFETIVADO


def _set_status(uow: UnitOfWork, principal: Principal, client: DemoClient, now: datetime) -> None:
    """Configurações › Contrato › Salvar, as the gestor would (a new client starts as Teste)."""
    status = status_of(client.index)
    if status is ContractStatus.TESTE:
        return
    current = contracts.get_contract(uow, principal, client.id)
    contracts.save_contract(uow, principal, client.id, status=status, payer=current.payer, now=now)


def _link(uow: UnitOfWork, principal: Principal, softwares: list[catalog.SoftwareView]) -> None:
    """A contracting link sent and not used yet (Novo cliente › Links enviados)."""
    software = softwares[0]
    links.create_link(
        uow,
        principal,
        software_id=software.id,
        plan_id=software.plans[1 % len(software.plans)].id,
        payer=Payer.CLIENTE,
    )


def _fatura(
    uow: UnitOfWork, principal: Principal, billing_setup: BillingSetup | None, now: datetime
) -> None:
    """The previous month's fatura, closed as `billing close` does, with its boleto."""
    previous = billing.previous_competencia(now)
    due_day = billing_setup.due_day if billing_setup is not None else billing.DEFAULT_DUE_DAY
    billing.close_gestor_month(uow, principal.gestor_id, previous, due_day=due_day, now=now)
    if billing_setup is None:
        return
    for fatura in billing.list_faturas(uow, principal):
        if fatura.competencia == previous:
            boletos.generate_boleto(uow, principal, fatura.id, billing_setup, now=now)


def seed_demo(app: App, *, fresh: bool = False) -> DemoResult:
    """`build_demo` with the app's certificate box and billing setup (CLI and `serve`)."""
    return build_demo(
        app.uow_factory,
        box=secret_box(app.settings),
        billing_setup=billing_from_settings(app.settings),
        fresh=fresh,
    )
