"""Liveness checks the web app exposes."""

from __future__ import annotations

from services.types import UnitOfWorkFactory
from storage.repositories import ping


def check_database(uow_factory: UnitOfWorkFactory) -> None:
    """Run a trivial query; raises when the database cannot be reached."""
    uow = uow_factory()
    with uow:
        ping(uow.session)
