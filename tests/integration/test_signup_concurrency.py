"""Double submit: the same form sent twice at the same moment makes one client."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from bot.app import App
from services import signup_form, signups
from tests.support import make_office
from tests.unit.links.support import form, issue, stored_clients, stored_links, stored_notices


def at_once(count: int, work: Callable[[], Any]) -> list[Any]:
    """Run `work` in `count` threads released together; results or exceptions, in order."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work()
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_the_same_link_submitted_four_times_at_once_makes_one_client(app: App) -> None:
    office = make_office(app.uow_factory, 1)
    issued = issue(app.uow_factory, office.gestor)

    results = at_once(4, lambda: signups.complete_link(app.uow_factory(), issued.token, form()))

    assert all(isinstance(r, signups.Done) for r in results), results
    assert len({r.razao_social for r in results}) == 1
    [client] = stored_clients(app.uow_factory)
    assert stored_links(app.uow_factory)[0].client_id == client.id
    assert len(stored_notices(app.uow_factory)) == 1


def test_two_links_racing_with_the_same_cpf_cnpj_make_one_client(app: App) -> None:
    office = make_office(app.uow_factory, 1)
    first = issue(app.uow_factory, office.gestor)
    second = issue(app.uow_factory, office.gestor)
    tokens = iter([first.token, second.token])
    lock = threading.Lock()

    def submit() -> signups.Done:
        with lock:
            token = next(tokens)
        return signups.complete_link(app.uow_factory(), token, form())

    results = at_once(2, submit)

    done = [r for r in results if isinstance(r, signups.Done)]
    refused = [r for r in results if isinstance(r, signup_form.FormInvalid)]
    assert (len(done), len(refused)) == (1, 1), results
    assert refused[0].errors == {"documento": signup_form.DOC_TAKEN}
    assert len(stored_clients(app.uow_factory)) == 1
    assert sorted(link.used_at is None for link in stored_links(app.uow_factory)) == [
        False,
        True,
    ]


def test_the_same_cadastro_submitted_three_times_at_once_is_kept_once(app: App) -> None:
    plan = signups.plan_options(app.uow_factory())[0]

    results = at_once(3, lambda: signups.sign_up(app.uow_factory(), form(plano=str(plan.id))))

    assert all(isinstance(r, signups.Done) for r in results), results
    assert len(signups.list_sign_ups(app.uow_factory())) == 1
