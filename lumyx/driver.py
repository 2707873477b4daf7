"""The database driver's own connections, for the writes every priced request
makes: its credit hold and its settlement.

Taking a connection from SQLAlchemy's pool and handing it back (with the
pool's events and its reset), and running a statement through SQLAlchemy's
execution machinery, cost as much as the hold's own statements. So each
process keeps a few driver connections of its own, opened with the engine's
settings (its connect arguments and pragmas) and kept out of the pool; each
serves one transaction at a time. On SQLite one suffices (its transactions
never wait on the network); on PostgreSQL there is one per request writing at
that moment. A PostgreSQL connection idle for over a second is pinged before
use and replaced when the ping fails, as the pool does (extensions.py). A
forked child, and a new engine, open their own.

The driver's errors come out as SQLAlchemy's (IntegrityError, OperationalError),
as everywhere else; after any but a duplicate the connection is closed.
"""
from __future__ import annotations

import os
import sqlite3
import time
from contextlib import contextmanager
from typing import Iterator

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError

from .extensions import PING_AFTER_IDLE_S, db

KEEP_IDLE = 16     # connections kept for the next requests; more at once are closed after use


class _Connections:
    def __init__(self) -> None:
        self.engine: Engine | None = None
        self.idle: list[tuple[object, float]] = []     # (driver connection, idle since)

    def forget(self) -> None:
        """In a forked child: the parent's connections are the parent's to close."""
        self.__init__()

    def _close(self, conn) -> None:
        try:
            conn.close()
        except Exception:
            pass

    def _open(self, engine: Engine):
        pooled = engine.raw_connection()
        conn = pooled.driver_connection
        pooled.detach()
        if engine.dialect.name == "postgresql":
            conn.autocommit = True    # each statement its own transaction
        return conn

    def _alive(self, conn, idle_since: float) -> bool:
        if isinstance(conn, sqlite3.Connection) or time.monotonic() - idle_since < PING_AFTER_IDLE_S:
            return True
        try:
            conn.execute("SELECT 1")
            return True
        except Exception:
            self._close(conn)
            return False

    @contextmanager
    def connection(self, engine: Engine) -> Iterator:
        if engine is not self.engine:
            for conn, _since in self.idle:
                self._close(conn)
            self.engine, self.idle = engine, []
        conn = None
        while self.idle and conn is None:
            candidate, since = self.idle.pop()
            conn = candidate if self._alive(candidate, since) else None
        if conn is None:
            conn = self._open(engine)
        try:
            yield conn
        except IntegrityError:
            self._give_back(engine, conn)
            raise
        except BaseException:
            self._close(conn)
            raise
        self._give_back(engine, conn)

    def _give_back(self, engine: Engine, conn) -> None:
        if engine is self.engine and len(self.idle) < KEEP_IDLE:
            self.idle.append((conn, time.monotonic()))
        else:
            self._close(conn)


_connections = _Connections()
os.register_at_fork(after_in_child=_connections.forget)


@contextmanager
def sqlite_transaction() -> Iterator[sqlite3.Connection]:
    """A write transaction on a SQLite driver connection. It takes the write lock
    when it begins, commits when the block ends and rolls back when it raises.
    Dates go in as :func:`lumyx.extensions.sqlite_time` writes them."""
    with _connections.connection(db.engine) as conn:
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


_compiled: dict[str, str] = {}     # a statement's text, in psycopg's parameter style


def postgres_statement(statement, params: dict) -> tuple[int, list[tuple]]:
    """Runs one SQLAlchemy ``text()`` statement in a transaction of its own on a
    PostgreSQL driver connection; (rows affected, rows returned)."""
    import psycopg

    engine = db.engine
    sql = _compiled.get(statement.text)
    if sql is None:
        sql = _compiled[statement.text] = str(statement.compile(dialect=engine.dialect))
    with _connections.connection(engine) as conn:
        try:
            cursor = conn.execute(sql, params)
            return cursor.rowcount, cursor.fetchall() if cursor.description else []
        except psycopg.Error as exc:
            raise DBAPIError.instance(None, None, exc, psycopg.Error) from exc
