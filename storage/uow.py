"""Unit of work: one transaction, its repositories, commit once; rollback is the default.

Re-entrant: a use case called inside another (a service called by the conversation engine
during an event) joins the outer transaction, and only the outermost `commit()` commits, so
one inbound event is one transaction and nothing is half-written.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Generic, TypeVar, overload

from sqlalchemy.orm import Session, sessionmaker

from storage.billing_repos import FaturaRepository, GestorEmailRepository
from storage.config_repos import AccessLinkRepository, CertificateRepository, HistoryRepository
from storage.conversation import ConversationRepository, OutboxRepository
from storage.db import advisory_xact_lock
from storage.fiscal import FiscalDocumentRepository
from storage.integration import IntegrationKeyRepository, NoticeRepository
from storage.jobs import JobRepository
from storage.links import LinkRepository, SignUpRepository
from storage.pacotes import PacoteRepository
from storage.pendencias import PendenciaRepository
from storage.reminders import (
    NoticeMuteRepository,
    ReminderRepository,
    SchedulerLeaseRepository,
)
from storage.repositories import (
    AuditRepository,
    CatalogRepository,
    ClientRepository,
    GestorRepository,
    IdentityRepository,
    InviteRepository,
)
from storage.sefaz import SefazRepository
from storage.whatsapp import WhatsAppRepository

R = TypeVar("R")


class _Repository(Generic[R]):
    """A repository of the unit of work, built on first use in each transaction: an event
    touches three or four of the ~27, and building them all cost more than a statement."""

    def __init__(self, factory: Callable[[Session], R]) -> None:
        self.factory = factory
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, uow: None, owner: type) -> _Repository[R]: ...
    @overload
    def __get__(self, uow: UnitOfWork, owner: type) -> R: ...
    def __get__(self, uow: UnitOfWork | None, owner: type) -> R | _Repository[R]:
        if uow is None:
            return self
        repository = self.factory(uow.session)
        uow.__dict__[self.name] = repository  # later reads find it before this descriptor
        uow._built.append(self.name)
        return repository


class UnitOfWork:
    session: Session
    gestores = _Repository(GestorRepository)
    identities = _Repository(IdentityRepository)
    invites = _Repository(InviteRepository)
    catalog = _Repository(CatalogRepository)
    clients = _Repository(ClientRepository)
    audit = _Repository(AuditRepository)
    conversations = _Repository(ConversationRepository)
    outbox = _Repository(OutboxRepository)
    integration_keys = _Repository(IntegrationKeyRepository)
    notices = _Repository(NoticeRepository)
    faturas = _Repository(FaturaRepository)
    gestor_emails = _Repository(GestorEmailRepository)
    links = _Repository(LinkRepository)
    sign_ups = _Repository(SignUpRepository)
    certificates = _Repository(CertificateRepository)
    access_links = _Repository(AccessLinkRepository)
    history = _Repository(HistoryRepository)
    fiscal = _Repository(FiscalDocumentRepository)
    whatsapp = _Repository(WhatsAppRepository)
    reminders = _Repository(ReminderRepository)
    scheduler_leases = _Repository(SchedulerLeaseRepository)
    notice_mutes = _Repository(NoticeMuteRepository)
    jobs = _Repository(JobRepository)
    pendencias = _Repository(PendenciaRepository)
    sefaz = _Repository(SefazRepository)
    pacotes = _Repository(PacoteRepository)

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._session_factory = session_factory
        self._depth = 0
        self._built: list[str] = []
        self.committed = False
        # Notices published in this transaction (services/notices.py): whoever commits it
        # wakes the notice loop.
        self.published_notices = 0

    def __enter__(self) -> UnitOfWork:
        if self._depth == 0:
            self.session = self._session_factory()
            self.committed = False
            self.published_notices = 0
            for name in self._built:  # the last transaction's, bound to its closed session
                del self.__dict__[name]
            self._built.clear()
        self._depth += 1
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._depth -= 1
        if self._depth == 0:
            try:
                self.session.rollback()
            finally:
                self.session.close()

    @property
    def is_outermost(self) -> bool:
        return self._depth == 1

    def commit(self) -> None:
        """Commit, unless this is a nested use case: then the outermost block commits."""
        if self._depth == 1:
            self.session.commit()
            self.committed = True

    def rollback(self) -> None:
        self.session.rollback()

    def lock(self, name: str) -> None:
        """Serialize with other transactions on `name` until this one ends."""
        advisory_xact_lock(self.session, name)


class UnitOfWorkFactory:
    """Builds a fresh unit of work per use: services take one of these."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self.session_factory = session_factory

    def __call__(self) -> UnitOfWork:
        return UnitOfWork(self.session_factory)
