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

On psycopg, once psycopg itself has prepared a statement on a connection (at its sixth run
there), the statement runs below psycopg's cursor (`_Below`): its values adapted by psycopg's
own Transformer, the prepared statement executed by name and its rows loaded as the cursor
would, without the cursor's Python around each call (≈ 25 µs of CPU a statement). psycopg
stays the one that prepares and deallocates; what it has not prepared, or while no
transaction is open, goes through the cursor as before.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from psycopg import errors as pg_errors
from psycopg import pq
from psycopg.adapt import PyFormat, Transformer
from psycopg.generators import execute as pg_execute
from sqlalchemy import Connection, exc
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.types import TypeEngine

from storage.types import UTCDateTime

# SQLAlchemy's own SQL log (echo, or logging configured at INFO): these statements go there too.
_SQL_LOG = logging.getLogger("sqlalchemy.engine.Engine")
log = logging.getLogger(__name__)

# Where a DBAPI connection keeps a reusable cursor per statement (the pool's per-connection
# `info`). One cursor per statement, not one for all: psycopg keeps a cursor's adaptation
# context (the dumpers of its parameters, the loaders of its columns) only while it runs the
# same query again, and builds it anew otherwise (≈ 10 µs of CPU a statement).
_CURSORS = "revendabot.driver_cursors"
# Where a psycopg connection keeps the Transformer its statements below the cursor share.
_TRANSFORMER = "revendabot.driver_transformer"

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
        "below",
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
        self.below = (
            _Below(self.sql, self.binds)
            if dialect.driver == "psycopg" and not self.positional
            else None
        )

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

    def values(self, params: Mapping[str, Any], below: _Below) -> list[Any]:
        """The values of `params`, processed, in the order of the query below the cursor."""
        if self.defaults:
            params = {**self.defaults, **params}
        return [
            params[name] if process is None else process(params[name])
            for name, process in below.binds
        ]

    def row(self, raw: Sequence[Any]) -> tuple[Any, ...]:
        if self.results is None:
            return tuple(raw)
        return tuple(
            value if process is None else process(value)
            for value, process in zip(raw, self.results, strict=True)
        )


# A named placeholder as SQLAlchemy renders it for psycopg (pyformat), or an escaped percent.
_PYFORMAT = re.compile(r"%\(([^)]+)\)s|%%")


class _Below:
    """A statement as psycopg sends it ($1, $2… in the order of first use, as psycopg numbers
    them), with its values' names in that order. `checked`: whether psycopg's own rendering of
    it, seen at its first run through the cursor, was the same (None: not seen yet); only then
    does it find psycopg's prepared statement under the same key."""

    __slots__ = ("binds", "checked", "formats", "query")

    def __init__(self, sql: str, binds: Sequence[tuple[str, Processor | None]]) -> None:
        numbers: dict[str, int] = {}

        def number(match: re.Match[str]) -> str:
            name = match.group(1)
            if name is None:
                return "%"
            return f"${numbers.setdefault(name, len(numbers) + 1)}"

        self.query = _PYFORMAT.sub(number, sql).encode()
        processors = dict(binds)
        self.binds = [(name, processors[name]) for name in numbers]
        self.formats = [PyFormat.AUTO] * len(numbers)
        self.checked: bool | None = None

    def named(self, values: Sequence[Any]) -> dict[str, Any]:
        """`values` (in this query's order) by their names."""
        return dict(zip((name for name, _ in self.binds), values, strict=True))

    def check(self, cursor: Any) -> None:
        """Compare with what psycopg sent for the same statement (its documented `_query`)."""
        sent = getattr(cursor, "_query", None)
        self.checked = sent is not None and sent.query == self.query
        if not self.checked:
            log.debug("statement kept on psycopg's cursor: its rendering differs from ours")


class _Rows:
    """A result loaded below the cursor, read as the cursor's would be."""

    __slots__ = ("_result", "_rows")

    def __init__(self, result: Any, rows: list[tuple[Any, ...]]) -> None:
        self._result = result
        self._rows = rows

    @property
    def description(self) -> list[tuple[str, int]]:
        result = self._result
        return [(result.fname(i), result.ftype(i)) for i in range(result.nfields)]

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._rows.pop(0) if self._rows else None

    def fetchall(self) -> list[tuple[Any, ...]]:
        rows, self._rows = self._rows, []
        return rows


