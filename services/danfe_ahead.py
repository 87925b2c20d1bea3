"""Asking, from ingest, for the DANFEs of the notes just stored to be printed ahead
(the job itself is services/fiscal_exports/prerender.py; this module stays light so the
ingest path does not load the printers)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.jobs import JobRequest
from storage.uow import UnitOfWork

PRERENDER = "danfe.prerender"
# Notes stored by one client within a window are printed by one job, due once it closed.
WINDOW = timedelta(seconds=30)
# A transaction stamped inside the window may commit a little after it: the job waits this
# much longer and reads this much wider.
MARGIN = timedelta(seconds=15)


def after_store(uow: UnitOfWork, client_id: int, now: datetime) -> None:
    """Ask (once per client and window) for the DANFEs of the notes stored now; in the
    caller's transaction."""
    epoch = int(now.timestamp())
    start = datetime.fromtimestamp(epoch - epoch % int(WINDOW.total_seconds()), UTC)
    spec = {
        "client_id": client_id,
        "desde": (start - MARGIN).isoformat(),
        "ate": (start + WINDOW + MARGIN).isoformat(),
        "depois_de": 0,
    }
    uow.jobs.add_once(
        kind=PRERENDER,
        key=job_key(spec),
        payload={"spec": spec},
        now=now,
        not_before=start + WINDOW + MARGIN,
    )


def job_key(spec: dict[str, object]) -> str:
    """The jobs' own key (services.jobs.JobRequest) of a client's window from a note id on;
    nobody's identity: the system asks."""
    subject = (str(spec["client_id"]), str(spec["desde"]), str(spec["depois_de"]))
    return JobRequest(PRERENDER, "", subject, spec).key
