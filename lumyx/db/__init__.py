"""The database: the SQLAlchemy object every model and query uses, the engine's
settings on SQLite and PostgreSQL. The migrations (alembic through Flask-Migrate,
``flask db``) are in ``migrations/``, loaded by the command (lumyx.cli).

Imports nothing of Lumyx's features: ``db`` sits below everything that stores data.
``db.models`` is the schema, ``db.driver`` the pooled driver connections of the
hot path's holds and settlements, ``db.checkpoints`` SQLite's log checkpoints
beside the request path, ``db.readiness`` the pings of the stores (the database,
Redis) that readiness checks read.
"""

import sqlite3
import time
from datetime import datetime

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import Pool


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


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
    if (
        idle_since is None
        or time.monotonic() - idle_since < PING_AFTER_IDLE_S
        or isinstance(dbapi_connection, sqlite3.Connection)
    ):
        return
    try:
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True  # outside any transaction, as SQLAlchemy's own ping
        try:
            dbapi_connection.execute("SELECT 1")
        finally:
            dbapi_connection.autocommit = autocommit
    except Exception as exc:
        raise DisconnectionError("the pooled connection no longer answers") from exc


def retried(attempt, retry_on, *, give_up_after_s: float, first_pause_s: float, longest_pause_s: float):
    """``attempt()``, tried again while it raises what ``retry_on(exc)`` accepts, for up
    to ``give_up_after_s`` from its first failure, then that failure raised. The pauses
    double from the first to the longest, in ``time.sleep``: a greenlet's sleep under
    gevent, so the worker serves its other requests meanwhile."""
    pause, deadline = first_pause_s, None
    while True:
        try:
            return attempt()
        except Exception as exc:
            now = time.monotonic()
            deadline = deadline or now + give_up_after_s
            if not retry_on(exc) or now >= deadline:
                raise
        time.sleep(min(pause, deadline - now))
        pause = min(pause * 2, longest_pause_s)


@event.listens_for(Engine, "do_connect")
def _wait_for_a_free_slot(dialect, _record, cargs, cparams):
    """A PostgreSQL server at its ``max_connections`` refuses a new connection
    ("too many clients"), which in a burst is momentary: other workers' overflow
    connections close as their requests end. The connection is tried again, with
    pauses of 5 to 200 ms, for up to the connect timeout, so a burst waits for a slot
    instead of answering 503; a database that stays full answers 503 after that
    wait, as one that is down does."""
    if dialect.name != "postgresql":
        return None
    return retried(
        lambda: dialect.connect(*cargs, **cparams),
        lambda exc: isinstance(exc, dialect.loaded_dbapi.OperationalError) and _server_full(exc),
        give_up_after_s=float(cparams.get("connect_timeout") or 3),
        first_pause_s=0.005,
        longest_pause_s=0.2,
    )


def _server_full(exc: Exception) -> bool:
    """True for PostgreSQL's refusals for want of a connection slot (SQLSTATE 53300,
    which libpq reports at connect time only in its message)."""
    message = str(exc)
    return "too many clients" in message or "remaining connection slots are reserved" in message


def forget_inherited_pools(app) -> None:
    """In a forked child: the app's engines start pools of their own and leave
    the parent's connections open for the parent (SQLAlchemy's way for os.fork)."""
    with app.app_context():
        for engine in db.engines.values():
            engine.dispose(close=False)


def sqlite_time(moment: datetime) -> str:
    """A naive UTC datetime as SQLAlchemy stores it in SQLite (so that both compare and group alike)."""
    return moment.isoformat(" ", "microseconds")


def commit_without_waiting(conn) -> None:
    """Lets this transaction's commit return before PostgreSQL has flushed it to disk.

    For the free-model count and the usage row of a request that held nothing,
    whose loss in a database crash leaves the books consistent: they cost no
    disk flush on the request's path. Holds and settlements do the same inside
    their own statement (lumyx.billing.holds), rate-limit counters through their
    connection's settings. Payments and credit grants wait. A no-op on SQLite,
    whose WAL commits do not wait for the disk.
    """
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
