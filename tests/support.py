"""Test helpers: a collecting chat (the channel fake), offices with principals, fixed data."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text

from domain.clients import Payer, Role
from domain.documents import complete_cnpj
from services import access, catalog, clients, outbox
from services.conversation import ConversationEngine, Result
from services.files import FileStore, open_content
from services.messages import (
    NOTHING_PROMISED,
    Body,
    Capabilities,
    ChoiceBody,
    Document,
    FileBody,
    Image,
    Inbound,
    Outbound,
    Text,
    TextBody,
    from_payload,
)
from services.outbox import Delivered
from services.principal import Principal
from services.types import UnitOfWorkFactory

_events = itertools.count(1)


@dataclass
class Chat:
    """A person in a chat: sends text or presses buttons; collects what the bot sent back."""

    engine: ConversationEngine
    uow_factory: UnitOfWorkFactory
    identity_key: str = "test:alice"
    channel: str = "test"
    capabilities: Capabilities = NOTHING_PROMISED
    received: list[Outbound] = field(default_factory=list)
    edits: list[str | None] = field(default_factory=list)
    # The file store the jobs write to: a document's bytes are read from it, as a channel does.
    files: FileStore | None = None

    def event(self, body: Body, *, event_id: str | None = None) -> Inbound:
        return Inbound(
            channel=self.channel,
            identity_key=self.identity_key,
            event_id=event_id or f"e{next(_events)}",
            address=self.identity_key.split(":", 1)[1],
            body=body,
            received_at=datetime.now(UTC),
            display_name="Alice",
            message_ref="m1" if isinstance(body, ChoiceBody) else None,
            capabilities=self.capabilities,
        )

    def deliver(self, event: Inbound) -> list[Outbound]:
        """Process one event and collect the replies it produced."""
        self.result = self.engine.handle(event)
        return self.drain()

    def drain(self) -> list[Outbound]:
        fresh: list[Outbound] = []
        while claimed := outbox.claim(self.uow_factory, identity_key=self.identity_key):
            for message in claimed:
                rebuilt, edit_ref = from_payload(message.payload, message.blob)
                fresh.append(self._with_bytes(rebuilt))
                self.edits.append(edit_ref)
            # each delivered message gets a platform id (a number, as Telegram's message ids),
            # as a channel would: the outbox id
            outbox.record(self.uow_factory, [Delivered(m.id, str(m.id)) for m in claimed])
        self.received.extend(fresh)
        return fresh

    def _with_bytes(self, message: Outbound) -> Outbound:
        if isinstance(message, Document | Image) and message.file is not None:
            with open_content(self.files, message.file, message.data) as stream:
                return replace(message, data=stream.read())
        return message

    def say(self, text: str) -> list[Outbound]:
        return self.deliver(self.event(TextBody(text)))

    def press(self, label: str) -> list[Outbound]:
        """Press the button with this label on the last message that had buttons."""
        return self.deliver(self.event(ChoiceBody(self.button_id(label))))

    def press_id(self, choice_id: str) -> list[Outbound]:
        return self.deliver(self.event(ChoiceBody(choice_id)))

    def send_file(self, name: str, mime: str = "application/octet-stream") -> list[Outbound]:
        return self.deliver(self.event(FileBody("ref", name, mime, 10)))

    def last_text(self) -> Text:
        texts = [m for m in self.received if isinstance(m, Text)]
        assert texts, "the bot sent no text"
        return texts[-1]

    def labels(self) -> list[str]:
        return [c.label for c in self.last_with_buttons().choices]

    def last_with_buttons(self) -> Text:
        for message in reversed(self.received):
            if isinstance(message, Text) and message.choices:
                return message
        raise AssertionError("no message with buttons")

    def button_id(self, label: str) -> str:
        for choice in self.last_with_buttons().choices:
            if choice.label == label:
                return choice.id
        raise AssertionError(f"no button {label!r} in {self.labels()}")

    def documents(self) -> list[Document]:
        return [m for m in self.received if isinstance(m, Document)]

    @property
    def processed(self) -> bool:
        return self.result is Result.DONE


def cnpj(n: int) -> str:
    """A valid CNPJ, different for each n."""
    return complete_cnpj(f"{10_000_000 + n:08d}0001")


@dataclass(frozen=True)
class Office:
    cnpj: str
    gestor: Principal
    email: str


def make_office(
    uow_factory: UnitOfWorkFactory, n: int, *, identity_key: str | None = None
) -> Office:
    """A gestor's office with one bound identity of role gestor."""
    email = f"gestor{n}@escritorio{n}.com.br"
    doc = cnpj(9000 + n)
    issued = access.create_gestor(
        uow_factory(), cnpj=doc, razao_social=f"Escritório {n} Ltda", email=email
    )
    key = identity_key or f"test:gestor{n}"
    principal = access.redeem_invite(
        uow_factory(),
        code=issued.code,
        identity_key=key,
        channel=key.split(":", 1)[0],
        address=key.split(":", 1)[1],
        display_name=None,
    )
    return Office(doc, principal, email)


def add_member(uow_factory: UnitOfWorkFactory, office: Office, key: str, role: Role) -> Principal:
    issued = access.invite(uow_factory(), gestor_cnpj=office.cnpj, role=role)
    return access.redeem_invite(
        uow_factory(),
        code=issued.code,
        identity_key=key,
        channel=key.split(":", 1)[0],
        address=key.split(":", 1)[1],
        display_name=None,
    )


def add_client(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    n: int,
    *,
    name: str | None = None,
    payer: Payer = Payer.GESTOR,
) -> clients.ClientCard:
    software = catalog.list_softwares(uow_factory())[0]
    return clients.register_client(
        uow_factory(),
        principal,
        clients.NewClient(
            payer=payer,
            software_id=software.id,
            plan_id=software.plans[0].id,
            documento=cnpj(n),
            razao_social=name or f"Cliente {n:03d} Ltda",
            nome_fantasia=None,
            email=f"cliente{n}@empresa{n}.com.br",
            telefone="(11) 98765-4321",
            cep="01310-100",
            endereco="Av. Paulista, 1000 - Bela Vista - São Paulo/SP",
        ),
    )


def query_plan(uow_factory: UnitOfWorkFactory, sql: str, params: Any) -> str:
    """The plan the database takes for a statement as the driver sent it (EXPLAIN on
    PostgreSQL, with sequential scans off: a test table is so small that a scan is cheaper,
    and the question is which index is taken once it is not; EXPLAIN QUERY PLAN on SQLite)."""
    with uow_factory() as uow:
        raw = uow.session.connection().connection.driver_connection
        assert raw is not None
        cursor = raw.cursor()
        if uow.session.get_bind().dialect.name == "postgresql":
            uow.session.execute(text("SET LOCAL enable_seqscan = off"))
            cursor.execute(f"EXPLAIN {sql}", params)
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        return " ".join(str(row) for row in cursor.fetchall())
