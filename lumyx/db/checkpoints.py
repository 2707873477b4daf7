"""SQLite's write-ahead log, checkpointed beside the request path.

Every commit appends its pages to the log (lumyx.db: WAL mode), and a checkpoint
copies them back into the database file. By default the commit that takes the
log past 1,000 pages runs the checkpoint itself: a few milliseconds of copies and
two flushes inside one C call, which stop that commit's whole gevent worker, about
one request in a hundred on the hot path.

Each gunicorn worker on SQLite instead runs :func:`start`: a greenlet that every
``TICK_S`` hands one checkpoint to a native thread of gevent's pool (SQLite lets
go of Python's lock while it copies, so the work runs on another core while the
worker serves on), and the worker's hot-path connections (lumyx.db.driver) leave
the log to it, their own automatic checkpoint only a backstop past
``BACKSTOP_FRAMES``.

A checkpoint is passive first: it copies what it can without holding any writer
back. When commits made meanwhile leave a few frames uncopied, a RESTART
checkpoint copies those while holding writers back for that moment, so that the
next writer starts the log over and the log file stays small. A database busy
with another checkpoint (the other worker's) or with a reader on an old snapshot
is tried again at the next tick.
"""

from __future__ import annotations

import logging
import sqlite3
import time

log = logging.getLogger("lumyx.db")

TICK_S = 0.05
RESTART_AT_MOST = 512  # frames left uncopied that a RESTART checkpoint copies while holding writers back
BACKSTOP_FRAMES = 10_000  # a hot-path connection's own automatic checkpoint, should the thread fall behind
COMPLAIN_EVERY_S = 60.0


class Checkpoints:
    """One worker's checkpoints of the SQLite database at ``path``."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.conn: sqlite3.Connection | None = None
        self.made = 0  # checkpoints that copied frames
        self.restarts = 0  # of them, those that let the log start over

    def once(self) -> tuple[int, int, int]:
        """One checkpoint (on the native thread): (busy, frames in the log, frames copied)."""
        if self.conn is None:
            self.conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self.conn.execute("PRAGMA busy_timeout=0")  # never wait: the next tick tries again
        busy, frames, copied = self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        if busy or frames <= 0:
            return busy, frames, copied
        self.made += 1
        if frames - copied <= RESTART_AT_MOST:
            busy, frames, copied = self.conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
            self.restarts += not busy
        return busy, frames, copied

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


running: Checkpoints | None = None  # this worker's, once started


def start(app) -> None:
    """In a gevent worker whose database is a SQLite file: its checkpoints (module docstring)."""
    global running
    with app.app_context():
        from lumyx.db import db

        url = db.engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return
    import gevent
    from gevent import get_hub

    running = checkpoints = Checkpoints(url.database)
    pool = get_hub().threadpool

    def loop() -> None:
        complained = -COMPLAIN_EVERY_S
        while True:
            gevent.sleep(TICK_S)
            try:
                pool.apply(checkpoints.once)
            except Exception:
                checkpoints.close()
                if time.monotonic() - complained >= COMPLAIN_EVERY_S:
                    complained = time.monotonic()
                    log.exception("checkpointing the SQLite log failed; trying again")

    gevent.spawn(loop)
