"""The cache of integration-key look-ups: a key seen a moment ago is answered from memory, and
whatever cuts a key's access (a new key, a blocked contract, a removed client, a raw UPDATE)
is refused on the very next request, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, update

from bot.app import App
from domain.clients import ContractStatus, Payer
from services import contracts, integration_keys
from services.clients import ClientCard
from services.types import UnitOfWorkFactory
from storage.key_cache import KEY_ACCESS, KeyAccess, KeyAccessCache
from storage.models import Client, IntegrationKey
from tests.support import Office, add_client, make_office
from web.app import create_app


@pytest.fixture
def office(uow_factory: UnitOfWorkFactory) -> Office:
    return make_office(uow_factory, 1)


@pytest.fixture
def card(uow_factory: UnitOfWorkFactory, office: Office) -> ClientCard:
    card = add_client(uow_factory, office.gestor, 1)
    assert card.integration_key is not None
    return card


def key_of(card: ClientCard) -> str:
    assert card.integration_key is not None
    return card.integration_key


def seen_once(uow_factory: UnitOfWorkFactory, card: ClientCard) -> None:
    """Authenticate once, and prove the key is now answered from the cache."""
    assert integration_keys.cached(key_of(card)) is None
    assert integration_keys.authenticate(uow_factory(), key_of(card)).client_id == card.id
    cached = integration_keys.cached(key_of(card))
    assert cached is not None
    assert cached.client_id == card.id


def test_a_key_seen_once_is_answered_from_the_cache(
    uow_factory: UnitOfWorkFactory, card: ClientCard
) -> None:
    seen_once(uow_factory, card)


def test_a_replaced_key_is_refused_at_once_even_when_cached(
    uow_factory: UnitOfWorkFactory, office: Office, card: ClientCard
) -> None:
    seen_once(uow_factory, card)

    new_key = integration_keys.regenerate(uow_factory(), office.gestor, card.id)

    assert integration_keys.cached(key_of(card)) is None
    with pytest.raises(integration_keys.KeyRefused):
        integration_keys.authenticate(uow_factory(), key_of(card))
    assert integration_keys.authenticate(uow_factory(), new_key).client_id == card.id


@pytest.mark.parametrize("status", [ContractStatus.BLOQUEADO, ContractStatus.CANCELADO])
def test_a_contract_cut_through_the_service_is_refused_at_once_even_when_cached(
    uow_factory: UnitOfWorkFactory, office: Office, card: ClientCard, status: ContractStatus
) -> None:
    seen_once(uow_factory, card)

    contracts.save_contract(
        uow_factory(), office.gestor, card.id, status=status, payer=Payer.GESTOR
    )

    with pytest.raises(integration_keys.AccessCut, match="contrato bloqueado ou cancelado"):
        integration_keys.authenticate(uow_factory(), key_of(card))
    # A cut key is not cached: giving the access back works on the next request too.
    contracts.save_contract(
        uow_factory(), office.gestor, card.id, status=ContractStatus.EFETIVADO, payer=Payer.GESTOR
    )
    assert integration_keys.authenticate(uow_factory(), key_of(card)).client_id == card.id


def test_a_raw_update_of_the_client_or_the_key_empties_the_cache_when_committed(
    uow_factory: UnitOfWorkFactory, card: ClientCard
) -> None:
    seen_once(uow_factory, card)
    uow = uow_factory()
    with uow:
        uow.session.execute(
            update(Client).where(Client.id == card.id).values(status=ContractStatus.BLOQUEADO)
        )
        assert integration_keys.cached(key_of(card)) is not None  # not before the commit
        uow.commit()

    with pytest.raises(integration_keys.AccessCut):
        integration_keys.authenticate(uow_factory(), key_of(card))


def test_a_rolled_back_change_keeps_the_cache(
    uow_factory: UnitOfWorkFactory, card: ClientCard
) -> None:
    seen_once(uow_factory, card)
    uow = uow_factory()
    with uow:
        uow.session.execute(delete(IntegrationKey).where(IntegrationKey.client_id == card.id))
        uow.rollback()

    assert integration_keys.cached(key_of(card)) is not None


def test_a_removed_key_is_refused_at_once(
    uow_factory: UnitOfWorkFactory, card: ClientCard
) -> None:
    seen_once(uow_factory, card)
    uow = uow_factory()
    with uow:
        for row in uow.session.query(IntegrationKey).filter_by(client_id=card.id):
            uow.session.delete(row)
        uow.commit()

    with pytest.raises(integration_keys.KeyRefused):
        integration_keys.authenticate(uow_factory(), key_of(card))


def test_the_api_refuses_a_replaced_key_on_the_next_request(
    app: App, office: Office, card: ClientCard
) -> None:
    web = TestClient(create_app(app.uow_factory, routers=app.web_routers()))
    headers = {"Authorization": f"Bearer {key_of(card)}"}
    assert web.get("/api/v1/cliente", headers=headers).status_code == 200
    assert integration_keys.cached(key_of(card)) is not None

    integration_keys.regenerate(app.uow_factory(), office.gestor, card.id)

    refused = web.get("/api/v1/cliente", headers=headers)
    assert refused.status_code == 401
    assert "Use a chave atual do cliente" in refused.json()["detail"]


def test_the_api_refuses_another_gestors_client_with_a_cached_key(
    app: App, uow_factory: UnitOfWorkFactory, card: ClientCard
) -> None:
    # A key only ever reaches its own client: the cache keys by the key's hash, never by id.
    other = add_client(uow_factory, make_office(uow_factory, 2).gestor, 2)
    web = TestClient(create_app(app.uow_factory, routers=app.web_routers()))
    mine = web.get("/api/v1/cliente", headers={"Authorization": f"Bearer {key_of(card)}"})
    theirs = web.get("/api/v1/cliente", headers={"Authorization": f"Bearer {key_of(other)}"})
    again = web.get("/api/v1/cliente", headers={"Authorization": f"Bearer {key_of(card)}"})

    assert mine.json()["id"] == again.json()["id"] == card.id
    assert theirs.json()["id"] == other.id


# -- the cache itself -------------------------------------------------------------------------

ACCESS = KeyAccess(1, 1, "11222333000181", "ACME", "efetivado")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_an_entry_expires_after_the_ttl() -> None:
    clock = Clock()
    cache = KeyAccessCache(ttl=5, clock=clock)
    cache.put("h", ACCESS, cache.generation)
    clock.now += 4.9
    assert cache.get("h") == ACCESS
    clock.now += 0.2
    assert cache.get("h") is None


def test_a_look_up_that_began_before_a_change_is_not_stored() -> None:
    cache = KeyAccessCache()
    generation = cache.generation  # the look-up starts, reads an old row…
    cache.clear()  # …a change is committed meanwhile…
    cache.put("h", ACCESS, generation)  # …and the old row must not come back
    assert cache.get("h") is None


def test_the_cache_keeps_at_most_its_size_dropping_the_least_recent() -> None:
    cache = KeyAccessCache(size=2)
    for key in ("a", "b"):
        cache.put(key, ACCESS, cache.generation)
    assert cache.get("a") == ACCESS  # "b" is now the least recent
    cache.put("c", ACCESS, cache.generation)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (ACCESS, None, ACCESS)


def test_a_ttl_of_zero_caches_nothing() -> None:
    cache = KeyAccessCache(ttl=0)
    cache.put("h", ACCESS, cache.generation)
    assert cache.get("h") is None


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    KEY_ACCESS.clear()
