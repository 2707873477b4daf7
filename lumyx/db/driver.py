"""Driver connections for the writes every priced request makes: its credit
hold and its settlement.

Taking a connection from SQLAlchemy's pool and handing it back (with the
pool's events and its reset), and running a statement through SQLAlchemy's
execution machinery, cost as much as the hold's own statements. So each
process keeps a few pooled connections checked out and runs these statements
on their driver connections directly; each serves one transaction at a time.
They still count against the pool's size, so a worker never opens more
connections than the pool allows; a worker writes on at most ``AT_ONCE`` at a
time, and a write finding them all in use waits its turn, as long as it would
wait for the pool. On SQLite one suffices (its transactions
never wait on the network); on PostgreSQL there is one per statement, or batch of
one key's statements (lumyx.db.postgres_writes), being written at that moment, in
autocommit mode. One idle for over a second is pinged before
use and replaced when the ping fails, as the pool does (lumyx/db/__init__.py). A
new engine takes its own. :data:`connections` is the worker's; the worker's
runtime (lumyx.runtime) makes a forked child forget its parent's.

The driver's errors come out as SQLAlchemy's (IntegrityError, OperationalError),
as everywhere else; after any but a duplicate that reaches :meth:`DriverConnections.connection`
the connection is closed (PostgreSQL's statements keep theirs unless it was lost).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, TimeoutError

from lumyx.db import PING_AFTER_IDLE_S, checkpoints, db, retried

# Connections one worker writes on at once, all kept checked out for the next writes; a
# write finding them all busy waits its turn (first come, first served) instead of
# taking another from the pool, which past its size would open a PostgreSQL connection
# for that write and close it after. 16 at once, or 4, served fewer requests a second
# at concurrency 64 (bench/changes.md).
AT_ONCE = 8
# How long a SQLite write waits for the write lock before it fails (SQLite's own
# default for a connection, as Python's sqlite3 sets it), and its first and longest
# pause between two tries.
LOCK_WAIT_S = 5.0
LOCK_PAUSES_S = (0.0001, 0.002)
SQLITE_AUTOCHECKPOINT = 1000  # SQLite's default, as the pool's other users keep it


class Turns:
    """At most ``n`` holders at once, the others waiting in the order they came: a
    turn given back passes straight to the first in line. (A semaphore lets a
    newcomer take a turn just given back while others wait, and under load some
    writes lost that race for seconds.)"""

    def __init__(self, n: int) -> None:
        self.free = n
        self.waiting: deque = deque()
        self.mutex = threading.Lock()

    def acquire(self, timeout: float | None) -> bool:
        with self.mutex:
            if self.free and not self.waiting:
                self.free -= 1
                return True
            turn = threading.Event()
            self.waiting.append(turn)
        if turn.wait(timeout):
            return True
        with self.mutex:
            if turn.is_set():  # handed over as the wait ended
                return True
            self.waiting.remove(turn)
            return False

    def release(self) -> None:
        with self.mutex:
            if self.waiting:
                self.waiting.popleft().set()
            else:
                self.free += 1


class DriverConnections:
    def __init__(self) -> None:
        self.engine: Engine | None = None
        self.idle: list[tuple[object, float]] = []  # (pooled connection, idle since)
        self.inherited: list[tuple[object, float]] = []
        self.turns = Turns(AT_ONCE)

    def forget(self) -> None:
        """In a forked child: the parent's connections are the parent's. They are
        kept here, never used: closing one, or letting the pool reset it as it
        collects it, would speak on the parent's socket and end its session."""
        self.inherited += self.idle
        self.engine, self.idle = None, []
        self.turns = Turns(AT_ONCE)

    @staticmethod
    def _give_up(pooled, broken: bool) -> None:
        """Back to the pool, or (broken) closed and its place in the pool freed."""
        try:
            if broken:
                pooled.invalidate()
                return
            if isinstance(pooled.driver_connection, sqlite3.Connection):
                pooled.driver_connection.execute(f"PRAGMA busy_timeout={int(LOCK_WAIT_S * 1000)}")
                pooled.driver_connection.execute(f"PRAGMA wal_autocheckpoint={SQLITE_AUTOCHECKPOINT}")
            else:
                pooled.driver_connection.autocommit = False  # as the pool's other users expect
            pooled.close()
        except Exception:
            pass

    @staticmethod
    def _check_out(engine: Engine):
        try:
            pooled = engine.raw_connection()
        except engine.dialect.loaded_dbapi.Error as exc:  # the database is unreachable, or refuses
            raise DBAPIError.instance(None, None, exc, engine.dialect.loaded_dbapi.Error) from exc
        if engine.dialect.name == "postgresql":
            pooled.driver_connection.autocommit = True  # each statement its own transaction
        else:
            pooled.driver_connection.execute("PRAGMA busy_timeout=0")  # waits in _begin_immediate
            if checkpoints.running is not None:  # the log is checkpointed beside the request path
                pooled.driver_connection.execute(f"PRAGMA wal_autocheckpoint={checkpoints.BACKSTOP_FRAMES}")
        return pooled

    def _alive(self, pooled, idle_since: float) -> bool:
        conn = pooled.driver_connection
        if isinstance(conn, sqlite3.Connection) or time.monotonic() - idle_since < PING_AFTER_IDLE_S:
            return True
        try:
            conn.execute("SELECT 1")
            return True
        except Exception:
            self._give_up(pooled, broken=True)
            return False

    @contextmanager
    def connection(self, engine: Engine) -> Iterator:
        """One of this worker's driver connections for one transaction: waits its turn
        while ``AT_ONCE`` are in use, as long as the pool would wait for a connection."""
        timeout = engine.pool.timeout() if hasattr(engine.pool, "timeout") else None
        if not self.turns.acquire(timeout=timeout):
            raise TimeoutError(f"no driver connection came free within {timeout} s")
        try:
            with self._connection(engine) as conn:
                yield conn
        finally:
            self.turns.release()

    @contextmanager
    def _connection(self, engine: Engine) -> Iterator:
        if engine is not self.engine:
            for pooled, _since in self.idle:
                self._give_up(pooled, broken=False)
            self.engine, self.idle = engine, []
        pooled = None
        while self.idle and pooled is None:
            candidate, since = self.idle.pop()
            pooled = candidate if self._alive(candidate, since) else None
        if pooled is None:
            pooled = self._check_out(engine)
        try:
            yield pooled.driver_connection
        except IntegrityError:
            self._keep(engine, pooled)
            raise
        except BaseException:
            self._give_up(pooled, broken=True)
            raise
        self._keep(engine, pooled)

    def _keep(self, engine: Engine, pooled) -> None:
        if engine is self.engine and len(self.idle) < AT_ONCE:
            self.idle.append((pooled, time.monotonic()))
        else:
            self._give_up(pooled, broken=False)


