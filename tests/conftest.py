"""Database fixtures: every storage/service/dialogue test runs on SQLite, and on PostgreSQL too
when TEST_DATABASE_URL is set (CI sets it). Each test gets an empty, migrated database."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from bot.app import App, build_app
from bot.settings import Settings
from services.catalog import load_catalog
from services.types import UnitOfWorkFactory
from storage.db import make_engine, make_session_factory
from storage.migrations import upgrade
from storage.models import Base
from tests.support import Chat

PG_URL = os.environ.get("TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])
SEED_CATALOG = Path(__file__).resolve().parents[1] / "storage" / "seed" / "catalog.json"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file, copied for each test (migrating is the slow part)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A throwaway database on the TEST_DATABASE_URL server, migrated once, dropped at the end."""
    if not PG_URL:
        pytest.skip("TEST_DATABASE_URL not set")
    base = make_url(PG_URL)
    name = f"revendabot_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate(engine: Engine) -> None:
    """Empty every table and put the seed catalog back, as a fresh migration leaves it.

    DELETE in reverse dependency order and every sequence back to 1, in one round trip: on
    tables of a test's size this takes milliseconds where TRUNCATE (new files for each of the
    tables) took half a second per test."""
    tables = [t.name for t in Base.metadata.sorted_tables if t.name != "alembic_version"]
    with engine.begin() as connection:
        # the names are our own tables' (the metadata), never input
        deletes = "; ".join(f'DELETE FROM "{name}"' for name in reversed(tables))  # noqa: S608
        connection.execute(text(deletes))
        connection.execute(
            text("SELECT setval(c.oid, 1, false) FROM pg_class c WHERE c.relkind = 'S'")
        )
    load_catalog(UnitOfWorkFactory(make_session_factory(engine))(), SEED_CATALOG)


@pytest.fixture(params=BACKENDS)
def db_engine(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> Iterator[Engine]:
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        shutil.copy(sqlite_template, path)
        engine = make_engine(f"sqlite:///{path}")
    else:
        url = request.getfixturevalue("pg_database")
        engine = make_engine(url, pool_size=5)
        _truncate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def app(db_engine: Engine, tmp_path: Path) -> App:
    settings = Settings(
        environment="test",
        database_url=str(db_engine.url),
        file_store_url=str(tmp_path / "files"),
        _env_file=None,
    )
    return build_app(settings, db=db_engine)


@pytest.fixture
def uow_factory(app: App) -> UnitOfWorkFactory:
    return app.uow_factory


@pytest.fixture
def chat(app: App) -> Chat:
    return Chat(app.conversation, app.uow_factory, files=app.files)
