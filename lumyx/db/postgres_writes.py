"""PostgreSQL statements on the worker's driver connections; the settlements of one
API key that come while the first of them waits its turn go in one round trip and
one transaction.

A statement runs alone in a transaction of its own (autocommit) unless its caller
names a ``group`` (the account and key whose rows it writes). Then it joins the
group's open batch, or opens one: the batch's first statement waits for one of the
worker's driver connections (``driver.connections``: at concurrency 64 all eight are
busy most of the time, each waiting for its worker's loop to read its answer), and
the statements that come meanwhile join. Once it has a connection the batch closes
and goes to PostgreSQL in pipeline mode: every statement sent at once, one implicit
transaction committed at the end, every answer read back in one round trip. A
statement that finds a connection free goes at once, alone; one that comes later
opens the group's next batch. Only settlements are grouped: a hold has a client
waiting for its answer, which in a batch would wait for the whole batch (and holds
grouped too gave a later first token with 64 streams: bench/changes.md).

Every statement of a batch locks the key's row, then the account's, as one alone
does, so batches never wait on each other in a circle. A batch that fails in any
statement (a settlement made already, a lost connection) is rolled back whole, and
each of its statements runs again alone, so that each meets only its own answer or
error.
"""

from __future__ import annotations

import select
import threading
from collections.abc import Hashable

from sqlalchemy.exc import DBAPIError

from lumyx.db import db
from lumyx.db.driver import connections

# A common table expression ``quick`` that commits a statement's transaction without
# waiting for the disk (as lumyx.db.commit_without_waiting does for a transaction): a
# statement that selects FROM quick runs it in the same round trip.
WITHOUT_WAITING = "quick AS (SELECT set_config('synchronous_commit', 'off', true) AS off)"

# A statement's text in psycopg's parameter style, compiled once per process: the
# same for every engine (only PostgreSQL's statements come here), never invalidated.
_compiled: dict[str, str] = {}


class _Statement:
    __slots__ = ("sql", "params", "done", "answer", "error")

    def __init__(self, sql: str, params: dict) -> None:
        self.sql, self.params = sql, params
        self.done = threading.Event()
        self.answer: tuple[int, list[tuple]] | None = None
        self.error: BaseException | None = None


class PostgresWrites:
    """This process's open batches, one at most per group."""

    def __init__(self) -> None:
        self.mutex = threading.Lock()
        self.open: dict[Hashable, list[_Statement]] = {}

    def forget(self) -> None:
        self.mutex, self.open = threading.Lock(), {}

    def run(self, sql: str, params: dict, group: Hashable) -> tuple[int, list[tuple]]:
        me = _Statement(sql, params)
        with self.mutex:
            batch = self.open.get(group)
            leads = batch is None
            if leads:
                batch = self.open[group] = []
            batch.append(me)
        if not leads:
            me.done.wait()
        else:
            engine = db.engine
            try:
                with connections.connection(engine) as conn:
                    with self.mutex:
                        del self.open[group]
                    _write(conn, engine, batch)
            except BaseException as exc:  # no connection, or it was lost: what is unanswered fails
                with self.mutex:
                    if self.open.get(group) is batch:
                        del self.open[group]
                for statement in batch:
                    if statement.answer is None and statement.error is None:
                        statement.error = exc if statement is me else _failed_with(exc, engine)
            finally:
                for statement in batch:
                    statement.done.set()
        if me.error is not None:
            raise me.error
        return me.answer


postgres_writes = PostgresWrites()  # this process's


def _write(conn, engine, batch: list[_Statement]) -> None:
    """Runs ``batch`` on driver connection ``conn``; raises only when the connection is lost."""
    dbapi_error = engine.dialect.loaded_dbapi.Error
    if len(batch) > 1:
        _wait_only_when_needed(conn)
        try:
            with conn.pipeline():
                cursors = [conn.execute(statement.sql, statement.params) for statement in batch]
            for statement, cursor in zip(batch, cursors):
                statement.answer = _answer(cursor)
            return
        except dbapi_error as exc:
            if conn.closed:
                raise DBAPIError.instance(None, None, exc, dbapi_error) from exc
    for statement in batch:  # alone, or again one by one
        try:
            statement.answer = _answer(conn.execute(statement.sql, statement.params))
        except dbapi_error as exc:
            statement.error = DBAPIError.instance(None, None, exc, dbapi_error)
            if conn.closed:
                raise statement.error from exc


def _wait_only_when_needed(conn) -> None:
    """Makes psycopg's waits on ``conn`` go to gevent's loop only when the socket is not
    ready already. Sending a pipeline, psycopg waits for the socket before each statement;
    under gevent every such wait is a whole turn of a busy worker's loop, though the
    socket can take the statement at once."""
    if "wait" in vars(conn):
        return
    from psycopg.waiting import Ready, Wait  # imported here: a worker on SQLite never loads psycopg

    waits, socket = conn.wait, conn.pgconn.socket

    def ready_now(state: Wait) -> Ready:
        """What the socket is ready for now, of what ``state`` waits for."""
        poll = _unpatched_poll()
        poll.register(socket, (select.POLLIN if state & Wait.R else 0) | (select.POLLOUT if state & Wait.W else 0))
        ready = Ready.NONE
        for _fd, events in poll.poll(0):
            ready |= (Ready.R if events & select.POLLIN else 0) | (Ready.W if events & select.POLLOUT else 0)
        return ready

    def ready_first(gen):
        try:
            state = next(gen)
            while True:
                state = gen.send(ready_now(state) or (yield state))
        except StopIteration as done:
            return done.value

    conn.wait = lambda gen, *args, **kwargs: waits(ready_first(gen), *args, **kwargs)


def _unpatched_poll():
    try:
        from gevent import monkey
    except ImportError:
        return select.poll()
    return monkey.get_original("select", "poll")()


def _answer(cursor) -> tuple[int, list[tuple]]:
    return cursor.rowcount, cursor.fetchall() if cursor.description else []


def _failed_with(exc: BaseException, engine) -> BaseException:
    """The error of a statement whose batch failed as a whole (each gets its own)."""
    if isinstance(exc, DBAPIError):
        return DBAPIError.instance(None, None, exc.orig, engine.dialect.loaded_dbapi.Error)
    return type(exc)(*exc.args) if isinstance(exc, Exception) else exc


def postgres_statement(statement, params: dict, *, group: Hashable | None = None) -> tuple[int, list[tuple]]:
    """Runs one SQLAlchemy ``text()`` statement on a PostgreSQL driver connection;
    (rows affected, rows returned). Alone in a transaction of its own, or (``group``)
    in one with the statements of its group that come while it waits its turn
    (:class:`PostgresWrites`)."""
    engine = db.engine
    sql = _compiled.get(statement.text)
    if sql is None:
        sql = _compiled[statement.text] = str(statement.compile(dialect=engine.dialect))
    if group is None:
        group = object()  # a batch of its own
    return postgres_writes.run(sql, params, group)
