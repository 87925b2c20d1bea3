"""What the benchmark scripts share: a throwaway PostgreSQL database, and whether one answers.

Not a benchmark itself (the smoke test runs every script not starting with "_").
"""

from __future__ import annotations

import os
import re
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url

# Servers on this machine: a database named after a process that is gone here is an orphan.
_LOCAL_HOSTS = {None, "", "127.0.0.1", "localhost", "::1"}


def pg_reachable(url: str) -> bool:
    """Whether a PostgreSQL server listens at `url`'s host and port (1 s to answer)."""
    parsed = make_url(url)
    try:
        with socket.create_connection((parsed.host or "127.0.0.1", parsed.port or 5432), 1):
            return True
    except OSError:
        return False


@contextmanager
def throwaway_database(url: str, prefix: str = "revendabot_bench") -> Iterator[str]:
    """A new database on `url`'s server for the run, dropped at the end whatever happens.

    Its name carries this process's id. A run killed from outside (SIGKILL, a lost machine)
    cannot drop its database; the next run on a server of this machine drops the ones whose
    process is gone and that nobody is connected to."""
    base = make_url(url)
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        if base.host in _LOCAL_HOSTS:
            drop_orphans(connection, prefix)
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def drop_orphans(connection: Connection, prefix: str) -> list[str]:
    """Drop the databases `throwaway_database` made with this prefix whose process is no
    longer running here and that have no session; return their names."""
    pattern = re.compile(rf"{re.escape(prefix)}_(\d+)_[0-9a-f]{{8}}")
    names = connection.execute(
        text(
            "SELECT datname FROM pg_database d WHERE starts_with(datname, :prefix) "
            "AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datname = d.datname)"
        ),
        {"prefix": f"{prefix}_"},
    ).scalars()
    dropped = []
    for found in names:
        matched = pattern.fullmatch(found)
        if matched is None or _running(int(matched[1])):
            continue
        connection.execute(text(f'DROP DATABASE IF EXISTS "{found}" WITH (FORCE)'))
        dropped.append(found)
    return dropped


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's: running
        return True
    return True
