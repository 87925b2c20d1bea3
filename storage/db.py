"""Engines and sessions. SQLite (embedded default) and PostgreSQL behave alike to callers."""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
import time
import weakref
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)

PING_IDLE_AFTER = 10.0  # seconds in the pool after which a connection is checked before use
CHECKPOINT_EVERY = 0.5  # seconds between SQLite checkpoints when they run in the background
# A WAL this long (in frames: 64 MB of 4 KB pages) that has not started over is copied to its
# end with this process's writers held back a moment (see `_Checkpointer`).
RESTART_FRAMES = 16_384
# Before that copy, copies follow (up to 3) while the last one left more frames than 256.
_CATCH_UP_COPIES, _LEFT_FOR_THE_GATE = 3, 256
# Bytes a SQLite WAL file is cut back to when it starts over.
WAL_SIZE_LIMIT = 128 * 1024 * 1024


def make_engine(
    url: str, *, echo: bool = False, pool_size: int = 10, background_checkpoints: bool = False
) -> Engine:
    """Build an engine: SQLite gets WAL, foreign keys and writer-serializing transactions.

    `background_checkpoints` (a long-running server on a SQLite file): the WAL is copied back
    into the database by a thread of its own every `CHECKPOINT_EVERY` seconds instead of by
    whichever commit crosses SQLite's 1,000-page mark, which then waits for the copy and its
    fsyncs (the slowest commits of a busy server). Stopped by `dispose_engine`.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        file_backed = bool(database) and database != ":memory:"
        if file_backed:
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            echo=echo,
            hide_parameters=True,  # (as PostgreSQL's, below)
            connect_args={"check_same_thread": False, "timeout": 30},
            # The connection checked in last goes out first. A SQLite connection drops its
            # whole page cache when the WAL changed since its last transaction (another
            # connection wrote), so going round the pool made nearly every transaction read
            # its pages again; one warm connection now serves a stream of transactions.
            **({"pool_use_lifo": True} if file_backed else {}),
        )
        background = background_checkpoints and file_backed
        _configure_sqlite(engine, autocheckpoint=not background)
        if background:
            checkpointer = _CHECKPOINTERS[engine] = _Checkpointer(
                database, _GATES[engine], CHECKPOINT_EVERY, RESTART_FRAMES
            )
            weakref.finalize(engine, checkpointer.stop, wait=False)  # dropped, not disposed
        return engine
    # A statement's error names no value it was given: they are the gestores' data, message
    # texts and keys, and the error goes to the logs (an event that fails is logged whole).
    engine = create_engine(
        url, echo=echo, hide_parameters=True, pool_size=pool_size, max_overflow=pool_size
    )
    _ping_idle_connections(engine)
    return engine


def _ping_idle_connections(engine: Engine, idle_seconds: float = PING_IDLE_AFTER) -> None:
    """`pool_pre_ping`, but only for connections that sat idle in the pool.

    pre_ping costs a round trip on every checkout, i.e. on every transaction of the hot path.
    A connection used a moment ago is not pinged: if the server went away since, that one
    transaction fails, the pool is invalidated and the next one reconnects.
    """

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.pop("idle_since", None)
        if since is None or time.monotonic() - since < idle_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
            dbapi_connection.rollback()
        except Exception as exc:
            raise DisconnectionError() from exc  # the pool retries with a new connection


def dispose_engine(engine: Engine) -> None:
    """Close the engine's connections and stop its background checkpoints (one last one)."""
    checkpointer = _CHECKPOINTERS.pop(engine, None)
    if checkpointer is not None:
        checkpointer.stop()
    engine.dispose()


