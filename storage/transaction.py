"""What repositories run in: their unit of work's transaction (storage/uow.py).

A transaction begins on a bare connection from the pool; the ORM session comes only when a
repository asks for it (an ORM query, an object to add), and then takes the transaction over.
Repositories written in Core statements never ask, so an event whose steps read and write
through them alone never makes a session (≈ 35 µs of CPU a transaction).
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import Connection
from sqlalchemy.orm import Session


class Transaction(Protocol):
    @property
    def connection(self) -> Connection:
        """The transaction's connection, begun on first use."""
        ...

    @property
    def session(self) -> Session:
        """The ORM session of the same transaction, made on first use."""
        ...

    @property
    def dialect(self) -> str: ...

    def flush(self) -> None:
        """Write the session's pending ORM changes, if there is a session (Core statements do
        not autoflush)."""


class Repository:
    """Queries by intention, in its unit of work's transaction. Core statements go on
    `connection` (or `flushed()`, when the session may hold pending ORM changes they must
    see); ORM work on `session`."""

    def __init__(self, transaction: Transaction) -> None:
        self._transaction = transaction

    @property
    def connection(self) -> Connection:
        return self._transaction.connection

    @property
    def session(self) -> Session:
        return self._transaction.session

    @property
    def dialect(self) -> str:
        return self._transaction.dialect

    def flushed(self) -> Connection:
        """The connection, once the session's pending ORM changes are written."""
        self._transaction.flush()
        return self._transaction.connection
