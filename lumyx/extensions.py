"""Flask extensions, created unbound and initialised by create_app()."""
import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from datetime import datetime
from typing import Iterator

from flask_limiter import Limiter
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import Pool

from .services import rate_limits


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()


# Flask-Limiter throttles web forms with @limiter.limit(...), counted per client
# address on the counter store shared by all workers (services/rate_limits.py).
# API requests skip it: their plan limits are counted by rate_limits.PlanLimiter.
limiter = Limiter(key_func=rate_limits.client_address)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """SQLite as a server database: write-ahead logging, so readers never wait for
    the writer and a commit appends to the log instead of rewriting pages;
    synchronous=NORMAL, durable across crashes of the server process (only a
    power loss can take the last commits); foreign keys enforced."""
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


PING_AFTER_IDLE_S = 1.0


@event.listens_for(Pool, "checkin")
def _idle_from(_dbapi_connection, record) -> None:
    record.info["idle_since"] = time.monotonic()


@event.listens_for(Pool, "checkout")
def _ping_if_idle(dbapi_connection, record, _proxy) -> None:
    """A PostgreSQL connection that sat in the pool for over a second is pinged
    before use and, when the ping fails, replaced (the pool connects anew): a
    database that restarted, or a network that dropped idle connections, costs
    no request an error. A connection in steady use is not pinged, since the
    round trip would cost every request a millisecond; should its database go
    away, that request answers 503 and the pool starts over."""
    idle_since = record.info.get("idle_since")
    if (idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_S
            or isinstance(dbapi_connection, sqlite3.Connection)):
        return
    try:
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True   # outside any transaction, as SQLAlchemy's own ping
        try:
            dbapi_connection.execute("SELECT 1")
        finally:
            dbapi_connection.autocommit = autocommit
    except Exception as exc:
        raise DisconnectionError("the pooled connection no longer answers") from exc


class _HeldConnection:
    """This process's own SQLite driver connection for the hot path's write
    transactions, opened once (with the engine's settings) and kept out of the
    pool, whose checkout and return cost as much as a hold's own statements.
    One transaction uses it at a time; another thread meanwhile takes a pooled
    one. A forked child, and a new engine, open their own."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.engine: Engine | None = None
        self.conn: sqlite3.Connection | None = None

    def get(self, engine: Engine) -> sqlite3.Connection:
        if self.conn is None or self.engine is not engine:
            self.drop()
            pooled = engine.raw_connection()
            self.conn = pooled.driver_connection
            pooled.detach()
            self.engine = engine
        return self.conn

    def drop(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            except sqlite3.Error:
                pass
        self.conn = self.engine = None

    def forget(self) -> None:
        """In a forked child: the parent's connection is the parent's to close."""
        self.__init__()


_held = _HeldConnection()
os.register_at_fork(after_in_child=_held.forget)


@contextmanager
def sqlite_transaction() -> Iterator[sqlite3.Connection]:
    """A write transaction on the SQLite driver's own connection.

    For the statements every priced request runs (its hold, its settlement):
    there SQLAlchemy's execution machinery costs more than SQLite's own work.
    The transaction takes the write lock when it begins, commits when the block
    ends and rolls back when it raises; the driver's errors come out as
    SQLAlchemy's (IntegrityError, OperationalError), as everywhere else. Dates
    go in as :func:`sqlite_time` writes them.
    """
    if not _held.lock.acquire(blocking=False):
        pooled = db.engine.raw_connection()
        try:
            with _transaction(pooled.driver_connection) as conn:
                yield conn
        finally:
            pooled.close()
        return
    try:
        try:
            with _transaction(_held.get(db.engine)) as conn:
                yield conn
        except DBAPIError as exc:
            if not isinstance(exc.orig, sqlite3.IntegrityError):
                _held.drop()   # reopened by the next transaction
            raise
    finally:
        _held.lock.release()


@contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
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


def sqlite_time(moment: datetime) -> str:
    """A naive UTC datetime as SQLAlchemy stores it in SQLite (so that both compare and group alike)."""
    return moment.isoformat(" ", "microseconds")


def commit_without_waiting(conn) -> None:
    """Lets this transaction's commit return before PostgreSQL has flushed it to disk.

    For the free-model count and the usage row of a request that held nothing,
    whose loss in a database crash leaves the books consistent: they cost no
    disk flush on the request's path. Holds and settlements do the same inside
    their own statement (services/ledger.py), rate-limit counters through their
    connection's settings. Payments and credit grants wait. A no-op on SQLite,
    whose WAL commits do not wait for the disk.
    """
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