connections = DriverConnections()  # this process's


def _begin_immediate(conn: sqlite3.Connection) -> None:
    """Takes SQLite's write lock. While another process holds it, SQLite's own busy
    handler would sleep inside the C library, stopping every request of this worker
    for up to 100 ms at a time; here the connection gives up at once (its busy
    timeout is 0) and waits in ``time.sleep``, which under gevent lets the worker
    serve its other requests meanwhile. Pauses start at 0.1 ms and double to 2 ms."""
    retried(
        lambda: conn.execute("BEGIN IMMEDIATE"),
        lambda exc: isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc),
        give_up_after_s=LOCK_WAIT_S,
        first_pause_s=LOCK_PAUSES_S[0],
        longest_pause_s=LOCK_PAUSES_S[1],
    )


class Rollback(Exception):
    """Raised by a SQLite write to undo its own statements and answer ``value``."""

    def __init__(self, value=None) -> None:
        super().__init__()
        self.value = value


class _Write:
    __slots__ = ("work", "engine", "done", "leads", "value", "error")

    def __init__(self, work: Callable) -> None:
        self.work, self.engine, self.done = work, db.engine, threading.Event()
        self.leads, self.value, self.error = False, None, None


class SqliteWrites:
    """This process's writes to SQLite, grouped: one transaction, one lock and one
    commit for every write that asks while another is being written.

    A write is a function of a driver connection (its statements); :meth:`run`
    runs it in a transaction and answers what it returns. The first writer of a
    quiet moment writes at once, or, asked to ``gather`` (the process has other
    requests under way), first lets them run once (a turn of gevent's loop), so
    that the writes they reach meanwhile join its transaction. One that comes
    while a transaction is under way (under gevent: while its writer waits for
    the lock) queues; the transaction takes in every queued write once it has the
    lock, and a write that comes later still waits for the next transaction,
    which its first writer runs for the whole queue. In a group each write runs
    in a savepoint of its own, so that one write's error or :class:`Rollback`
    undoes only its own statements; every writer learns its own answer or error
    when the transaction holding it ends. Holds and settlements of many
    concurrent requests thus take the database-wide write lock once between
    them, not once each."""

    def __init__(self) -> None:
        self.mutex = threading.Lock()
        self.writing = False
        self.queue: list[_Write] = []

    def forget(self) -> None:
        self.mutex, self.writing, self.queue = threading.Lock(), False, []

    def run(self, work: Callable[[sqlite3.Connection], object], gather: bool = False):
        me = _Write(work)
        with self.mutex:
            leads = not self.writing
            if leads:
                self.writing = True
            else:
                self.queue.append(me)
        if not leads:
            me.done.wait()
            leads = me.leads
        elif gather:
            time.sleep(0)  # under gevent: the requests that are ready run, and queue their writes
        if leads:
            try:
                self._write([me] + self._take_queue() if me.leads else [me], me)
            finally:
                self._release()
        if me.error is not None:
            raise me.error
        return me.value

    def _take_queue(self) -> list[_Write]:
        with self.mutex:
            queue, self.queue = self.queue, []
        return queue

    def _release(self) -> None:
        """After a transaction: the first write queued meanwhile writes the queue next."""
        with self.mutex:
            if self.queue:
                first = self.queue.pop(0)  # it leads with its own write, then takes the rest
                first.leads = True
                first.done.set()
            else:
                self.writing = False

    def _write(self, batch: list[_Write], leader: _Write | None) -> None:
        """Writes ``batch`` (and what queues while it waits for the lock) in one
        transaction; wakes every write of it but the ``leader``'s own."""
        try:
            with connections.connection(batch[0].engine) as conn:
                try:
                    _begin_immediate(conn)
                    batch += self._take_queue()
                    grouped = len(batch) > 1
                    for write in batch:
                        _apply(conn, write, grouped)
                    if not grouped and isinstance(batch[0].error, Rollback):
                        conn.rollback()
                    else:
                        conn.commit()
                except BaseException as exc:
                    if conn.in_transaction:
                        conn.rollback()
                    if isinstance(exc, sqlite3.Error):
                        raise DBAPIError.instance(None, None, exc, sqlite3.Error) from exc
                    raise
        except BaseException as exc:  # no transaction: every write of it fails
            for write in batch:
                if write.error is None:
                    write.error = exc if write is leader else _failed_with(exc)
        finally:
            for write in batch:
                if isinstance(write.error, Rollback):
                    write.value, write.error = write.error.value, None
                if write is not leader:
                    write.done.set()


