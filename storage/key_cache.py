"""A short-lived, in-process cache of integration-key look-ups (key hash → client access).

Every integration API request authenticates; on SQLite that read would otherwise queue behind
the writers (every transaction begins IMMEDIATE), and on PostgreSQL it is a round trip and a
transaction of its own. Only keys that were valid when read are kept, for `ttl` seconds.

Freshness rules:
- in this process, a committed change to any `integration_keys` or `clients` row (a key
  revoked or replaced, a contract blocked or cancelled, a client removed) empties the cache at
  the commit, through ORM updates, deletes and bulk UPDATE/DELETE statements alike (session
  events below), so the next request reads the database again;
- a look-up that began before such a commit is not stored (a generation number), so an old
  snapshot read concurrently cannot be put back after the cache was emptied;
- another process (a second instance behind a load balancer, a CLI) sees a change within
  `ttl` seconds: the cache is per process, and `ttl` bounds how stale it can be.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from storage.models import Client, IntegrationKey

DEFAULT_TTL = 5.0  # seconds another process may keep using a key revoked elsewhere
DEFAULT_SIZE = 4096
_WATCHED_TABLES = frozenset({IntegrationKey.__tablename__, Client.__tablename__})
_CHANGED = "integration_access_changed"


@dataclass(frozen=True, slots=True)
class KeyAccess:
    """What authenticating needs of a valid key's row and its client."""

    client_id: int
    gestor_id: int
    documento: str
    razao_social: str
    status: str


class KeyAccessCache:
    def __init__(
        self,
        ttl: float = DEFAULT_TTL,
        size: int = DEFAULT_SIZE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl, self._size, self._clock = ttl, size, clock
        self._items: OrderedDict[str, tuple[float, KeyAccess]] = OrderedDict()
        self._lock = threading.Lock()
        self._generation = 0

    @property
    def generation(self) -> int:
        """Read before a database look-up and hand to `put`."""
        return self._generation

    def get(self, key_hash: str) -> KeyAccess | None:
        with self._lock:
            found = self._items.get(key_hash)
            if found is None:
                return None
            expires, access = found
            if self._clock() >= expires:
                del self._items[key_hash]
                return None
            self._items.move_to_end(key_hash)
            return access

    def put(self, key_hash: str, access: KeyAccess, generation: int) -> None:
        """Keep a valid key's access, unless something changed since `generation` was read."""
        if self.ttl <= 0:
            return
        with self._lock:
            if generation != self._generation:
                return
            self._items[key_hash] = (self._clock() + self.ttl, access)
            self._items.move_to_end(key_hash)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._generation += 1
            self._items.clear()


KEY_ACCESS = KeyAccessCache()


@event.listens_for(Session, "after_flush")
def _flushed(session: Session, _flush: UOWTransaction) -> None:
    # Still the pre-flush lists here: what this flush changed or removed.
    if any(isinstance(row, IntegrationKey | Client) for row in (*session.dirty, *session.deleted)):
        session.info[_CHANGED] = True


@event.listens_for(Session, "do_orm_execute")
def _executed(state: ORMExecuteState) -> None:
    if (state.is_update or state.is_delete) and _touches_watched(state.statement):
        state.session.info[_CHANGED] = True


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    if session.info.pop(_CHANGED, False):
        KEY_ACCESS.clear()


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(_CHANGED, None)


def _touches_watched(statement: Any) -> bool:
    table = getattr(statement, "table", None)
    return getattr(table, "name", None) in _WATCHED_TABLES
