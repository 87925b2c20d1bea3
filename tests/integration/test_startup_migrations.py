"""Several instances started at once on a fresh database: all come up, the schema is built once.

Real processes, started together, each running the migrations the way `serve` does."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

from storage.db import make_engine
from storage.migrations import current_heads

ROOT = Path(__file__).resolve().parents[2]
PG_URL = os.environ.get("TEST_DATABASE_URL")
MIGRATE = (
    "import sys; from storage.db import make_engine; from storage.migrations import upgrade; "
    "engine = make_engine(sys.argv[1]); upgrade(engine); engine.dispose()"
)
PROCESSES = 3


def _start_together(url: str) -> list[subprocess.CompletedProcess[str]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    running = [
        subprocess.Popen(
            [sys.executable, "-c", MIGRATE, url],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    done = []
    for process in running:
        out, err = process.communicate(timeout=120)
        done.append(subprocess.CompletedProcess(process.args, process.returncode, out, err))
    return done


def _head() -> str:
    from alembic.script import ScriptDirectory

    from storage.migrations import HERE

    return str(ScriptDirectory(str(HERE)).get_current_head())


@pytest.fixture
def fresh_pg() -> Iterator[str]:
    if not PG_URL:
        pytest.skip("TEST_DATABASE_URL not set")
    base = make_url(PG_URL)
    name = f"revendabot_startup_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield base.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _assert_all_up_at_head_once(url: str) -> None:
    results = _start_together(url)

    assert [r.returncode for r in results] == [0] * PROCESSES, [r.stderr for r in results]
    engine = make_engine(url)
    assert current_heads(engine) == {_head()}
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
        softwares = connection.execute(text("SELECT count(*) FROM software")).scalar()
    engine.dispose()
    assert softwares  # the seeded catalog went in once, not once per process
    return None


@pytest.mark.postgres
def test_three_instances_started_together_on_a_fresh_postgresql(fresh_pg: str) -> None:
    _assert_all_up_at_head_once(fresh_pg)


def test_three_instances_started_together_on_a_fresh_sqlite_file(tmp_path: Path) -> None:
    _assert_all_up_at_head_once(f"sqlite:///{tmp_path / 'fresh.db'}")
