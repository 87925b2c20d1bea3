"""What the benchmark scripts share: a throwaway PostgreSQL database, and whether one answers.

Not a benchmark itself (the smoke test runs every script not starting with "_").
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


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
    """A new database on `url`'s server for the run, dropped at the end whatever happens."""
    base = make_url(url)
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