def _failed_with(exc: BaseException) -> DBAPIError:
    """The error of a write whose transaction failed (each write gets its own)."""
    cause = exc.orig if isinstance(exc, DBAPIError) else sqlite3.OperationalError(f"its transaction failed: {exc!r}")
    return DBAPIError.instance(None, None, cause, sqlite3.Error)


def _apply(conn: sqlite3.Connection, write: _Write, grouped: bool) -> None:
    """One write of a transaction; in a group, in a savepoint of its own."""
    if not grouped:
        try:
            write.value = write.work(conn)
        except Rollback as undo:
            write.error = undo
        return
    conn.execute("SAVEPOINT write")
    try:
        write.value = write.work(conn)
    except Exception as exc:
        conn.execute("ROLLBACK TO write")
        if isinstance(exc, sqlite3.Error):
            exc = DBAPIError.instance(None, None, exc, sqlite3.Error)
        write.error = exc
    conn.execute("RELEASE write")


sqlite_writes = SqliteWrites()  # this process's


def sqlite_write(work: Callable[[sqlite3.Connection], object], *, gather: bool = False):
    """Runs ``work`` (statements on a driver connection) in a SQLite write
    transaction, grouped with this process's concurrent writes (:class:`SqliteWrites`);
    answers what it returns. ``gather``: other requests of this process are under
    way, whose writes may join the transaction. Dates go in as
    :func:`lumyx.db.sqlite_time` writes them."""
    return sqlite_writes.run(work, gather)
