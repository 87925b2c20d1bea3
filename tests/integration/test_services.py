"""Use cases on a real database (SQLite, and PostgreSQL when TEST_DATABASE_URL is set): access
(gestores, invites, identities) and clients (list, card, register) with roles and tenancy."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from sqlalchemy import select

from domain.clients import ContractStatus, Payer, Role
from domain.errors import InvalidValue
from services import access, catalog, clients
from services.errors import Conflict, Forbidden, InviteRefused, NotFound
from services.types import UnitOfWorkFactory
from storage.models import AuditEntry, Client, IntegrationKey, Invite, UserIdentity
from tests.support import Office, add_client, add_member, cnpj, make_office


def _redeem(uow_factory: UnitOfWorkFactory, code: str, key: str) -> access.Principal:
    return access.redeem_invite(
        uow_factory(),
        code=code,
        identity_key=key,
        channel=key.split(":", 1)[0],
        address=key.split(":", 1)[1],
        display_name="Bia",
    )


def _count(uow_factory: UnitOfWorkFactory, model: type[object]) -> int:
    uow = uow_factory()
    with uow:
        return len(uow.session.scalars(select(model)).all())


# -- access -------------------------------------------------------------------------------------


def test_creating_a_gestor_stores_the_office_and_issues_a_gestor_invite(
    uow_factory: UnitOfWorkFactory,
) -> None:
    issued = access.create_gestor(
        uow_factory(),
        cnpj="11.222.333/0001-81",
        razao_social="  Contábil Alfa  Ltda ",
        email="Contato@Alfa.com.br",
    )

    assert (issued.gestor_cnpj, issued.gestor_name, issued.role) == (
        "11222333000181",
        "Contábil Alfa Ltda",
        Role.GESTOR,
    )
    assert access.looks_like_code(issued.code)
    uow = uow_factory()
    with uow:
        gestor = uow.gestores.by_cnpj("11222333000181")
        assert gestor is not None
        assert uow.gestores.emails(gestor.id) == ["contato@alfa.com.br"]
        [stored] = uow.session.scalars(select(Invite)).all()
        # Only the hash is kept: the code itself is shown once.
        assert issued.code not in stored.code_hash
        assert stored.role == "gestor"


def test_a_second_gestor_with_the_same_cnpj_is_refused_in_portuguese(
    uow_factory: UnitOfWorkFactory,
) -> None:
    access.create_gestor(
        uow_factory(), cnpj=cnpj(1), razao_social="Escritório Um", email="um@exemplo.com.br"
    )

    with pytest.raises(Conflict, match=r"Já existe um gestor com o CNPJ \d\d\.\d{3}\.\d{3}/"):
        access.create_gestor(
            uow_factory(), cnpj=cnpj(1), razao_social="Outro", email="outro@exemplo.com.br"
        )
    uow = uow_factory()
    with uow:
        assert uow.gestores.count() == 1


def test_a_second_gestor_with_an_e_mail_already_linked_is_refused_in_portuguese(
    uow_factory: UnitOfWorkFactory,
) -> None:
    access.create_gestor(
        uow_factory(), cnpj=cnpj(1), razao_social="Escritório Um", email="um@exemplo.com.br"
    )

    with pytest.raises(Conflict, match="Este e-mail já está vinculado a outro gestor"):
        access.create_gestor(
            uow_factory(), cnpj=cnpj(2), razao_social="Dois", email="UM@exemplo.com.br"
        )
    uow = uow_factory()
    with uow:
        assert uow.gestores.count() == 1
    assert _count(uow_factory, Invite) == 1


def test_a_gestor_with_an_invalid_cnpj_is_refused_before_anything_is_stored(
    uow_factory: UnitOfWorkFactory,
) -> None:
    with pytest.raises(InvalidValue, match="CNPJ"):
        access.create_gestor(
            uow_factory(),
            cnpj="11.222.333/0001-00",
            razao_social="Escritório",
            email="x@exemplo.com.br",
        )
    uow = uow_factory()
    with uow:
        assert uow.gestores.count() == 0


def test_an_invite_for_a_contador_binds_the_identity_with_that_role(
    uow_factory: UnitOfWorkFactory,
) -> None:
    office = make_office(uow_factory, 1)

    issued = access.invite(uow_factory(), gestor_cnpj=office.cnpj, role=Role.CONTADOR)
    principal = _redeem(uow_factory, issued.code, "tg:777")

    assert issued.role is Role.CONTADOR
    assert (principal.gestor_id, principal.role) == (office.gestor.gestor_id, Role.CONTADOR)
    assert principal.can_manage is False
    assert access.resolve_principal(uow_factory(), "tg:777") == principal


def test_an_invite_for_an_unknown_gestor_is_not_found(uow_factory: UnitOfWorkFactory) -> None:
    with pytest.raises(NotFound, match="Nenhum gestor com o CNPJ"):
        access.invite(uow_factory(), gestor_cnpj=cnpj(404), role=Role.GESTOR)


def test_an_invite_code_works_once_only(uow_factory: UnitOfWorkFactory) -> None:
    office = make_office(uow_factory, 1)
    issued = access.invite(uow_factory(), gestor_cnpj=office.cnpj, role=Role.GESTOR)
    _redeem(uow_factory, issued.code, "tg:1")

    with pytest.raises(InviteRefused, match="já foi usado"):
        _redeem(uow_factory, issued.code, "tg:2")

    assert access.resolve_principal(uow_factory(), "tg:2") is None


def test_an_invite_code_is_accepted_with_lower_case_and_dashes(
    uow_factory: UnitOfWorkFactory,
) -> None:
    office = make_office(uow_factory, 1)
    issued = access.invite(uow_factory(), gestor_cnpj=office.cnpj, role=Role.GESTOR)
    typed = f"{issued.code[:4]}-{issued.code[4:8]}-{issued.code[8:]}".lower()

    principal = _redeem(uow_factory, typed, "tg:3")

    assert principal.gestor_id == office.gestor.gestor_id


def test_an_expired_invite_code_is_refused(uow_factory: UnitOfWorkFactory) -> None:
    office = make_office(uow_factory, 1)
    issued = access.invite(
        uow_factory(), gestor_cnpj=office.cnpj, role=Role.GESTOR, ttl=timedelta(hours=2)
    )

    with (
        time_machine.travel(issued.expires_at + timedelta(seconds=1)),
        pytest.raises(InviteRefused, match="expirou"),
    ):
        _redeem(uow_factory, issued.code, "tg:4")

    assert access.resolve_principal(uow_factory(), "tg:4") is None


def test_an_invite_code_is_still_good_just_before_it_expires(
    uow_factory: UnitOfWorkFactory,
) -> None:
    office = make_office(uow_factory, 1)
    issued = access.invite(
        uow_factory(), gestor_cnpj=office.cnpj, role=Role.GESTOR, ttl=timedelta(hours=2)
    )

    with time_machine.travel(issued.expires_at - timedelta(seconds=5)):
        principal = _redeem(uow_factory, issued.code, "tg:5")

    assert principal.role is Role.GESTOR


def test_an_unknown_invite_code_is_refused(uow_factory: UnitOfWorkFactory) -> None:
    make_office(uow_factory, 1)

    with pytest.raises(InviteRefused, match="Não encontrei este código"):
        _redeem(uow_factory, "ABCDEFGHJKMN", "tg:6")


def test_an_identity_that_already_has_access_cannot_redeem_another_code(
    uow_factory: UnitOfWorkFactory,
) -> None:
    office = make_office(uow_factory, 1, identity_key="tg:10")
    issued = access.invite(uow_factory(), gestor_cnpj=office.cnpj, role=Role.CONTADOR)

    with pytest.raises(Conflict, match="já tem acesso"):
        _redeem(uow_factory, issued.code, "tg:10")

    principal = access.resolve_principal(uow_factory(), "tg:10")
    assert principal is not None
    assert principal.role is Role.GESTOR
    uow = uow_factory()
    with uow:
        [unused] = [i for i in uow.session.scalars(select(Invite)) if i.role == "contador"]
        assert unused.used_at is None


def test_an_inactive_identity_resolves_to_no_principal(uow_factory: UnitOfWorkFactory) -> None:
    make_office(uow_factory, 1, identity_key="tg:20")
    uow = uow_factory()
    with uow:
        identity = uow.identities.by_key("tg:20")
        assert identity is not None
        identity.active = False
        uow.commit()

    assert access.resolve_principal(uow_factory(), "tg:20") is None
    assert access.resolve_principal(uow_factory(), "tg:unknown") is None


def test_resolving_a_principal_records_the_new_address_of_the_identity(
    uow_factory: UnitOfWorkFactory,
) -> None:
    make_office(uow_factory, 1, identity_key="wa:bsuid-1")

    uow = uow_factory()
    with uow:
        access.resolve_principal(uow, "wa:bsuid-1", address="5511988887777")
        uow.commit()

    uow = uow_factory()
    with uow:
        identity = uow.session.scalar(select(UserIdentity).where(UserIdentity.key == "wa:bsuid-1"))
        assert identity is not None
        assert identity.address == "5511988887777"


# -- clients ------------------------------------------------------------------------------------


@pytest.fixture
def office(uow_factory: UnitOfWorkFactory) -> Office:
    return make_office(uow_factory, 1)


@pytest.fixture
def other_office(uow_factory: UnitOfWorkFactory) -> Office:
    return make_office(uow_factory, 2)


def _new_client(uow_factory: UnitOfWorkFactory, n: int, **changes: object) -> clients.NewClient:
    software = catalog.list_softwares(uow_factory())[0]
    ouro = next(p for p in software.plans if p.name == "Ouro")
    new = clients.NewClient(
        payer=Payer.GESTOR,
        software_id=software.id,
        plan_id=ouro.id,
        documento=cnpj(n),
        razao_social=f"Padaria {n} Ltda",
        nome_fantasia="Padaria da Esquina",
        email=f"padaria{n}@exemplo.com.br",
        telefone="(11) 98765-4321",
        cep="01310-100",
        endereco="Av. Paulista, 1000 - Bela Vista - São Paulo/SP",
    )
    return replace(new, **changes)  # type: ignore[arg-type]


def test_registering_a_client_stores_it_as_teste_with_normalized_fields(
    uow_factory: UnitOfWorkFactory, office: Office
) -> None:
    card = clients.register_client(
        uow_factory(), office.gestor, _new_client(uow_factory, 1, email="Padaria1@Exemplo.com.br")
    )

    assert card.status is ContractStatus.TESTE
    assert (card.documento, card.email, card.telefone, card.cep) == (
        cnpj(1),
        "padaria1@exemplo.com.br",
        "+5511987654321",
        "01310100",
    )
    assert (card.cidade, card.uf, card.software, card.plano) == (
        "São Paulo",
        "SP",
        "FazNota",
        "Ouro",
    )
    assert card.price == Decimal("89.95")
    assert clients.get_client(uow_factory(), office.gestor, card.id) == card


def test_the_price_is_the_full_plan_price_when_the_client_pays(
    uow_factory: UnitOfWorkFactory, office: Office
) -> None:
    card = clients.register_client(
        uow_factory(), office.gestor, _new_client(uow_factory, 1, payer=Payer.CLIENTE)
    )

    assert card.price == Decimal("179.90")


def test_registering_a_client_writes_an_audit_entry_with_before_and_after(
    uow_factory: UnitOfWorkFactory, office: Office
) -> None:
    card = clients.register_client(uow_factory(), office.gestor, _new_client(uow_factory, 1))

    uow = uow_factory()
    with uow:
        [entry] = uow.audit.of_client(card.id)
        assert (entry.action, entry.actor, entry.gestor_id) == (
            "client.register",
            office.gestor.identity_key,
            office.gestor.gestor_id,
        )
        assert entry.before is None
        assert entry.after is not None
        assert entry.after["documento"] == cnpj(1)
        assert entry.after["status"] == "teste"
        assert entry.after["price"] == "89.95"
        assert entry.after["tipo"] == "CNPJ"


def test_a_registered_client_its_audit_entry_and_key_are_whole_rows(
    uow_factory: UnitOfWorkFactory, office: Office
) -> None:
    """Novo cadastro writes its three rows with Core statements: every column as the ORM
    objects had it, the ones nobody sets empty."""
    new = _new_client(uow_factory, 1)
    card = clients.register_client(uow_factory(), office.gestor, new)

    uow = uow_factory()
    with uow:
        stored = uow.session.get(Client, card.id)
        assert stored is not None
        assert stored.busca == "padaria 1 ltda padaria da esquina"
        assert (stored.created_at, stored.updated_at) == (card.created_at, card.created_at)
        assert stored.created_at.tzinfo is not None
        assert (stored.software_id, stored.plan_id) == (new.software_id, new.plan_id)
        assert (stored.status, stored.payer, stored.created_via) == ("teste", "gestor", "cadastro")
        for empty in (
            "email_contador",
            "pacote_mensal",
            "status_since",
            "ultima_emissao",
            "certificado_ate",
        ):
            assert getattr(stored, empty) is None, empty
        [entry] = uow.audit.of_client(card.id)
        assert entry.at == card.created_at
        assert entry.after == {
            "id": card.id,
            "razao_social": "Padaria 1 Ltda",
            "nome_fantasia": "Padaria da Esquina",
            "documento": cnpj(1),
            "email": "padaria1@exemplo.com.br",
            "telefone": "+5511987654321",
            "cep": "01310100",
            "endereco": "Av. Paulista, 1000 - Bela Vista",
            "cidade": "São Paulo",
            "uf": "SP",
            "software": "FazNota",
            "plano": "Ouro",
            "price": "89.95",
            "status": "teste",
            "payer": "gestor",
            "created_via": "cadastro",
            "created_at": card.created_at.isoformat(),
            "tipo": "CNPJ",
        }
        [key] = uow.session.scalars(
            select(IntegrationKey).where(IntegrationKey.client_id == card.id)
        ).all()
        assert (key.created_by, key.revoked_at) == (office.gestor.identity_key, None)
        assert key.created_at == card.created_at
        assert card.integration_key is not None
        assert card.integration_key.startswith(key.prefix)


def test_a_documento_registered_by_the_same_gestor_is_refused_by_name(
    uow_factory: UnitOfWorkFactory, office: Office
) -> None:
    add_client(uow_factory, office.gestor, 1, name="Mercado Azul Ltda")

    with pytest.raises(Conflict, match="já é do seu cliente Mercado Azul Ltda"):
        clients.register_client(uow_factory(), office.gestor, _new_client(uow_factory, 1))

    assert _count(uow_factory, Client) == 1
    assert _count(uow_factory, AuditEntry) == 1
    assert _count(uow_factory, IntegrationKey) == 1


def test_a_documento_registered_by_another_gestor_is_refused_without_telling_whose(
    uow_factory: UnitOfWorkFactory, office: Office, other_office: Office
) -> None:
    add_client(uow_factory, other_office.gestor, 1, name="Segredo do Outro Ltda")

    with pytest.raises(Conflict, match="cadastrado por outro gestor") as refused:
        clients.register_client(uow_factory(), office.gestor, _new_client(uow_factory, 1))

    assert "Segredo" not in refused.value.message
    assert _count(uow_factory, Client) == 1


def test_a_contador_cannot_register_a_client(
    uow_factory: UnitOfWorkFactory, office: Office
) -> None:
    contador = add_member(uow_factory, office, "tg:contador", Role.CONTADOR)

    with pytest.raises(Forbidden, match="contador"):
        clients.register_client(uow_factory(), contador, _new_client(uow_factory, 1))

    assert _count(uow_factory, Client) == 0


def test_a_contador_sees_the_client_list_and_card_but_cannot_open_gerenciar(
    uow_factory: UnitOfWorkFactory, office: Office
) -> None:
    card = add_client(uow_factory, office.gestor, 1)
    contador = add_member(uow_factory, office, "tg:contador", Role.CONTADOR)

    listed = clients.list_clients(uow_factory(), contador)
    seen = clients.get_client(uow_factory(), contador, card.id)

    assert [c.id for c in listed.items] == [card.id]
    assert seen == card
    with pytest.raises(Forbidden):
        clients.open_management(uow_factory(), contador, card.id)


def test_another_gestors_client_is_not_found_for_every_client_action(
    uow_factory: UnitOfWorkFactory, office: Office, other_office: Office
) -> None:
    theirs = add_client(uow_factory, other_office.gestor, 1)

    with pytest.raises(NotFound, match="Cliente não encontrado"):
        clients.get_client(uow_factory(), office.gestor, theirs.id)
    with pytest.raises(NotFound):
        clients.open_management(uow_factory(), office.gestor, theirs.id)
    assert clients.list_clients(uow_factory(), office.gestor).total == 0
    assert clients.list_clients(uow_factory(), office.gestor, query=cnpj(1)[:8]).total == 0


def test_a_missing_client_id_is_not_found(uow_factory: UnitOfWorkFactory, office: Office) -> None:
    with pytest.raises(NotFound):
        clients.get_client(uow_factory(), office.gestor, 999_999)


def test_a_plan_of_another_software_is_refused(
    uow_factory: UnitOfWorkFactory, office: Office
) -> None:
    faznota, pdv = catalog.list_softwares(uow_factory())

    with pytest.raises(NotFound, match="plano não está mais disponível"):
        clients.register_client(
            uow_factory(),
            office.gestor,
            _new_client(uow_factory, 1, software_id=faznota.id, plan_id=pdv.plans[0].id),
        )


def test_bad_fields_are_refused_again_by_the_service(
    uow_factory: UnitOfWorkFactory, office: Office
) -> None:
    for changes in (
        {"documento": "11.222.333/0001-00"},
        {"email": "sem-arroba"},
        {"telefone": "123"},
        {"cep": "0131"},
    ):
        with pytest.raises(InvalidValue):
            clients.register_client(
                uow_factory(), office.gestor, _new_client(uow_factory, 1, **changes)
            )

    assert _count(uow_factory, Client) == 0


def test_the_list_is_sorted_by_name_and_paginated(
    uow_factory: UnitOfWorkFactory, office: Office
) -> None:
    for n in range(1, 12):
        add_client(uow_factory, office.gestor, n, name=f"Cliente {12 - n:02d} Ltda")

    first = clients.list_clients(uow_factory(), office.gestor, page_size=5)
    last = clients.list_clients(uow_factory(), office.gestor, page=99, page_size=5)

    assert (first.total, first.page, first.pages) == (11, 1, 3)
    assert [c.razao_social for c in first.items] == [f"Cliente {n:02d} Ltda" for n in range(1, 6)]
    assert (last.page, [c.razao_social for c in last.items]) == (3, ["Cliente 11 Ltda"])


def test_searching_matches_part_of_the_name_without_accents_or_the_cnpj(
    uow_factory: UnitOfWorkFactory, office: Office
) -> None:
    padaria = add_client(uow_factory, office.gestor, 1, name="Padaria São João Ltda")
    add_client(uow_factory, office.gestor, 2, name="Mercado Central Ltda")

    by_name = clients.list_clients(uow_factory(), office.gestor, query="sao joao")
    by_cnpj = clients.list_clients(
        uow_factory(), office.gestor, query=padaria.documento[:2] + "." + padaria.documento[2:5]
    )
    nothing = clients.list_clients(uow_factory(), office.gestor, query="farmácia")

    assert [c.id for c in by_name.items] == [padaria.id]
    assert padaria.id in [c.id for c in by_cnpj.items]
    assert (nothing.total, nothing.query) == (0, "farmácia")


def test_the_own_email_check_knows_the_gestors_linked_e_mails(
    uow_factory: UnitOfWorkFactory, office: Office, other_office: Office
) -> None:
    assert clients.is_own_email(uow_factory(), office.gestor, office.email) is True
    assert clients.is_own_email(uow_factory(), office.gestor, other_office.email) is False
    assert clients.is_own_email(uow_factory(), office.gestor, "x@cliente.com.br") is False


def test_clients_created_at_is_an_aware_utc_datetime(
    uow_factory: UnitOfWorkFactory, office: Office
) -> None:
    moment = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
    with time_machine.travel(moment, tick=False):
        card = add_client(uow_factory, office.gestor, 1)

    assert clients.get_client(uow_factory(), office.gestor, card.id).created_at == moment


def test_a_documento_registered_by_two_gestores_at_once_is_one_client_and_a_clear_refusal(
    uow_factory: UnitOfWorkFactory, office: Office, other_office: Office
) -> None:
    # The first registration has written the client and not committed yet when the second
    # arrives: the database decides (the unique CPF/CNPJ), and the second gestor gets the
    # same refusal as for a client registered long before, not an error.
    first = uow_factory()
    second: list[object] = []

    new = _new_client(uow_factory, 7)

    def register_second() -> None:
        try:
            second.append(clients.register_client(uow_factory(), other_office.gestor, new))
        except Conflict as exc:
            second.append(exc)

    with first:
        clients.register_client(first, office.gestor, new)
        racing = threading.Thread(target=register_second)
        racing.start()
        racing.join(0.5)  # it waits for this transaction (a row lock, or SQLite's writer lock)
        assert racing.is_alive()
        first.commit()
    racing.join(10)
    (refusal,) = second
    assert isinstance(refusal, Conflict)
    assert "cadastrado por outro gestor" in refusal.message
    assert _count(uow_factory, Client) == 1
    assert _count(uow_factory, AuditEntry) == 1
    assert _count(uow_factory, IntegrationKey) == 1
