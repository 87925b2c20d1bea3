"""Types the upper layers pass around without reaching into storage themselves."""

from storage.uow import UnitOfWork as UnitOfWork
from storage.uow import UnitOfWorkFactory as UnitOfWorkFactory

__all__ = ["UnitOfWork", "UnitOfWorkFactory"]
