"""Unit of work: one transaction, its repositories, commit once; rollback is the default.

Re-entrant: a use case called inside another (a service called by the conversation engine
during an event) joins the outer transaction, and only the outermost `commit()` commits, so
one inbound event is one transaction and nothing is half-written.

Units of work may also take turns in one `SharedTransaction`: each commits its part into it,
and the shared transaction commits them all at once (or none of them). A unit that leaves
without committing what it began spoils it: the shared commit then refuses.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Generic, TypeVar, overload

from sqlalchemy import Connection, Engine
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
from storage.transaction import Transaction
from storage.whatsapp import WhatsAppRepository

R = TypeVar("R")


class _Repository(Generic[R]):
    """A repository of the unit of work, built on first use in each transaction: an event
    touches three or four of the ~27, and building them all cost more than a statement."""

    def __init__(self, factory: Callable[[Transaction], R]) -> None:
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
        repository = self.factory(uow)
        uow.__dict__[self.name] = repository  # later reads find it before this descriptor
        uow._built.append(self.name)
        return repository


class UnitOfWork:
    """One transaction (storage/transaction.py). It begins on a bare connection from the pool
    when a statement asks for `connection` first (the hot path: claim, state, replies, the
    client list); the ORM session is made only when something asks for `session`, and then
    takes that transaction over: it commits or rolls it back from then on. A transaction
    that asks for the session first is the session's from the start."""

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

    def __init__(
        self, session_factory: sessionmaker[Session], shared: SharedTransaction | None = None
    ) -> None:
        self._session_factory = session_factory
        self._engine: Engine = session_factory.kw["bind"]
        # The transaction this one takes a turn in, instead of one of its own.
        self._shared = shared
        # It has statements in the shared transaction that it has not committed yet.
        self._in_shared = False
        self.dialect: str = self._engine.dialect.name
        self._depth = 0
        self._built: list[str] = []
        self._session: Session | None = None
        # The transaction's connection while no session has taken it over.
        self._connection: Connection | None = None
        # The session's connection and the session transaction it belongs to
        # (`Session.connection()` costs about as much as a small statement).
        self._session_connection: tuple[object, Connection] | None = None
        self.committed = False
        # Notices published in this transaction (services/notices.py): whoever commits it
        # wakes the notice loop.
        self.published_notices = 0

    def __enter__(self) -> UnitOfWork:
        if self._depth == 0:
            self._session = None
            self._connection = None
            self._session_connection = None
            self._in_shared = False
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
            session, connection = self._session, self._connection
            if connection is not None:
                # both end here; the session made on the connection cannot outlive it
                self._session = self._connection = None
            try:
                if session is not None:
                    try:
                        session.rollback()
                    finally:
                        session.close()
            finally:
                if self._shared is not None:
                    self._spoil_if_begun()
                elif connection is not None:
                    connection.close()  # rolls back what is left; back to the pool

    @property
    def session(self) -> Session:
        """The ORM session of this transaction, made on first use."""
        session = self._session
        if session is not None and self._shared is not None:
            self._check_open()
        if session is None:
            if self._shared is not None:
                # on the shared connection, in a savepoint of its own: its commit and rollback
                # are the session's part; the unit's own follow
                session = self._session_factory(
                    bind=self.connection, join_transaction_mode="create_savepoint"
                )
            elif self._connection is None:
                session = self._session_factory()
            else:  # the transaction began on the bare connection: the session takes it over
                session = self._session_factory(
                    bind=self._connection, join_transaction_mode="control_fully"
                )
            self._session = session
        return session

    @property
    def connection(self) -> Connection:
        """The transaction's connection, begun (the SQLite writer's BEGIN IMMEDIATE, the pool's
        idle check) on first use."""
        shared = self._shared
        if shared is not None:
            if not self._in_shared:
                self._check_open()
                self._in_shared = True
            return shared.connection
        session = self._session
        if session is not None:
            transaction = session.get_transaction()
            remembered = self._session_connection
            if (
                remembered is not None
                and transaction is not None
                and remembered[0] is transaction
                and not remembered[1].closed
            ):
                return remembered[1]
            connection = session.connection()
            self._session_connection = (session.get_transaction(), connection)
            return connection
        bare = self._connection = _begun(self._engine, self._connection)
        return bare

    def _check_open(self) -> None:
        """A unit of work in a shared transaction is over once committed: what it did next
        would be neither its own (released) nor rolled back with it."""
        if self.committed:
            raise RuntimeError("this unit of work has committed its part of a shared transaction")

    def flush(self) -> None:
        session = self._session
        if session is not None and (session.new or session.dirty or session.deleted):
            session.flush()

    @property
    def is_outermost(self) -> bool:
        return self._depth == 1

    def commit(self) -> None:
        """Commit, unless this is a nested use case: then the outermost block commits."""
        if self._depth == 1:
            if self._session is not None:
                self._session.commit()
            elif self._connection is not None and self._connection.in_transaction():
                self._connection.commit()
            self._in_shared = False  # its part is the shared transaction's now
            self.committed = True

    def rollback(self) -> None:
        if self._session is not None:
            self._session.rollback()
        elif self._connection is not None and self._connection.in_transaction():
            self._connection.rollback()
        self._spoil_if_begun()

    def _spoil_if_begun(self) -> None:
        """What this unit began in a shared transaction and did not commit stays there (it
        has no savepoint to undo it): the shared transaction must not commit."""
        if self._in_shared and self._shared is not None:
            self._in_shared = False
            self._shared.spoil()

    def lock(self, name: str) -> None:
        """Serialize with other transactions on `name` until this one ends."""
        advisory_xact_lock(self.connection, name)


