"""Statements psycopg has prepared run below its cursor (storage/driver.py `_run_below`): what
they read, write and raise must be what the cursor's path gives, and psycopg's deallocations
(a ROLLBACK, a DROP) must never leave one pointing at a statement the server forgot."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Connection,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    event,
    insert,
    literal,
    select,
)
from sqlalchemy.exc import DBAPIError, IntegrityError

import storage.driver
from bot.observability import scrub
from storage.db import make_engine
from storage.driver import DriverStatement
from storage.types import UTCDateTime

# psycopg prepares a statement at its sixth run on a connection (prepare_threshold 5): the
# runs after it go below the cursor
RUNS = 12
AT = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)

metadata = MetaData()
probe = Table(
    "driver_below_probe",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(40), nullable=False, unique=True),
    Column("n", BigInteger),
    Column("at", UTCDateTime()),
    Column("data", JSON),
)
READ = DriverStatement(
    select(probe.c.id, probe.c.name, probe.c.n, probe.c.at, probe.c.data, literal("100%"))
    .where(
        probe.c.name.like(bindparam("prefix") + "%"),
        probe.c.at >= bindparam("since"),
        # the same parameter twice: psycopg numbers it once
        (probe.c.n >= bindparam("least")) | (bindparam("least", type_=BigInteger) == 0),
    )
    .order_by(probe.c.id),
    [Integer(), String(), BigInteger(), UTCDateTime(), JSON(), String()],
)
ADD = DriverStatement(
    insert(probe)
    .values(name=bindparam("name"), n=bindparam("n"), at=bindparam("at"), data=bindparam("data"))
    .returning(probe.c.id),
    [Integer()],
)


@pytest.fixture
def engine(pg_database: str) -> Iterator[Engine]:
    """One pooled connection, so every transaction of a test is on the same one."""
    engine = make_engine(pg_database, pool_size=1)
    with engine.begin() as connection:
        probe.drop(connection, checkfirst=True)
        probe.create(connection)
    yield engine
    with engine.begin() as connection:
        probe.drop(connection, checkfirst=True)
    engine.dispose()


@pytest.fixture
def below(monkeypatch: pytest.MonkeyPatch) -> list[bool | str]:
    """For each statement run once psycopg's rendering was checked: whether it ran below the
    cursor ("raised" when it raised there)."""
    runs: list[bool | str] = []
    real = storage.driver._run_below

    def spy(*args: Any) -> Any:
        try:
            rows = real(*args)
        except Exception:
            runs.append("raised")
            raise
        runs.append(rows is not None)
        return rows

    monkeypatch.setattr(storage.driver, "_run_below", spy)
    return runs


def _add(connection: Connection, name: str, n: int | None, data: Any = None) -> int:
    row = ADD.first(connection, {"name": name, "n": n, "at": AT, "data": data})
    assert row is not None
    return int(row[0])


def _read(connection: Connection, prefix: str, least: int) -> list[tuple[Any, ...]]:
    return READ.all(
        connection, {"prefix": prefix, "since": AT - timedelta(days=1), "least": least}
    )


def _read_until_prepared(engine: Engine, name: str) -> None:
    """A row named `name`, read back as often as psycopg takes to prepare the read."""
    with engine.begin() as connection:
        _add(connection, name, 1)
        for _ in range(RUNS):
            _read(connection, name, 0)


def test_a_statement_psycopg_prepared_runs_below_its_cursor_and_reads_the_same(
    engine: Engine, below: list[bool | str]
) -> None:
    data = {"q": "São João", "p": 2, "x": {"preço": "89.95", "n": None}, "l": [1, "2"]}
    seen: list[Any] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        if statement.startswith("SELECT"):
            seen.append(parameters)

    event.listen(engine, "before_cursor_execute", record)
    with engine.begin() as connection:
        ids = [_add(connection, f"ana {i}", 1000 + i, data) for i in range(RUNS)]
        reads = [_read(connection, "ana", 0) for _ in range(RUNS)]
    event.remove(engine, "before_cursor_execute", record)
    with engine.begin() as connection:
        reference = connection.execute(
            select(probe.c.id, probe.c.name, probe.c.n, probe.c.at, probe.c.data, literal("100%"))
            .where(probe.c.name.like("ana%"))
            .order_by(probe.c.id)
        ).all()

    assert ids == sorted(ids)
    assert len(set(ids)) == RUNS
    assert all(read == [tuple(row) for row in reference] for read in reads)
    assert reads[0][3] == (ids[3], "ana 3", 1003, AT, data, "100%")
    assert reads[0][3][3].utcoffset() == timedelta(0)
    # the runs after psycopg prepared each statement went below the cursor (the first of
    # the transaction is the cursor's: it begins it)
    assert below.count(True) >= 2 * (RUNS - 6)
    # listeners see every run, below the cursor too, with its values named as the text names
    # them: what the cursor's runs show (those also name SQLAlchemy's anonymous binds)
    assert len(seen) == RUNS
    assert {"prefix": "ana", "least": 0}.items() <= seen[-1].items()
    assert all(p.items() <= seen[0].items() for p in seen)


def test_values_of_other_types_run_as_psycopg_prepared_them(
    engine: Engine, below: list[bool | str]
) -> None:
    # psycopg sends a small integer as int2 and a large one as int8, and None untyped: each
    # combination is a statement of its own to it, prepared after its own sixth run
    with engine.begin() as connection:
        _add(connection, "bia", 7)
        _add(connection, "bia grande", 2**40)
        _add(connection, "bia nula", None)
        for _ in range(RUNS):
            assert [row[1] for row in _read(connection, "bia", 0)] == [
                "bia",
                "bia grande",
                "bia nula",
            ]
            assert [row[1] for row in _read(connection, "bia", 8)] == ["bia grande"]
            assert [row[1] for row in _read(connection, "bia", 2**41)] == []
    assert below.count(True) >= 3 * (RUNS - 6)


@pytest.mark.parametrize("forget", ["rollback", "drop"])
def test_after_psycopg_deallocated_its_statements_they_run_again(
    engine: Engine, below: list[bool | str], forget: str
) -> None:
    _read_until_prepared(engine, "caio")
    assert any(below)
    # psycopg deallocates every statement it prepared after a ROLLBACK and after a DROP
    with engine.connect() as connection:
        if forget == "rollback":
            _read(connection, "caio", 0)
            connection.rollback()
        else:
            connection.exec_driver_sql("DROP TABLE IF EXISTS driver_below_nothing")
            connection.commit()
    below.clear()
    with engine.begin() as connection:
        for _ in range(RUNS):
            assert [row[1] for row in _read(connection, "caio", 0)] == ["caio"]
    assert below[:5] == [False] * 5  # counted again by psycopg, then prepared again
    assert any(below)


def test_an_error_below_the_cursor_is_sqlalchemys_names_no_value_and_the_next_goes_on(
    engine: Engine, below: list[bool | str]
) -> None:
    with engine.begin() as connection:
        for i in range(RUNS):
            _add(connection, f"duda {i}", i)
            _read(connection, "duda", 0)
    assert any(below)
    below.clear()
    with engine.connect() as connection:
        _read(connection, "duda", 0)  # (it begins the transaction, on the cursor)
        with pytest.raises(IntegrityError) as raised:
            _add(connection, "duda 3", 3, {"senha": "s3gr3d0"})  # the name is unique
    assert below == [False, "raised"]
    assert getattr(raised.value.orig, "sqlstate", None) == "23505"
    assert "s3gr3d0" not in scrub(str(raised.value))
    with engine.begin() as connection:
        _add(connection, "duda nova", 1)
        assert [row[1] for row in _read(connection, "duda n", 0)] == ["duda nova"]


def test_a_statement_psycopg_renders_otherwise_stays_on_the_cursor(
    engine: Engine, below: list[bool | str]
) -> None:
    statement = DriverStatement(select(probe.c.name).where(probe.c.n == bindparam("n")))
    with engine.begin() as connection:
        _add(connection, "eva", 5)
        statement.first(connection, {"n": 5})
        compiled = statement._for(connection.dialect)
        assert compiled.below is not None
        assert compiled.below.checked is True
        compiled.below.checked = False  # as if psycopg had sent another text
        before = len(below)
        for _ in range(RUNS):
            assert statement.first(connection, {"n": 5}) == ("eva",)
    assert len(below) == before


def test_a_connection_the_server_dropped_below_the_cursor_is_invalidated_and_replaced(
    engine: Engine, pg_database: str, below: list[bool | str]
) -> None:
    _read_until_prepared(engine, "fábio")
    assert any(below)
    killer = make_engine(pg_database, pool_size=1)
    try:
        with engine.connect() as connection:
            _read(connection, "fábio", 0)  # (it begins the transaction, on the cursor)
            pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
            with killer.begin() as other:
                other.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid or 0)})")
            below.clear()
            with pytest.raises(DBAPIError) as raised:
                _read(connection, "fábio", 0)
            assert below == ["raised"]
            assert raised.value.connection_invalidated
    finally:
        killer.dispose()
    with engine.begin() as connection:  # a new connection, whose statements start over
        assert [row[1] for row in _read(connection, "fábio", 0)] == ["fábio"]
