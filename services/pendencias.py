"""Pendências: one list of what needs the office, across all of its clients, most urgent first.

The list is computed when asked (no table to keep in step): per kind one aggregate, then only
the slice of each kind the page shows. A contador gets the kinds it can see (the client card);
asking for the others is refused here, whatever the dialogue offered.

The daily digest (`sweep_digest`) tells the office once a day that there is something new or
newly due; what it already told is recorded in `reminder_sent` (kind "pendencia": one row per
item and state, read back per office and forgotten once the item is gone), so a second run, or
the next day with nothing new, publishes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from domain.billing import Competencia
from domain.fiscal.manifestacao import PRAZOS, TipoManifestacao, prazo
from domain.pendencias import (
    CONTADOR_KINDS,
    Group,
    Kind,
    PendenciaOptions,
    clamp_page,
    ordered,
    page_count,
    slices,
)
from services import notices
from services.errors import Forbidden
from services.principal import Principal
from services.reminders import SAO_PAULO, ReminderOptions, SweepResult
from services.types import UnitOfWorkFactory
from storage.pendencias import DIGEST_SENT_KIND, GroupRow, ItemRow, Window
from storage.uow import UnitOfWork

DIGEST_KIND = "pendencias.resumo"


@dataclass(frozen=True, slots=True)
class Item:
    kind: Kind
    object_id: int
    client_id: int | None
    name: str
    detail: str | None
    due: date | None  # São Paulo
    since: date | None
    overdue: bool

    @property
    def key(self) -> str:
        """The item as the digest remembers it: a new certificate, or a new month without
        notes, is a new item."""
        extra = ""
        if self.kind is Kind.CERTIFICADO:
            extra = (self.detail or "")[:40]
        elif self.kind is Kind.TESTE:
            extra = self.since.isoformat() if self.since else ""
        elif self.kind is Kind.SEM_NOTAS:
            extra = self.detail or ""
        return f"{self.kind.value}:{self.object_id}:{extra}"

    @property
    def state(self) -> str:
        return "vencida" if self.overdue else "aberta"


@dataclass(frozen=True, slots=True)
class PendenciaPage:
    groups: tuple[Group, ...]  # every non-empty group, most urgent first
    items: tuple[Item, ...]  # this page's, in list order
    page: int
    pages: int
    total: int


def _day(value: datetime | date | None) -> date | None:
    if isinstance(value, datetime):
        return value.astimezone(SAO_PAULO).date()
    return value


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=SAO_PAULO).astimezone(UTC)


def window(now: datetime, options: PendenciaOptions) -> Window:
    today = now.astimezone(SAO_PAULO).date()
    competencia = Competencia.of(today)
    if today.day < options.sem_emissao_dia:
        # The first days of a month: most clients have not issued yet, so the month checked
        # for silence is still the previous one (issued two months ago, nothing since).
        competencia = competencia.previous()
    return Window(
        now=now,
        today=today,
        # "in ≤ 30 days": the certificate's last valid day is today + 30 at the latest.
        cert_horizon=_midnight(today + timedelta(days=options.certificado_dias + 1)),
        teste_before=now - timedelta(days=options.teste_alerta_dias),
        competencia=str(competencia),
        competencia_anterior=str(competencia.previous()),
        manifestar_desde=now - timedelta(days=PRAZOS[TipoManifestacao.CONFIRMACAO]),
    )


def kinds_for(principal: Principal) -> tuple[Kind, ...]:
    """The kinds this role may see, in their tie-break order."""
    if principal.can_manage:
        return tuple(Kind)
    return tuple(kind for kind in Kind if kind in CONTADOR_KINDS)


# Kinds whose `due` column holds the note's issue; their deadline is counted from it.
_MANIFESTAR = (Kind.MANIFESTACAO, Kind.RESUMO_SEM_XML)


def _due(kind: Kind, value: datetime | date | None) -> date | None:
    day = _day(value)
    if kind in _MANIFESTAR and day is not None:
        return prazo(day, day).ate
    return day


def _group(row: GroupRow) -> Group:
    return Group(row.kind, row.count, row.overdue, _due(row.kind, row.first_due))


def _item(row: ItemRow, w: Window) -> Item:
    due = _due(row.kind, row.due)
    if row.kind is Kind.CERTIFICADO:
        overdue = isinstance(row.due, datetime) and row.due < w.now
    else:
        overdue = row.kind is Kind.FATURA and due is not None and due < w.today
    detail = w.competencia if row.kind is Kind.SEM_NOTAS else row.detail
    return Item(
        row.kind,
        row.object_id,
        row.client_id,
        row.name,
        detail,
        due,
        _day(row.since),
        overdue,
    )


def _groups(uow: UnitOfWork, gestor_id: int, kinds: Iterable[Kind], w: Window) -> list[Group]:
    return ordered([_group(row) for row in uow.pendencias.groups(gestor_id, w, tuple(kinds))])


def count(
    uow: UnitOfWork,
    principal: Principal,
    *,
    now: datetime | None = None,
    options: PendenciaOptions | None = None,
) -> int:
    """How many pendências the acting role sees (the menu button's number)."""
    w = window(now or datetime.now(UTC), options or PendenciaOptions())
    with uow:
        counts = uow.pendencias.counts(principal.gestor_id, w, kinds_for(principal))
        return sum(counts.values())


def list_page(
    uow: UnitOfWork,
    principal: Principal,
    *,
    page: int = 1,
    page_size: int = 8,
    now: datetime | None = None,
    options: PendenciaOptions | None = None,
) -> PendenciaPage:
    """One page of the office's pendências, grouped by kind, most urgent first."""
    w = window(now or datetime.now(UTC), options or PendenciaOptions())
    with uow:
        groups = _groups(uow, principal.gestor_id, kinds_for(principal), w)
        total = sum(g.count for g in groups)
        page = clamp_page(page, total, page_size)
        items = [
            _item(row, w)
            for cut in slices(groups, page, page_size)
            for row in uow.pendencias.items(
                cut.kind, principal.gestor_id, w, offset=cut.offset, limit=cut.limit
            )
        ]
        return PendenciaPage(
            tuple(groups), tuple(items), page, page_count(total, page_size), total
        )


def require_kind(principal: Principal, kind: Kind) -> None:
    """Refuse an item's action to a role that may not see its kind."""
    if kind not in kinds_for(principal):
        raise Forbidden()


# -- the daily digest ---------------------------------------------------------------------------


def _all_items(uow: UnitOfWork, gestor_id: int, w: Window) -> list[Item]:
    return [
        _item(row, w)
        for kind in Kind
        for row in uow.pendencias.items(kind, gestor_id, w, limit=None)
    ]


def _subject(gestor_id: int, item: Item) -> str:
    """The item in reminder_sent: per office (a client handed to another gestor is news there)."""
    return f"{gestor_id}:{item.key}"


def digest_payload(items: Sequence[Item], fresh: Sequence[Item]) -> dict[str, Any]:
    """Counts per kind (all, overdue, new since the last digest): what the message says."""

    def tally(chosen: Iterable[Item]) -> dict[str, int]:
        counts: dict[str, int] = {}
        for item in chosen:
            counts[item.kind.value] = counts.get(item.kind.value, 0) + 1
        return counts

    return {
        "counts": tally(items),
        "overdue": tally(i for i in items if i.overdue),
        "new": tally(fresh),
    }


def sweep_digest(
    uow_factory: UnitOfWorkFactory, *, now: datetime, options: ReminderOptions
) -> SweepResult:
    """Tell each office with a chat, in one message, that it has pendências new or due."""
    w = window(now, options.pendencias)
    uow = uow_factory()
    with uow:
        uow.lock("reminders:pendencias")
        muted = uow.notice_mutes.by_gestor()
        rows: list[dict[str, Any]] = []
        published = 0
        for gestor_id in uow.pendencias.gestores_with_chats():
            items = _all_items(uow, gestor_id, w)
            current = {(_subject(gestor_id, item), item.state): item for item in items}
            told = uow.pendencias.told(gestor_id)
            # What is no longer pending is forgotten: the table stays the size of the list.
            uow.pendencias.forget([row for key, row in told.items() if key not in current])
            fresh = [key for key in current if key not in told]
            if not fresh:
                continue
            rows += [
                {
                    "kind": DIGEST_SENT_KIND,
                    "subject": subject,
                    "threshold": state,
                    "gestor_id": gestor_id,
                    "sent_at": now,
                }
                for subject, state in fresh
            ]
            if "pendencias" in muted.get(gestor_id, set()):
                continue  # recorded all the same: turning it on again does not replay the past
            payload = digest_payload(items, [current[key] for key in fresh])
            notices.publish(uow, gestor_id, DIGEST_KIND, payload)
            published += 1
        uow.reminders.add_many(rows)
        uow.commit()
    return SweepResult("pendencias", len(rows), published, published, 0)
