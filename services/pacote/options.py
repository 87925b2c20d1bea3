"""How this deployment builds and delivers the monthly packages (set by the composition root)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from services.capabilities import EVERYTHING, Capabilities
from services.download_links import DownloadLinks
from services.files import FileStore

MB = 1024 * 1024
DEFAULT_DIA = 1
DEFAULT_EMAIL_MAX_MB = 10
DEFAULT_LINK_DAYS = 7


@dataclass(frozen=True, slots=True)
class PacoteOptions:
    # The São Paulo day of the month the sweep builds the previous month's packages.
    dia: int = DEFAULT_DIA
    # Where the packages go (the jobs need it; the sweep alone does not).
    files: FileStore | None = None
    # E-mail to the accountant: only when SMTP is configured.
    email: bool = False
    # Up to this size the package goes attached; above it, a signed link that lasts `link_ttl`.
    email_max_bytes: int = DEFAULT_EMAIL_MAX_MB * MB
    links: DownloadLinks | None = None
    link_ttl: timedelta = timedelta(days=DEFAULT_LINK_DAYS)
    # What each chat channel takes (the "all packages" ZIP is split at its upload limit).
    channels: Mapping[str, Capabilities] = field(default_factory=dict)

    def upload_limit(self, channel: str) -> int:
        return self.channels.get(channel, EVERYTHING).upload_limit
