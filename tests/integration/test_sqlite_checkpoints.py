"""SQLite's WAL checkpoints in a thread of their own for the long-running server."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from storage import db
from storage.db import dispose_engine, make_engine


def _write(engine: Engine, rows: int) -> None:
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v BLOB)"))
    for _ in range(rows):
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO t (v) VALUES (randomblob(:n))"), {"n": ROW_BYTES})


ROWS, ROW_BYTES = 600, 3000  # ≈ 1,800 pages of WAL: past SQLite's own 1,000-page mark


def _autocheckpoint(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("PRAGMA wal_autocheckpoint")).scalar_one())


def _checkpoint_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "sqlite-checkpoint"]


def test_a_plain_engine_leaves_checkpoints_to_sqlite(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'plain.db'}")
    try:
        assert _autocheckpoint(engine) == 1000
        assert engine not in _engines_with_checkpointer()
    finally:
        dispose_engine(engine)


def test_the_server_engine_checkpoints_in_the_background_not_in_its_commits(
    tmp_path: Path,
) -> None:
    path = tmp_path / "server.db"
    before = len(_checkpoint_threads())
    engine = make_engine(f"sqlite:///{path}", background_checkpoints=True)
    try:
        assert _autocheckpoint(engine) == 0  # no commit copies the WAL itself
        assert len(_checkpoint_threads()) == before + 1
        started = time.monotonic()
        _write(engine, ROWS)
        # the database file only grows when a checkpoint copies the WAL into it, and no
        # commit does that any more: the thread does
        while path.stat().st_size < ROWS * ROW_BYTES and time.monotonic() - started < 10:
            time.sleep(0.05)
        assert path.stat().st_size >= ROWS * ROW_BYTES
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM t")).scalar_one() == ROWS
    finally:
        dispose_engine(engine)
    assert len(_checkpoint_threads()) == before  # stopped with the engine


def test_a_wal_the_writers_never_leave_alone_still_starts_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Commits back to back, never a pause: every copy ends with frames appended meanwhile.
    Without a last copy made while the writers wait, the WAL never starts over and its file
    grows by every commit's pages."""
    monkeypatch.setattr(db, "CHECKPOINT_EVERY", 0.01)
    monkeypatch.setattr(db, "RESTART_FRAMES", 256)
    path = tmp_path / "busy.db"
    wal = Path(f"{path}-wal")
    engine = make_engine(f"sqlite:///{path}", background_checkpoints=True)
    commits, blob = 1_500, 16_000  # ≈ 5 pages a commit: ≈ 30 MB of WAL if it never restarts
    try:
        with engine.connect() as connection:
            limit = connection.execute(text("PRAGMA journal_size_limit")).scalar_one()
            assert limit == db.WAL_SIZE_LIMIT
        _write(engine, 0)
        largest = 0
        for _ in range(commits):
            with engine.begin() as connection:
                connection.execute(text("INSERT INTO t (v) VALUES (randomblob(:n))"), {"n": blob})
            largest = max(largest, wal.stat().st_size)
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM t")).scalar_one() == commits
    finally:
        dispose_engine(engine)
    assert largest < commits * blob / 3, f"the WAL grew to {largest:,} bytes"


def test_an_in_memory_or_postgresql_engine_gets_no_checkpoint_thread() -> None:
    before = len(_checkpoint_threads())
    engine = make_engine("sqlite://", background_checkpoints=True)
    try:
        assert len(_checkpoint_threads()) == before
    finally:
        dispose_engine(engine)


def test_a_checkpointer_whose_file_went_away_stops_quietly(tmp_path: Path) -> None:
    folder = tmp_path / "gone"
    engine = make_engine(f"sqlite:///{folder / 'x.db'}", background_checkpoints=True)
    _write(engine, 3)
    engine.dispose()
    for leftover in folder.iterdir():
        leftover.unlink()
    folder.rmdir()
    dispose_engine(engine)  # joins the thread: it must not hang or raise
    assert not [t for t in _checkpoint_threads() if t.is_alive() and not t.daemon]


def _engines_with_checkpointer() -> list[Engine]:
    from storage import db

    return list(db._CHECKPOINTERS)