def _configure_sqlite(engine: Engine, *, autocheckpoint: bool = True) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin (see "begin" below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
        if not autocheckpoint:
            cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()

    writer = _GATES[engine] = _WriterGate(engine)

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # One writer at a time, taken at BEGIN: no upgrade deadlocks between threads/processes,
        # and this is what serializes two events of one identity on SQLite.
        writer.enter(connection.connection)
        try:
            # on the driver itself: through SQLAlchemy this costs as much as the event's query
            connection.connection.driver_connection.execute("BEGIN IMMEDIATE")
        except BaseException:
            writer.leave(connection.connection)
            raise

    # A connection that goes back to the pool or is thrown away holds no transaction.
    @event.listens_for(engine, "checkin")
    def _on_checkin(dbapi_connection: Any, _record: Any) -> None:
        writer.leave(dbapi_connection)

    @event.listens_for(engine, "invalidate")
    def _on_invalidate(dbapi_connection: Any, _record: Any, _exception: Any) -> None:
        writer.leave(dbapi_connection)


class _Checkpointer:
    """A thread that checkpoints a SQLite file's WAL every `CHECKPOINT_EVERY` seconds.

    PASSIVE: it copies what no reader still needs and never blocks a writer or a reader (the
    fsyncs happen here, with the GIL released); a WAL that readers keep pinned is copied on a
    later turn, as with SQLite's own checkpoints. On its own connection, outside the pool.

    The WAL starts over from its beginning only when a writer begins once every frame of it
    has been copied. Writers that never pause (a server at saturation) append frames while
    each copy runs, so that moment never came: the file grew by every commit's pages (≈ 50 KB
    an event; 2 GB after 40,000 events on one thread) and each event got slower as it grew
    (≈ 0.55 → 0.88 ms of CPU). So once the WAL is `restart_frames` long, copies follow until
    what the writers appended during the last one is small, and that rest is copied while this
    process's writers wait at the writer gate: 4 ms typically, up to 10 (two fsyncs, the copy,
    taking the GIL back), about once a second at saturation; the steps meanwhile go to
    threads and the loop goes on. The next writer then starts the WAL over, and cuts the file
    back to `WAL_SIZE_LIMIT`.
    """

    def __init__(
        self,
        database: str,
        gate: _WriterGate,
        every: float,
        restart_frames: int,
    ) -> None:
        self._database = database
        self._gate = gate
        self._every = every
        self._restart_frames = restart_frames
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        connection: sqlite3.Connection | None = None
        try:
            connection = sqlite3.connect(self._database, timeout=30, check_same_thread=False)
            while not self._stopped.wait(self._every):
                self._checkpoint(connection)
            self._checkpoint(connection)
        except sqlite3.Error as error:  # the file went away: nothing left to checkpoint
            log.warning("SQLite checkpoints stopped: %s", error)
        finally:
            if connection is not None:
                connection.close()

    def _checkpoint(self, connection: sqlite3.Connection) -> None:
        frames = self._passive(connection)
        if frames < self._restart_frames:
            return
        for _ in range(_CATCH_UP_COPIES):
            more = self._passive(connection)
            if more - frames <= _LEFT_FOR_THE_GATE:
                break
            frames = more
        self._gate.enter(connection)
        try:
            self._passive(connection)
        finally:
            self._gate.leave(connection)

    @staticmethod
    def _passive(connection: sqlite3.Connection) -> int:
        """Copy what can be copied now; the WAL's length in frames (-1: not in WAL mode; 0:
        busy this time)."""
        try:
            _busy, frames, _copied = connection.execute(
                "PRAGMA wal_checkpoint(PASSIVE)"
            ).fetchone()
        except sqlite3.OperationalError as error:  # busy or locked: the next turn copies it
            log.debug("SQLite checkpoint skipped: %s", error)
            return 0
        return int(frames)

    def stop(self, *, wait: bool = True) -> None:
        self._stopped.set()
        if wait:
            self._thread.join()


# The writer gate of each SQLite engine (see `_WriterGate`).
_GATES: weakref.WeakKeyDictionary[Engine, _WriterGate] = weakref.WeakKeyDictionary()


def writer_free(engine: Engine) -> bool | None:
    """Whether no thread of this process holds the engine's one writer now (SQLite; a hint:
    another may take it the next moment); None when the engine has no writer gate."""
    gate = _GATES.get(engine)
    return None if gate is None else gate.free()


# The background checkpointer of each engine that has one (see `make_engine`).
_CHECKPOINTERS: weakref.WeakKeyDictionary[Engine, _Checkpointer] = weakref.WeakKeyDictionary()


class _WriterGate:
    """Queue this process's SQLite writers on a lock instead of SQLite's busy handler.

    BEGIN IMMEDIATE allows one writer at a time; the others retry inside SQLite, sleeping up
    to 100 ms between tries, which makes the tail latency of concurrent events huge. Threads
    of one process wait here instead, and are woken as soon as the writer commits or rolls
    back. Other processes still meet the busy timeout. A thread that cannot get the gate in
    `timeout` seconds goes on to BEGIN anyway (and SQLite decides), so this never deadlocks.
    """

    def __init__(self, engine: Engine, timeout: float = 30.0) -> None:
        self._lock = threading.Lock()
        self._owner: Any = None
        self._timeout = timeout
        dialect: Any = engine.dialect
        commit, rollback = dialect.do_commit, dialect.do_rollback

        def do_commit(dbapi_connection: Any) -> None:
            try:
                commit(dbapi_connection)
            finally:
                self.leave(dbapi_connection)

        def do_rollback(dbapi_connection: Any) -> None:
            try:
                rollback(dbapi_connection)
            finally:
                self.leave(dbapi_connection)

        dialect.do_commit, dialect.do_rollback = do_commit, do_rollback

    def free(self) -> bool:
        return not self._lock.locked()

    def enter(self, connection: Any) -> None:
        if self._lock.acquire(timeout=self._timeout):
            self._owner = _raw(connection)

    def leave(self, connection: Any) -> None:
        if self._owner is not None and self._owner is _raw(connection):
            self._owner = None
            self._lock.release()


def _raw(connection: Any) -> Any:
    return getattr(connection, "dbapi_connection", connection)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False, autoflush=True)


def lock_key(name: str) -> int:
    """A stable signed 64-bit number for a name, for PostgreSQL advisory locks."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), signed=True)


def advisory_xact_lock(connection: Connection, name: str) -> None:
    """Serialize transactions on `name` until commit (PostgreSQL); SQLite's BEGIN does it."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key(name)})
