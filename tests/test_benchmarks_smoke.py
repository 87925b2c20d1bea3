"""Every script in benchmarks/ runs in `--smoke` mode and prints its figures, so none can rot.

Not timed: the figures of a smoke run mean nothing, only that the script still works end to end
(on PostgreSQL too when TEST_DATABASE_URL is set). The scripts start together and run side by
side, so the set costs about as long as the slowest one.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("TEST_DATABASE_URL")
TIMEOUT = 240
ON_POSTGRESQL = bool(PG_URL)

# Per script: whether it takes --pg-url, and the figure lines it must print.
FIGURES: dict[str, tuple[bool, list[str]]] = {
    "fiscal.py": (
        True,
        [
            r"plain lxml parse .* docs/s",
            r"ingest, CLI/service path \(sqlite *\): +[\d,]+ docs/s \(\d+% of lxml",
            r"ingest, API path +\(sqlite *\): +[\d,]+ docs/s .* all duplicates",
        ]
        + (
            [
                r"ingest, CLI/service path \(postgresql\): +[\d,]+ docs/s",
                r"ingest, API path +\(postgresql\): +[\d,]+ docs/s",
            ]
            if ON_POSTGRESQL
            else []
        ),
    ),
    "danfe.py": (
        False,
        [
            r"brazilfiscalreport, plain loop: +[\d.]+ ms \([\d.]+ DANFEs/s per core\)",
            r"ours \(render_danfe\): +[\d.]+ ms \([\d.]+ DANFEs/s per core\) \| [\d.]+× the plain",
            r"brazilfiscalreport, plain loop, 1 process: +[\d.]+s +[\d.]+ DANFEs/s",
            r"ours, the job without worker processes: +[\d.]+s +[\d.]+ DANFEs/s .* ZIP",
            r"ours, the job with \d+ worker processes: +[\d.]+s +[\d.]+ DANFEs/s .* cores busy",
            r"ours, the same month again \(from the cache\): +[\d.]+s +[\d.]+ DANFEs/s",
        ],
    ),
    "danfe_cache_reads.py": (
        False,
        [
            r"cached DANFEs of \d+ KB in moto's S3 server",
            r"one at a time \(baseline\) +[\d.]+ s +\d+ DANFEs/s",
            r"\d+ ahead \(S3FileStore.read_ahead\) +[\d.]+ s +\d+ DANFEs/s",
        ],
    ),
    "fiscal_zip.py": (
        False,
        [
            r"N= +50: ours +[\d.]+s .* ratio [\d.]+×",
            r"PDF alone from the rows: [\d.]+s",
            r"whole job .*: [\d.]+s",
        ],
    ),
    "conversation.py": (
        True,
        [
            r"bare PTB echo .* updates/s",
            r"sqlite, closed loop .* updates/s",
            r"sqlite, open loop.* updates/s",
            r"process CPU [\d.]+ ms per update .* [\d.]+× the PTB echo's CPU per update",
            r"[\d.]+ statements per event",
            r"handle\(\) CPU per event by step: menu [\d.]+ ms",
        ]
        + ([r"postgresql, closed loop .* updates/s"] if ON_POSTGRESQL else []),
    ),
    "retention.py": (
        True,
        [
            r"sqlite: baseline handle\(\) \(no sweep\): p50 [\d.]+ ms, p99 [\d.]+ ms",
            r"sqlite: during the sweep handle\(\): .* removed [\d,]+ rows",
        ]
        + ([r"postgresql: during the sweep handle\(\): .* removed"] if ON_POSTGRESQL else []),
    ),
    "file_delivery.py": (
        False,
        [
            r"peak RSS streaming [\d,]+ MB to the Bot API stand-in: [\d,]+ MB",
            r"stand-in received the same bytes \(size and sha256\): yes",
        ],
    ),
    "pendencias.py": (
        True,
        [
            r"sqlite: baseline \(without the 0016/0018/0020 indexes\): first page p50 [\d.]+ ms",
            r"EXPLAIN QUERY PLAN \(menu count\)",
            r"sqlite: first page p50 [\d.]+ ms \([\d,]+ pendências",
            r"sqlite: digest sweep: first \d+ ms",
        ]
        + (
            [
                r"postgresql: first page p50 [\d.]+ ms",
                r"EXPLAIN ANALYZE \(sem_notas: page\)",
                r"EXPLAIN ANALYZE \(menu count\)",
            ]
            if ON_POSTGRESQL
            else []
        ),
    ),
    "pacote.py": (
        False,
        [
            r"baseline, zipfile in a plain loop: [\d.]+ s, [\d,.]+ packages/s, [\d,.]+ MB/s",
            r"ours, the pacote sweep and its jobs: [\d.]+ s, [\d,.]+ packages/s, [\d,.]+ MB/s",
        ],
    ),
    "load.py": (
        True,
        [
            r"bare PTB webhook echo, 1 process, closed loop: +\d+ accepted .* accepted updates/s",
            r"^1 process, closed loop: +\d+ accepted .* accepted updates/s \| webhook p50 +"
            r"[\d.]+ ms p99 +[\d.]+ ms",
            r"^1 process, open loop at half that: .* webhook p50 +[\d.]+ ms p99 +[\d.]+ ms",
            r"audit: \d+ outbox rows .*; 0 lost, 0 duplicated; 0 acknowledged updates not in",
        ],
    ),
    "webhook_intake.py": (
        False,
        [
            r"round 1: baseline \(FastAPI route\): +[\d.]+ µs of CPU per request \| "
            r"ours \(plain route\): +[\d.]+ µs",
            r"reading a text message: baseline \(Update.de_json \+ to_inbound\): +[\d.]+ µs "
            r"of CPU \| ours \(read_plain\): +[\d.]+ µs",
            r"reading a button press: baseline .* ours \(read_plain\): +[\d.]+ µs",
        ],
    ),
    "bot_api_calls.py": (
        False,
        [
            r" 16 in flight, PTB's HTTPXRequest: +[\d.]+ ms of CPU per call, +\d+ calls/s",
            r" 16 in flight, PTB's HTTPXRequest on AnyIO lanes: +[\d.]+ ms of CPU per call",
            r" 16 in flight, straight to AnyIO lanes: +[\d.]+ ms of CPU per call",
            r" 16 in flight, ours \(straight to asyncio lanes\): +[\d.]+ ms of CPU per call",
            r" 64 in flight: ours / PTB's HTTPXRequest = [\d.]+× the CPU per call",
            r" 64 in flight: ours / PTB's HTTPXRequest on AnyIO lanes = [\d.]+× the CPU per call",
        ],
    ),
    "reminders.py": (
        True,
        [r"messages to \d+ chats in [\d.]+ s: [\d.]+ msg/s"]
        + ([r"first sweep \(publishes\): \d+ ms"] if ON_POSTGRESQL else []),
    ),
}


@dataclass(frozen=True)
class Run:
    returncode: int
    output: str


@pytest.fixture(scope="module")
def runs() -> Iterator[dict[str, Run]]:
    """Start every script in smoke mode at once; collect each one's exit code and output."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = {}
    for script, (takes_pg_url, _) in FIGURES.items():
        command = [sys.executable, str(ROOT / "benchmarks" / script), "--smoke"]
        if takes_pg_url and PG_URL:
            command += ["--pg-url", PG_URL]
        started[script] = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
    results = {}
    try:
        for script, process in started.items():
            output, _ = process.communicate(timeout=TIMEOUT)
            results[script] = Run(process.returncode, output)
        yield results
    finally:
        for process in started.values():
            if process.poll() is None:
                process.kill()
                process.wait()


@pytest.mark.benchmark_smoke
@pytest.mark.parametrize("script", sorted(FIGURES))
def test_the_benchmark_runs_in_smoke_mode_and_prints_its_figures(
    runs: dict[str, Run], script: str
) -> None:
    run = runs[script]

    assert run.returncode == 0, run.output[-3000:]
    missing = [
        pattern for pattern in FIGURES[script][1] if not re.search(pattern, run.output, re.M)
    ]
    assert not missing, f"figures not printed: {missing}\n{run.output[-3000:]}"


def test_every_benchmark_script_is_smoke_tested() -> None:
    scripts = {
        path.name
        for path in (ROOT / "benchmarks").glob("*.py")
        if not path.name.startswith("_")  # shared helpers, not benchmarks
    }

    assert scripts == set(FIGURES)
