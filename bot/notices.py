"""The notice loop: turns pending notices into chat messages (services/notices.py)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping

from bot.wakeup import Wakeup
from services import notices
from services.capabilities import Capabilities
from services.messages import Inbound
from services.types import UnitOfWorkFactory

log = logging.getLogger(__name__)


class NoticeLoop:
    """Dispatches notices when woken (a use case published one) and every `interval` anyway."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        handle: Callable[[Inbound], object],
        wakeup: Wakeup,
        *,
        interval: float = 2.0,
        capabilities: Mapping[str, Capabilities] | None = None,
    ) -> None:
        self.uow_factory = uow_factory
        self.capabilities = capabilities
        self.handle = handle
        self.wakeup = wakeup
        self.interval = interval
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    def wake(self) -> None:
        """Safe from any thread."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        unsubscribe = self.wakeup.subscribe(self.wake)
        try:
            while not self._stop.is_set():
                try:
                    await asyncio.to_thread(
                        notices.dispatch,
                        self.uow_factory,
                        self.handle,
                        capabilities=self.capabilities,
                    )
                except Exception:
                    log.exception("notice dispatch failed; retrying on the next round")
                self._wake.clear()
                waiters = {asyncio.ensure_future(e.wait()) for e in (self._wake, self._stop)}
                _, pending = await asyncio.wait(
                    waiters, timeout=self.interval, return_when=asyncio.FIRST_COMPLETED
                )
                for waiter in pending:
                    waiter.cancel()
        finally:
            unsubscribe()
