"""Unit of work: one transaction, its repositories, commit once; rollback is the default.

Re-entrant: a use case called inside another (a service called by the conversation engine
during an event) joins the outer transaction, and only the outermost `commit()` commits, so
one inbound event is one transaction and nothing is half-written.
"""

from __future__ import annotations

from types import TracebackType

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


class UnitOfWork:
    session: Session
    gestores: GestorRepository
    identities: IdentityRepository
    invites: InviteRepository
    catalog: CatalogRepository
    clients: ClientRepository
    audit: AuditRepository
    conversations: ConversationRepository
    outbox: OutboxRepository
    integration_keys: IntegrationKeyRepository
    notices: NoticeRepository
    faturas: FaturaRepository
    gestor_emails: GestorEmailRepository
    links: LinkRepository
    sign_ups: SignUpRepository
    certificates: CertificateRepository
    access_links: AccessLinkRepository
    history: HistoryRepository
    fiscal: FiscalDocumentRepository
    whatsapp: WhatsAppRepository
    reminders: ReminderRepository
    scheduler_leases: SchedulerLeaseRepository
    notice_mutes: NoticeMuteRepository
    jobs: JobRepository
    pendencias: PendenciaRepository
    sefaz: SefazRepository
    pacotes: PacoteRepository

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._session_factory = session_factory
        self._depth = 0
        self.committed = False

    def __enter__(self) -> UnitOfWork:
        if self._depth == 0:
            self.session = self._session_factory()
            self.committed = False
            self.gestores = GestorRepository(self.session)
            self.identities = IdentityRepository(self.session)
            self.invites = InviteRepository(self.session)
            self.catalog = CatalogRepository(self.session)
            self.clients = ClientRepository(self.session)
            self.audit = AuditRepository(self.session)
            self.conversations = ConversationRepository(self.session)
            self.outbox = OutboxRepository(self.session)
            self.integration_keys = IntegrationKeyRepository(self.session)
            self.notices = NoticeRepository(self.session)
            self.fiscal = FiscalDocumentRepository(self.session)
            self.sefaz = SefazRepository(self.session)
            self.faturas, self.gestor_emails = (
                FaturaRepository(self.session),
                GestorEmailRepository(self.session),
            )
            self.links = LinkRepository(self.session)
            self.whatsapp = WhatsAppRepository(self.session)
            self.reminders, self.scheduler_leases, self.notice_mutes = (
                ReminderRepository(self.session),
                SchedulerLeaseRepository(self.session),
                NoticeMuteRepository(self.session),
            )
            self.sign_ups = SignUpRepository(self.session)
            self.jobs = JobRepository(self.session)
            self.pendencias = PendenciaRepository(self.session)
            self.pacotes = PacoteRepository(self.session)
            self.certificates, self.access_links, self.history = (
                CertificateRepository(self.session),
                AccessLinkRepository(self.session),
                HistoryRepository(self.session),
            )
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
