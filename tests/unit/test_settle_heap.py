"""`serve` takes start-up's objects out of the garbage collector's full collections."""

from __future__ import annotations

import gc
from collections.abc import Coroutine
from typing import Any
from unittest import mock

from bot import serve


def test_settle_heap_freezes_what_exists_so_full_collections_skip_it() -> None:
    built_at_start = [[n] for n in range(1000)]  # containers the collector tracks
    before = gc.get_freeze_count()
    try:
        serve.settle_heap()
        assert gc.get_freeze_count() >= before + len(built_at_start)
        tracked = {id(o) for o in gc.get_objects()}  # generations 0–2, not the frozen ones
        assert not any(id(o) in tracked for o in built_at_start)
        later = [[1], [2]]
        tracked = {id(o) for o in gc.get_objects()}
        assert all(id(o) in tracked for o in later)  # what comes later is collected as usual
    finally:
        gc.unfreeze()


def test_run_server_settles_the_heap_before_serving_on_the_chosen_loop() -> None:
    import uvloop

    calls: list[str] = []
    factories: list[object] = []

    class Runner:
        def __init__(self, *, loop_factory: object) -> None:
            factories.append(loop_factory)

        def __enter__(self) -> Runner:
            return self

        def __exit__(self, *_exc: object) -> None:
            return None

        def run(self, coroutine: Coroutine[Any, Any, None]) -> None:
            coroutine.close()
            calls.append("run")

    app = mock.Mock()
    app.settings.host, app.settings.port, app.settings.event_loop = "127.0.0.1", 0, "auto"
    with (
        mock.patch.object(serve, "settle_heap", side_effect=lambda: calls.append("settle")),
        mock.patch.object(serve.asyncio, "Runner", Runner),
    ):
        serve.run_server(app)
    assert calls == ["settle", "run"]
    assert factories == [uvloop.new_event_loop]
    app.close.assert_called_once()