def _run_below(proxied: Any, below: _Below, values: Sequence[Any]) -> _Rows | None:
    """Run the statement psycopg has prepared on this connection for these values' types, in
    the open transaction; None when there is none (not prepared yet, or no transaction: the
    cursor begins one), for the cursor to run it. The prepared statements are psycopg's own
    (its `_prepared` registry, keyed by the query and its parameters' types), so they are
    never stale: psycopg deallocates them, and forgets them when it does."""
    connection = proxied.dbapi_connection
    transformer = proxied.info.get(_TRANSFORMER)
    if transformer is None:
        transformer = proxied.info[_TRANSFORMER] = Transformer(connection)
    with connection.lock:
        pgconn = connection.pgconn
        if pgconn.transaction_status != pq.TransactionStatus.INTRANS:
            return None
        params = transformer.dump_sequence(values, below.formats)
        key = (below.query, transformer.types or ())
        names = connection._prepared._names
        name = names.get(key)
        if name is None:
            return None
        names.move_to_end(key)  # its place in psycopg's LRU, as its cursor's use would
        pgconn.send_query_prepared(name, params, param_formats=transformer.formats)
        result = connection.wait(pg_execute(pgconn))[-1]
        status = result.status
        if status == pq.ExecStatus.FATAL_ERROR:
            raise pg_errors.error_from_result(result, encoding=connection.info.encoding)
        if status != pq.ExecStatus.TUPLES_OK:
            return _Rows(result, [])
        transformer.set_pgresult(result)
        return _Rows(result, transformer.load_rows(0, result.ntuples, tuple))


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
        cursors = proxied.info.get(_CURSORS)
        if cursors is None:
            cursors = proxied.info[_CURSORS] = {}
        cursor = cursors.get(compiled)
        if cursor is None:
            cursor = cursors[compiled] = proxied.dbapi_connection.cursor()  # type: ignore[union-attr]
        below = compiled.below if not many else None
        lean = below if below is not None and below.checked else None
        try:
            if lean is not None:
                parameters: Any = compiled.values(params, lean)
            elif many:
                parameters = [compiled.parameters(p) for p in many]
            else:
                parameters = compiled.parameters(params)
        except Exception as error:  # a bind processor refused a value (a naive datetime…)
            raise exc.StatementError(str(error), compiled.sql, None, error) from error
        logged = _SQL_LOG.isEnabledFor(logging.INFO)
        dispatch = connection.dispatch
        if logged or dispatch.before_cursor_execute:
            # the values by name, as the statement's text names them
            shown = parameters if lean is None else lean.named(parameters)
            if logged:  # SQL logging on: say it as SQLAlchemy would
                _SQL_LOG.info("%s", compiled.sql)
                _SQL_LOG.info("[driver] %r", shown)
            if dispatch.before_cursor_execute:
                dispatch.before_cursor_execute(
                    connection, cursor, compiled.sql, shown, None, bool(many)
                )
        try:
            if lean is not None:
                rows = _run_below(proxied, lean, parameters)
                if rows is not None:
                    return compiled, rows
                parameters = compiled.parameters(params)
            if many:
                cursor.executemany(compiled.sql, parameters)
            else:
                cursor.execute(compiled.sql, parameters)
                if below is not None and below.checked is None:
                    below.check(cursor)
        except connection.dialect.loaded_dbapi.Error as error:
            gone = connection.dialect.is_disconnect(error, proxied.dbapi_connection, cursor)
            if gone:
                proxied.info.pop(_CURSORS, None)
                proxied.info.pop(_TRANSFORMER, None)
                connection.invalidate(error)
            # as SQLAlchemy's own path on this engine: no values in the error's text, when
            # the engine hides them (they are the gestores' data and message texts)
            raise exc.DBAPIError.instance(
                compiled.sql,
                parameters,
                error,
                connection.dialect.loaded_dbapi.Error,
                hide_parameters=connection.engine.hide_parameters,
                connection_invalidated=gone,
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
            cursor.fetchall()  # drain: a statement left half read keeps SQLite's read open
        return None if raw is None else compiled.row(raw)
