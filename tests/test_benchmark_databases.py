"""benchmarks/_support.py's throwaway databases: a run killed from outside leaves its
database behind, and the next run on this machine drops it — never one still in use."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import uuid
from pathlib import Path
from types import ModuleType

import pytest
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("TEST_DATABASE_URL")
PREFIX = f"revendabot_orphans{uuid.uuid4().hex[:6]}"  # this test's own names only

pytestmark = pytest.mark.skipif(not PG_URL, reason="TEST_DATABASE_URL not set")


def support() -> ModuleType:
    spec = importlib.util.spec_from_file_location("_support", ROOT / "benchmarks/_support.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def gone_pid() -> int:
    """The id of a process that has just ended."""
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(done.stdout)


def database_names() -> list[str]:
    assert PG_URL is not None
    engine = create_engine(PG_URL)
    try:
        with engine.connect() as connection:
            return list(
                connection.execute(
                    text("SELECT datname FROM pg_database WHERE starts_with(datname, :p)"),
                    {"p": PREFIX},
                ).scalars()
            )
    finally:
        engine.dispose()


def test_a_killed_runs_database_is_dropped_by_the_next_run_and_live_ones_are_kept() -> None:
    assert PG_URL is not None
    module = support()
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    orphan = f"{PREFIX}_{gone_pid()}_{uuid.uuid4().hex[:8]}"
    running = f"{PREFIX}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    connected = f"{PREFIX}_{gone_pid()}_{uuid.uuid4().hex[:8]}"  # gone, but a session is on it
    names = (orphan, running, connected)
    with admin.connect() as connection:
        for name in names:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    session = create_engine(
        admin.url.set(database=connected).render_as_string(hide_password=False)
    )
    try:
        with session.connect() as holding, admin.connect() as connection:
            holding.execute(text("SELECT 1"))
            dropped = module.drop_orphans(connection, PREFIX)
        assert dropped == [orphan]
        assert set(database_names()) == {running, connected}

        session.dispose()  # the session on `connected` ends
        with module.throwaway_database(PG_URL, prefix=PREFIX) as url:  # the next run
            assert f"_{os.getpid()}_" in url
            assert set(database_names()) == {running, url.rsplit("/", 1)[1]}
        assert database_names() == [running]  # its own dropped at its end
    finally:
        session.dispose()
        with admin.connect() as connection:
            for name in names:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
