"""Contracting links in the service layer: token, states over time, single use, cancel,
tenancy and role; the client each completed link creates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from domain.clients import ContractStatus, CreatedVia, Payer, Role
from domain.links import LinkState
from services import links, signups
from services.errors import Conflict, Forbidden
from services.links import LinkNotFound, hash_token
from services.principal import Principal
from services.types import UnitOfWorkFactory
from tests.support import add_member, make_office
from tests.unit.links.support import (
    audit_actions,
    form,
    issue,
    stored_clients,
    stored_links,
    stored_notices,
)

T0 = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)


def state_of(uow_factory: UnitOfWorkFactory, link_id: int, principal: Principal) -> LinkState:
    return links.get_link(uow_factory(), principal, link_id).state


def test_a_link_token_is_long_random_and_stored_only_as_its_hash(
    uow_factory: UnitOfWorkFactory,
) -> None:
    office = make_office(uow_factory, 1)

    first = issue(uow_factory, office.gestor)
    second = issue(uow_factory, office.gestor)

    assert len(first.token) >= 43  # 32 random bytes, URL-safe base64: 256 bits
    assert first.token != second.token
    [one, two] = stored_links(uow_factory)
    assert one.token_hash == hash_token(first.token)
    assert first.token not in (one.token_hash, two.token_hash)
    assert audit_actions(uow_factory) == ["link.create", "link.create"]


def test_the_link_address_is_the_public_base_url_with_the_token() -> None:
    options = links.LinkOptions(base_url="https://cadastro.exemplo.com.br/")

    assert options.url("abc") == "https://cadastro.exemplo.com.br/c/abc"


def test_the_price_is_the_one_the_payer_pays(uow_factory: UnitOfWorkFactory) -> None:
    office = make_office(uow_factory, 1)

    by_client = issue(uow_factory, office.gestor, payer=Payer.CLIENTE)
    by_gestor = issue(uow_factory, office.gestor, payer=Payer.GESTOR)

    assert (by_client.plan, str(by_client.price)) == ("Bronze", "79.90")
    assert str(by_gestor.price) == "39.95"
    offer = signups.open_link(uow_factory(), by_gestor.token)
    assert (offer.gestor_name, offer.software, offer.plan, str(offer.price), offer.payer) == (
        "Escritório 1 Ltda",
        "FazNota",
        "Bronze",
        "39.95",
        Payer.GESTOR,
    )


def test_a_link_goes_from_enviado_to_aberto_to_concluido(uow_factory: UnitOfWorkFactory) -> None:
    office = make_office(uow_factory, 1)
    issued = issue(uow_factory, office.gestor)
    assert state_of(uow_factory, issued.id, office.gestor) is LinkState.ENVIADO

    signups.open_link(uow_factory(), issued.token)
    assert state_of(uow_factory, issued.id, office.gestor) is LinkState.ABERTO

    signups.complete_link(uow_factory(), issued.token, form())
    view = links.get_link(uow_factory(), office.gestor, issued.id)
    assert view.state is LinkState.CONCLUIDO
    assert view.client_name == "Padaria Pão Quente Ltda"


def test_a_link_expires_after_its_validity_on_a_frozen_clock(
    uow_factory: UnitOfWorkFactory,
) -> None:
    office = make_office(uow_factory, 1)
    with time_machine.travel(T0, tick=False):
        issued = issue(uow_factory, office.gestor, ttl=timedelta(days=7))
    assert issued.expires_at == T0 + timedelta(days=7)

    with time_machine.travel(T0 + timedelta(days=7) - timedelta(seconds=1), tick=False):
        assert signups.open_link(uow_factory(), issued.token).plan == "Bronze"
    with time_machine.travel(T0 + timedelta(days=7), tick=False):
        with pytest.raises(signups.LinkGone) as gone:
            signups.open_link(uow_factory(), issued.token)
        assert gone.value.state is LinkState.EXPIRADO
        assert gone.value.message == (
            "Este link de contratação expirou. Peça um novo link a quem o enviou."
        )
        with pytest.raises(signups.LinkGone):
            signups.complete_link(uow_factory(), issued.token, form())
        assert state_of(uow_factory, issued.id, office.gestor) is LinkState.EXPIRADO
    assert stored_clients(uow_factory) == []


def test_a_completed_link_creates_a_teste_client_of_the_gestor_via_link(
    uow_factory: UnitOfWorkFactory,
) -> None:
    office = make_office(uow_factory, 1)
    issued = issue(uow_factory, office.gestor, payer=Payer.GESTOR, plan=1)

    done = signups.complete_link(
        uow_factory(), issued.token, form(email_contador="Contador@Escritorio.com.br")
    )

    assert (done.razao_social, done.gestor_name, done.software, done.plan) == (
        "Padaria Pão Quente Ltda",
        "Escritório 1 Ltda",
        "FazNota",
        "Prata",
    )
    [client] = stored_clients(uow_factory)
    assert client.gestor_id == office.gestor.gestor_id
    assert client.status == ContractStatus.TESTE.value
    assert client.created_via == CreatedVia.LINK.value
    assert client.payer == Payer.GESTOR.value
    assert client.documento == "11222333000181"
    assert client.email_contador == "contador@escritorio.com.br"
    assert client.telefone == "+5511987654321"
    [link] = stored_links(uow_factory)
    assert link.client_id == client.id
    assert link.used_at is not None
    [notice] = stored_notices(uow_factory)
    assert (notice.gestor_id, notice.kind, notice.payload) == (
        office.gestor.gestor_id,
        "link.completed",
        {"cid": client.id, "link": link.id},
    )
    assert "client.register" in audit_actions(uow_factory)


def test_a_link_is_single_use(uow_factory: UnitOfWorkFactory) -> None:
    office = make_office(uow_factory, 1)
    issued = issue(uow_factory, office.gestor)
    signups.complete_link(uow_factory(), issued.token, form())

    with pytest.raises(signups.LinkGone) as gone:
        signups.complete_link(uow_factory(), issued.token, form(documento="11.444.777/0001-61"))
    assert gone.value.message == "Este link de contratação já foi usado: o cadastro foi concluído."
    with pytest.raises(signups.LinkGone):
        signups.open_link(uow_factory(), issued.token)
    assert len(stored_clients(uow_factory)) == 1


def test_sending_the_same_form_twice_makes_one_client_and_the_same_confirmation(
    uow_factory: UnitOfWorkFactory,
) -> None:
    office = make_office(uow_factory, 1)
    issued = issue(uow_factory, office.gestor)

    first = signups.complete_link(uow_factory(), issued.token, form())
    second = signups.complete_link(uow_factory(), issued.token, form())

    assert first == second
    assert len(stored_clients(uow_factory)) == 1
    assert len(stored_notices(uow_factory)) == 1


def test_a_cancelled_link_cannot_be_opened_or_used(uow_factory: UnitOfWorkFactory) -> None:
    office = make_office(uow_factory, 1)
    issued = issue(uow_factory, office.gestor)

    view = links.cancel_link(uow_factory(), office.gestor, issued.id)

    assert view.state is LinkState.CANCELADO
    with pytest.raises(signups.LinkGone) as gone:
        signups.open_link(uow_factory(), issued.token)
    assert gone.value.state is LinkState.CANCELADO
    with pytest.raises(signups.LinkGone):
        signups.complete_link(uow_factory(), issued.token, form())
    assert stored_clients(uow_factory) == []
    assert audit_actions(uow_factory) == ["link.create", "link.cancel"]


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("complete", "Este link não pode mais ser cancelado: ele está concluído."),
        ("cancel", "Este link não pode mais ser cancelado: ele está cancelado."),
    ],
)
def test_a_link_that_is_no_longer_pending_cannot_be_cancelled(
    uow_factory: UnitOfWorkFactory, setup: str, message: str
) -> None:
    office = make_office(uow_factory, 1)
    issued = issue(uow_factory, office.gestor)
    if setup == "complete":
        signups.complete_link(uow_factory(), issued.token, form())
    else:
        links.cancel_link(uow_factory(), office.gestor, issued.id)

    with pytest.raises(Conflict) as refused:
        links.cancel_link(uow_factory(), office.gestor, issued.id)
    assert refused.value.message == message


def test_an_expired_link_cannot_be_cancelled(uow_factory: UnitOfWorkFactory) -> None:
    office = make_office(uow_factory, 1)
    with time_machine.travel(T0, tick=False):
        issued = issue(uow_factory, office.gestor, ttl=timedelta(days=1))
    with time_machine.travel(T0 + timedelta(days=2), tick=False), pytest.raises(Conflict):
        links.cancel_link(uow_factory(), office.gestor, issued.id)


@pytest.mark.parametrize("token", ["", "naoexiste", "x" * 43, "x" * 500])
def test_an_unknown_token_is_not_found(uow_factory: UnitOfWorkFactory, token: str) -> None:
    with pytest.raises(signups.LinkUnknown) as unknown:
        signups.open_link(uow_factory(), token)
    assert unknown.value.message == (
        "Este link de contratação não existe. Confira se copiou o endereço inteiro."
    )


def test_another_gestor_cannot_see_cancel_or_send_a_link(uow_factory: UnitOfWorkFactory) -> None:
    mine = make_office(uow_factory, 1)
    theirs = make_office(uow_factory, 2)
    issued = issue(uow_factory, theirs.gestor)

    with pytest.raises(LinkNotFound, match=r"Link não encontrado\."):
        links.get_link(uow_factory(), mine.gestor, issued.id)
    with pytest.raises(LinkNotFound):
        links.cancel_link(uow_factory(), mine.gestor, issued.id)
    with pytest.raises(LinkNotFound):
        links.send_by_email(
            uow_factory(),
            mine.gestor,
            issued.id,
            to="a@b.com.br",
            subject="s",
            body="b",
            gateway=_NullEmail(),
        )
    assert links.list_links(uow_factory(), mine.gestor) == []
    assert stored_links(uow_factory)[0].cancelled_at is None


def test_a_contador_cannot_create_list_see_or_cancel_links(
    uow_factory: UnitOfWorkFactory,
) -> None:
    office = make_office(uow_factory, 1)
    contador = add_member(uow_factory, office, "test:carol", Role.CONTADOR)
    issued = issue(uow_factory, office.gestor)

    with pytest.raises(Forbidden):
        issue(uow_factory, contador)
    with pytest.raises(Forbidden):
        links.list_links(uow_factory(), contador)
    with pytest.raises(Forbidden):
        links.get_link(uow_factory(), contador, issued.id)
    with pytest.raises(Forbidden):
        links.cancel_link(uow_factory(), contador, issued.id)
    assert len(stored_links(uow_factory)) == 1


def test_the_list_shows_the_newest_links_first_with_their_state(
    uow_factory: UnitOfWorkFactory,
) -> None:
    office = make_office(uow_factory, 1)
    with time_machine.travel(T0, tick=False):
        old = issue(uow_factory, office.gestor, ttl=timedelta(days=1))
    with time_machine.travel(T0 + timedelta(days=3), tick=False):
        used = issue(uow_factory, office.gestor)
        signups.complete_link(uow_factory(), used.token, form())
        cancelled = issue(uow_factory, office.gestor)
        links.cancel_link(uow_factory(), office.gestor, cancelled.id)
        fresh = issue(uow_factory, office.gestor)
        signups.open_link(uow_factory(), fresh.token)

        found = links.list_links(uow_factory(), office.gestor)

    assert [(v.id, v.state, v.client_name) for v in found] == [
        (fresh.id, LinkState.ABERTO, None),
        (cancelled.id, LinkState.CANCELADO, None),
        (used.id, LinkState.CONCLUIDO, "Padaria Pão Quente Ltda"),
        (old.id, LinkState.EXPIRADO, None),
    ]


class _NullEmail:
    def send(self, message: object) -> None:
        raise AssertionError("must not send")