def _begun(engine: Engine, connection: Connection | None) -> Connection:
    """`connection` (a new one from the pool when None), its transaction begun."""
    if connection is None:
        connection = engine.connect()
    if not connection.in_transaction():
        connection.begin()
    return connection


class UnitOfWorkFactory:
    """Builds a fresh unit of work per use: services take one of these."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self.session_factory = session_factory

    def __call__(self) -> UnitOfWork:
        return UnitOfWork(self.session_factory)

    def shared(self) -> SharedTransaction:
        return SharedTransaction(self.session_factory)


class SharedTransaction:
    """One transaction that several units of work take turns in (`unit_of_work`); `commit()`
    commits what they committed, all at once. One BEGIN, one COMMIT and one connection from
    the pool for all of them: what a transaction costs by itself (on SQLite the writer, BEGIN
    IMMEDIATE, COMMIT's WAL frames, the pool; on PostgreSQL two round trips) is a large part
    of a small one's cost, and pages several of them write are written once. Leaving the
    block without `commit()` rolls all of it back.

    The units of work run one after the other on the thread that holds this. A unit has no
    savepoint of its own (on PostgreSQL each would be two more round trips): what it did stays
    in the shared transaction whether it commits or not. So a unit that leaves (or rolls back)
    without committing what it began spoils the shared transaction, and `commit()` then raises
    instead of committing it: redo its units each in a transaction of its own. An ORM session
    made in a unit has a savepoint of its own within the shared transaction. A statement that
    fails may have ended the transaction itself (PostgreSQL refuses every statement after it;
    SQLite rolls it back on a full disk or an I/O error): abandon the shared transaction when
    one of them fails, rather than go on in it."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._session_factory = session_factory
        self._engine: Engine = session_factory.kw["bind"]
        self._connection: Connection | None = None
        self.spoiled = False

    def unit_of_work(self) -> UnitOfWork:
        return UnitOfWork(self._session_factory, shared=self)

    @property
    def connection(self) -> Connection:
        """The shared connection, its transaction begun on first use."""
        connection = self._connection = _begun(self._engine, self._connection)
        return connection

    def spoil(self) -> None:
        """A unit left its statements here without committing them: commit nothing."""
        self.spoiled = True

    def commit(self) -> None:
        if self.spoiled:
            raise RuntimeError("a unit of work left a shared transaction without committing")
        connection = self._connection
        if connection is not None and connection.in_transaction():
            connection.commit()

    def __enter__(self) -> SharedTransaction:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()  # rolls back what is left; back to the pool
