"""Driver connections for the writes every priced request makes: its credit
hold and its settlement.

Taking a connection from SQLAlchemy's pool and handing it back (with the
pool's events and its reset), and running a statement through SQLAlchemy's
execution machinery, cost as much as the hold's own statements. So each
process keeps a few pooled connections checked out and runs these statements
on their driver connections directly; each serves one transaction at a time.
They still count against the pool's size, so a worker never opens more
connections than the pool allows, and a request finding them all in use waits
for one as it would for the pool. On SQLite one suffices (its transactions
never wait on the network); on PostgreSQL there is one per request writing at
that moment, in autocommit mode. One idle for over a second is pinged before
use and replaced when the ping fails, as the pool does (lumyx/db/__init__.py). A
new engine takes its own. :data:`connections` is the worker's; the worker's
runtime (lumyx.runtime) makes a forked child forget its parent's.

The driver's errors come out as SQLAlchemy's (IntegrityError, OperationalError),
as everywhere else; after any but a duplicate the connection is closed.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError

from lumyx.db import PING_AFTER_IDLE_S, db

KEEP_IDLE = 8  # connections kept checked out for the next requests; more go back to the pool


class DriverConnections:
    def __init__(self) -> None:
        self.engine: Engine | None = None
        self.idle: list[tuple[object, float]] = []  # (pooled connection, idle since)
        self.inherited: list[tuple[object, float]] = []

    def forget(self) -> None:
        """In a forked child: the parent's connections are the parent's. They are
        kept here, never used: closing one, or letting the pool reset it as it
        collects it, would speak on the parent's socket and end its session."""
        self.inherited += self.idle
        self.engine, self.idle = None, []

    @staticmethod
    def _give_up(pooled, broken: bool) -> None:
        """Back to the pool, or (broken) closed and its place in the pool freed."""
        try:
            if broken:
                pooled.invalidate()
                return
            if not isinstance(pooled.driver_connection, sqlite3.Connection):
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
        if engine is self.engine and len(self.idle) < KEEP_IDLE:
            self.idle.append((pooled, time.monotonic()))
        else:
            self._give_up(pooled, broken=False)


connections = DriverConnections()  # this process's


@contextmanager
def sqlite_transaction() -> Iterator[sqlite3.Connection]:
    """A write transaction on a SQLite driver connection. It takes the write lock
    when it begins, commits when the block ends and rolls back when it raises.
    Dates go in as :func:`lumyx.db.sqlite_time` writes them."""
    with connections.connection(db.engine) as conn:
        try:
            conn.execute("BEGIN IMMEDIATE")
            yield conn
            conn.commit()
        except BaseException as exc:
            if conn.in_transaction:
                conn.rollback()
            if isinstance(exc, sqlite3.Error):
                raise DBAPIError.instance(None, None, exc, sqlite3.Error) from exc
            raise


# A statement's text in psycopg's parameter style, compiled once per process: the
# same for every engine (only PostgreSQL's statements come here), never invalidated.
_compiled: dict[str, str] = {}


def postgres_statement(statement, params: dict) -> tuple[int, list[tuple]]:
    """Runs one SQLAlchemy ``text()`` statement in a transaction of its own on a
    PostgreSQL driver connection; (rows affected, rows returned)."""
    engine = db.engine
    sql = _compiled.get(statement.text)
    if sql is None:
        sql = _compiled[statement.text] = str(statement.compile(dialect=engine.dialect))
    with connections.connection(engine) as conn:
        try:
            cursor = conn.execute(sql, params)
            return cursor.rowcount, cursor.fetchall() if cursor.description else []
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DBAPIError.instance(None, None, exc, engine.dialect.loaded_dbapi.Error) from exc
