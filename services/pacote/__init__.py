"""Pacote do mês (fechamento): on day PACOTE_DIA each client's previous month, packed for its
accountant and delivered without anyone asking.

- `sweep`: the scheduler's job; one package row + one durable job per client due one;
- `build`: the job — the ZIP streamed into the file store, then `delivery`: the accountant's
  e-mail (attached up to PACOTE_EMAIL_MAX_MB, else a signed link) and the gestor's one message
  per month;
- `chat`: the month's list, one package, all of them as a ZIP of ZIPs, the client toggle;
- `options`: how this deployment runs them (composition root).
"""

from __future__ import annotations

from collections.abc import Mapping

from services.jobs import JobKind
from services.pacote import build, chat
from services.pacote.chat import ALL
from services.pacote.delivery import MUTE_KIND, NOTICE_KIND
from services.pacote.options import PacoteOptions
from services.pacote.sweep import BUILD, PacoteSweep, sweep_pacote


def kinds(options: PacoteOptions) -> Mapping[str, JobKind]:
    """The package jobs' code, for the job runner of this deployment."""
    return {
        BUILD: JobKind(
            lambda job: build.run(job, options), lambda job: build.give_up(job, options)
        ),
        ALL: JobKind(
            lambda job: chat.run_all(job, options), lambda job: chat.give_up_all(job, options)
        ),
    }


__all__ = [
    "ALL",
    "BUILD",
    "MUTE_KIND",
    "NOTICE_KIND",
    "PacoteOptions",
    "PacoteSweep",
    "kinds",
    "sweep_pacote",
]
