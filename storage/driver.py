"""Core statements compiled once per dialect and run straight on the driver's cursor.

For the few statements every inbound event runs. `Connection.execute` of an already compiled
statement still costs about 100 µs of Python per call (execution context, result metadata,
cursor wrapper), four to five times what the driver itself spends; these skip that layer and
keep what matters of it: the same SQL text SQLAlchemy renders for the dialect, its bind and
result processors for each column type (UTC datetimes, JSON), the `before_cursor_execute`
event for whoever listens (a statement counter; a listener that rewrites the statement is not
honoured), SQLAlchemy's SQL log when it is on (the statement and its parameters, as `echo`
prints them), its exception types, and the pool invalidated when the server went away.
They run on the session's connection, so in its transaction. Not for IN lists (expanding
parameters): give each value its own parameter instead.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, exc
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.types import TypeEngine

from storage.types import UTCDateTime

# SQLAlchemy's own SQL log (echo, or logging configured at INFO): these statements go there too.
_SQL_LOG = logging.getLogger("sqlalchemy.engine.Engine")

# Where a DBAPI connection keeps its reusable cursor (the pool's per-connection `info`).
_CURSOR = "revendabot.driver_cursor"

Processor = Callable[[Any], Any]


def _bind_processor(type_: TypeEngine[Any], dialect: Dialect) -> Processor | None:
    if isinstance(type_, UTCDateTime):
        return _utc_bind(dialect)
    return type_.dialect_impl(dialect).bind_processor(dialect)


# Per dialect name (its UTC timestamps convert alike whichever engine it came from).
_UTC_BINDS: dict[str, Processor | None] = {}


def _utc_bind(dialect: Dialect) -> Processor | None:
    """The bind processor of every UTC timestamp on `dialect`, shared by all statements and
    remembering its last values: an event binds the same few instants (now, now + the state's
    life, the lease's edge) about ten times over, and on SQLite each costs a conversion to
    UTC and a formatting to text."""
    if dialect.name not in _UTC_BINDS:
        process = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
        cached = None if process is None else functools.lru_cache(maxsize=64)(process)
        _UTC_BINDS[dialect.name] = cached
    return _UTC_BINDS[dialect.name]


class _Compiled:
    """One statement rendered for one dialect, with the processors of its binds and columns."""

    __slots__ = (
        "_dialect",
        "_result_types",
        "binds",
        "defaults",
        "described",
        "positional",
        "results",
        "sql",
    )

    def __init__(
        self, statement: ClauseElement, result_types: Sequence[TypeEngine[Any]], dialect: Dialect
    ) -> None:
        compiled: Any = statement.compile(dialect=dialect)
        self.sql: str = compiled.string
        names = list(compiled.positiontup) if compiled.positional else list(compiled.binds)
        self.positional: bool = compiled.positional
        if any(compiled.binds[name].expanding for name in names):
            raise ValueError("expanding parameters (IN lists) need SQLAlchemy's own execute")
        self.binds: list[tuple[str, Processor | None]] = [
            (name, _bind_processor(compiled.binds[name].type, dialect)) for name in names
        ]
        # values the statement carries itself (a literal compared in a WHERE, a LIMIT)
        self.defaults: dict[str, Any] = {
            name: compiled.binds[name].effective_value
            for name in names
            if not compiled.binds[name].required
        }
        self._dialect = dialect
        self._result_types = tuple(result_types)
        # built at the first result, from the driver's own column types (cursor.description),
        # as SQLAlchemy asks them (PostgreSQL's NUMERIC needs its type code)
        self.results: list[Any] | None = None
        self.described = False

    def describe(self, description: Sequence[Any] | None) -> None:
        codes = [column[1] for column in description or ()]
        codes += [None] * (len(self._result_types) - len(codes))
        processors: list[Any] = [
            t.dialect_impl(self._dialect).result_processor(self._dialect, code)
            for t, code in zip(self._result_types, codes, strict=False)
        ]
        self.results = processors if any(p is not None for p in processors) else None
        self.described = True

    def parameters(self, params: Mapping[str, Any]) -> Any:
        if self.defaults:
            params = {**self.defaults, **params}
        values = [
            params[name] if process is None else process(params[name])
            for name, process in self.binds
        ]
        if self.positional:
            return values
        return dict(zip((name for name, _ in self.binds), values, strict=True))

    def row(self, raw: Sequence[Any]) -> tuple[Any, ...]:
        if self.results is None:
            return tuple(raw)
        return tuple(
            value if process is None else process(value)
            for value, process in zip(raw, self.results, strict=True)
        )


class DriverStatement:
    """A Core statement run on the DBAPI cursor of a `Connection` (see the module docstring).

    `result_types` are the types of the columns it returns, in order, for their result
    processors; None for a statement that returns nothing (or only what needs no processing).
    """

    def __init__(
        self, statement: ClauseElement, result_types: Sequence[TypeEngine[Any]] = ()
    ) -> None:
        self.statement = statement
        self.result_types = tuple(result_types)
        self._compiled: dict[tuple[str, str], _Compiled] = {}

    def _for(self, dialect: Dialect) -> _Compiled:
        key = (dialect.name, dialect.driver)
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compiled[key] = _Compiled(self.statement, self.result_types, dialect)
        return compiled

    def _execute(
        self, connection: Connection, params: Mapping[str, Any], many: Sequence[Mapping[str, Any]]
    ) -> tuple[_Compiled, Any]:
        compiled = self._for(connection.dialect)
        proxied = connection.connection
        cursor = proxied.info.get(_CURSOR)
        if cursor is None:
            cursor = proxied.info[_CURSOR] = proxied.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            parameters = (
                [compiled.parameters(p) for p in many] if many else compiled.parameters(params)
            )
        except Exception as error:  # a bind processor refused a value (a naive datetime…)
            raise exc.StatementError(str(error), compiled.sql, None, error) from error
        if _SQL_LOG.isEnabledFor(logging.INFO):  # SQL logging on: say it as SQLAlchemy would
            _SQL_LOG.info("%s", compiled.sql)
            _SQL_LOG.info("[driver] %r", parameters)
        dispatch = connection.dispatch
        if dispatch.before_cursor_execute:
            dispatch.before_cursor_execute(
                connection, cursor, compiled.sql, parameters, None, bool(many)
            )
        try:
            if many:
                cursor.executemany(compiled.sql, parameters)
            else:
                cursor.execute(compiled.sql, parameters)
        except connection.dialect.loaded_dbapi.Error as error:
            if connection.dialect.is_disconnect(error, proxied.dbapi_connection, cursor):
                proxied.info.pop(_CURSOR, None)
                connection.invalidate(error)
            # as SQLAlchemy's own path on this engine: no values in the error's text, when
            # the engine hides them (they are the gestores' data and message texts)
            raise exc.DBAPIError.instance(
                compiled.sql,
                parameters,
                error,
                connection.dialect.loaded_dbapi.Error,
                hide_parameters=connection.engine.hide_parameters,
                dialect=connection.dialect,
                ismulti=bool(many),
            ) from error
        return compiled, cursor

    def run(self, connection: Connection, params: Mapping[str, Any]) -> None:
        """Execute for its effect."""
        self._execute(connection, params, ())

    def run_many(self, connection: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Execute once per row, in one executemany."""
        if rows:
            self._execute(connection, {}, rows)

    def all(self, connection: Connection, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Every row returned, processed."""
        compiled, cursor = self._execute(connection, params, ())
        if not compiled.described:
            compiled.describe(cursor.description)  # psycopg builds it anew at each call
        return [compiled.row(raw) for raw in cursor.fetchall()]

    def first(self, connection: Connection, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The first row returned, processed; None when there is none."""
        compiled, cursor = self._execute(connection, params, ())
        if not compiled.described:
            compiled.describe(cursor.description)  # psycopg builds it anew at each call
        raw = cursor.fetchone()
        if raw is not None:
            cursor.fetchall()  # drain, so the cursor is free for the next statement
        return None if raw is None else compiled.row(raw)
