"""What an export job is asked to build, as the step wrote it (JSON in the job row), and how
this deployment runs export jobs (`ExportOptions`, set by the composition root)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from domain.fiscal import Modelo
from services.capabilities import EVERYTHING, Capabilities
from services.files import FileStore
from services.fiscal_prepare import TipoNota
from services.job_progress import (
    ACTION_INTERVAL,
    PROGRESS_INTERVAL,
    PRONTO_FROM,
    Announced,
    Pace,
    Recipient,
)
from services.prepare_pool import PreparePool


@dataclass(frozen=True, slots=True)
class ExportOptions:
    """How the jobs run in this deployment (set by the composition root, bot/app.py)."""

    # What each channel can do and take (bot/channels declare it, the composition root adds
    # what depends on the deployment); one not listed can do everything.
    channels: Mapping[str, Capabilities] = field(default_factory=dict)
    # How a running job speaks (services/job_progress.py); seconds of `monotonic`.
    progress_interval: float = PROGRESS_INTERVAL
    action_interval: float = ACTION_INTERVAL
    pronto_from: int = PRONTO_FROM
    monotonic: Callable[[], float] = time.monotonic
    # Where the jobs' files go (the outbox carries references); None keeps the bytes in the
    # outbox rows, for callers that run without a store.
    files: FileStore | None = None
    # Worker processes for the CPU-bound part (DANFE printing); None prints in the job's thread.
    cpu: PreparePool | None = None
    # Print each issued note's DANFE in the background once stored (prerender.py).
    prerender: bool = True

    def upload_limit(self, channel: str) -> int:
        return self.capabilities(channel).upload_limit

    def capabilities(self, channel: str) -> Capabilities:
        return self.channels.get(channel, EVERYTHING)

    @property
    def pace(self) -> Pace:
        return Pace(self.progress_interval, self.action_interval, self.pronto_from, self.monotonic)


DEFAULT_OPTIONS = ExportOptions()


@dataclass(frozen=True, slots=True)
class Words:
    """The pt-BR texts a job fills in (placeholders in braces, rendered by `domain.text.fill`
    so counts can carry their word: `{notas:nota|notas}`)."""

    zip_caption: str  # {titulo} {notas} {eventos}
    part: str  # {n} {total}
    empty: str  # {titulo}
    failed: str  # {ref}
    report_caption: str  # {titulo}
    table_caption: str  # {titulo}
    danfe_caption: str  # {titulo} {notas}
    danfe_skipped: str  # {n} {notas}
    progress: str  # {feito} {total}: notes put in a ZIP
    finished: str  # {partes}
    danfe_progress: str  # {feito} {total}: DANFEs printed
    report_progress: str  # {feito} {total}: notes read for the report
    report_finished: str
    chart_caption: str = ""  # {titulo} {valor}; empty: the report's chart goes without one


@dataclass(frozen=True, slots=True)
class Export:
    """What to export and how to call it: `titulo` for captions, `base` for the file name."""

    client_id: int
    tipo: TipoNota
    modelo: Modelo | None
    competencia: str | None
    titulo: str
    base: str
    reconhecida: bool | None = None

    def subject(self) -> tuple[str, ...]:
        """What makes two exports the same (the job's key), names aside."""
        modelo = self.modelo.value if self.modelo is not None else ""
        return (
            str(self.client_id),
            self.tipo.value,
            modelo,
            self.competencia or "",
            repr(self.reconhecida),
        )


@dataclass(frozen=True, slots=True)
class Notice:
    """The step's "Gerando…" answer, and how many notes the job goes through."""

    text: str
    total: int = 0


@dataclass(frozen=True, slots=True)
class ExportSpec:
    """Everything a job needs, fixed when the step asked: a job taken over after a crash
    builds the very same files (same names, same "gerado em")."""

    export: Export
    to: Recipient
    words: Words
    notice: Announced | None
    gerado_em: datetime
    cliente: tuple[str, str] = ("", "")  # razão social, documento (the report's header)
    formato: str = ""  # the report's table: csv or xlsx

    def to_json(self) -> dict[str, Any]:
        export = self.export
        return {
            "export": {
                "client_id": export.client_id,
                "tipo": export.tipo.value,
                "modelo": export.modelo.value if export.modelo is not None else None,
                "competencia": export.competencia,
                "titulo": export.titulo,
                "base": export.base,
                "reconhecida": export.reconhecida,
            },
            "to": asdict(self.to),
            "words": asdict(self.words),
            "notice": asdict(self.notice) if self.notice is not None else None,
            "gerado_em": self.gerado_em.isoformat(),
            "cliente": list(self.cliente),
            "formato": self.formato,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ExportSpec:
        export = data["export"]
        modelo = export["modelo"]
        return cls(
            export=Export(
                client_id=int(export["client_id"]),
                tipo=TipoNota(export["tipo"]),
                modelo=Modelo(modelo) if modelo is not None else None,
                competencia=export["competencia"],
                titulo=export["titulo"],
                base=export["base"],
                reconhecida=export["reconhecida"],
            ),
            to=Recipient(**data["to"]),
            words=Words(**data["words"]),
            notice=Announced(**data["notice"]) if data["notice"] is not None else None,
            gerado_em=datetime.fromisoformat(data["gerado_em"]),
            cliente=(data["cliente"][0], data["cliente"][1]),
            formato=data["formato"],
        )
