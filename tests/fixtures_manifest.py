"""The real fiscal files in `../shared/fixtures/` and their MANIFEST.tsv (kind, model, notes).

The folder lives outside the repository: `FIXTURES_DIR` points elsewhere, and tests that need it
skip with a clear reason when it is absent.
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
_PARAM = re.compile(r"(\w+)=([^;)]*)")


def fixtures_dir() -> Path:
    """`$FIXTURES_DIR`, or `../shared/fixtures` beside the repository."""
    return Path(os.environ.get("FIXTURES_DIR", REPO_ROOT.parent / "shared" / "fixtures"))


@dataclass(frozen=True)
class ManifestEntry:
    """One MANIFEST.tsv row: `kind` like `nfeProc(cStat=100)`, `notes` like `tpAmb=2; …`."""

    file: str
    kind: str
    model: str
    notes: str

    @property
    def root(self) -> str:
        """The document kind's leading name: `nfeProc`, `NFe`, `Envelope`…"""
        match = re.match(r"[A-Za-z]+", self.kind)
        return match.group(0) if match else ""

    @property
    def kind_params(self) -> dict[str, str]:
        """`procEventoNFe(tpEvento=110110; cStat=135)` → `{"tpEvento": "110110", …}`."""
        return dict(_PARAM.findall(self.kind))

    def note(self, name: str) -> str | None:
        """The value of `name=…` in the notes (`tpAmb`, `cSitNFe`, `tpEvento`), if any."""
        match = re.search(rf"\b{name}=([^;\s]*)", self.notes)
        return match.group(1) if match else None

    @property
    def invalid_keys(self) -> dict[str, str]:
        """`INVALID chave K1:reason1,K2:reason2` → `{K1: reason1, K2: reason2}`."""
        match = re.search(r"INVALID chave ([^;]+)", self.notes)
        if not match:
            return {}
        pairs = (item.split(":", 1) for item in match.group(1).split(","))
        return {key.strip(): reason.strip() for key, reason in pairs}


def load_manifest(folder: Path) -> dict[str, ManifestEntry]:
    """The MANIFEST rows by file path (relative to the fixtures folder)."""
    with (folder / "MANIFEST.tsv").open(encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(handle, delimiter="\t")
        return {
            row["file"]: ManifestEntry(row["file"], row["kind"], row["model"], row["notes"])
            for row in rows
        }
