"""SQLite's log checkpointed beside the request path (lumyx.db.checkpoints): a
checkpoint copies the whole log and lets the next writer start it over, gives way
to a writer holding the lock instead of waiting for it, and, once running, the
hot path's driver connections leave the log to it."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import create_engine

from lumyx.db import checkpoints
from lumyx.db.driver import DriverConnections


@pytest.fixture
def path(tmp_path):
    path = str(tmp_path / "log.db")
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    conn.close()
    return path


def writer(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA wal_autocheckpoint=0")  # as the hot path's, the log left to the checkpoints
    return conn


def frames_in_log(path: str) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1]


def test_a_checkpoint_copies_the_log_and_the_next_writer_starts_it_over(path):
    conn = writer(path)
    for _ in range(300):
        conn.execute("INSERT INTO t (v) VALUES (?)", ("x" * 500,))
    work = checkpoints.Checkpoints(path)
    busy, frames, copied = work.once()
    assert busy == 0 and frames >= 300 and copied == frames
    conn.execute("INSERT INTO t (v) VALUES ('one more')")
    assert frames_in_log(path) <= 3, "the log started over"
    assert conn.execute("SELECT count(*) FROM t").fetchone() == (301,)
    assert work.made == 1


def test_a_checkpoint_gives_way_to_a_writer_holding_the_lock(path):
    conn = writer(path)
    for _ in range(50):
        conn.execute("INSERT INTO t (v) VALUES ('a')")
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO t (v) VALUES ('in flight')")
    work = checkpoints.Checkpoints(path)
    _busy, frames, copied = work.once()  # returns at once: the writer is not waited for
    assert copied == frames, "what was committed is copied all the same"
    assert work.restarts == 0
    conn.execute("COMMIT")
    assert work.once()[0] == 0 and work.restarts == 1


def test_once_running_the_driver_connections_leave_the_log_to_the_checkpoints(path, monkeypatch):
    engine = create_engine(f"sqlite:///{path}")
    monkeypatch.setattr(checkpoints, "running", checkpoints.Checkpoints(path))
    connections = DriverConnections()
    with connections.connection(engine) as conn:
        assert conn.execute("PRAGMA wal_autocheckpoint").fetchone() == (checkpoints.BACKSTOP_FRAMES,)
    pooled, _since = connections.idle.pop()
    connections._give_up(pooled, broken=False)  # back to the pool, as its other users keep it
    with engine.connect() as again:
        assert again.exec_driver_sql("PRAGMA wal_autocheckpoint").fetchone() == (1000,)
