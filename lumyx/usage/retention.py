"""How long usage rows are kept, and their deletion.

``usage_records`` keeps one row per request for ``LUMYX_USAGE_RETENTION_DAYS``
(default 90; 0 keeps them forever). Older rows are deleted by the janitor, a
batch of :data:`BATCH` rows a statement with a short pause between batches,
through the ``created_at`` index. What is kept: the hourly rollups
(``usage_hourly``, per account, model and UTC hour) and the ledger, so balances,
the Usage API's totals and the dashboard's charts stay exact for every period;
only the per-request detail (the listing of recent activity and
``GET /generation``) ends at the horizon.

The horizon is the start of the UTC hour ``days`` before now, so everything
before it is covered by whole rolled-up hours and everything after it by rows.

One runner at a time across every worker and instance: on PostgreSQL a
session advisory lock (``pg_try_advisory_lock``) held by the connection that
deletes; on SQLite an exclusive ``flock`` of ``<database file>-usage-janitor``.
A worker that does not get the lock skips the round.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from contextlib import contextmanager
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, select
from sqlalchemy.engine import make_url

from lumyx.db import db
from lumyx.db.models import UsageRecord
from lumyx.db.models._types import utcnow

log = logging.getLogger("lumyx.usage")

DEFAULT_RETENTION_DAYS = 90
BATCH = 5000  # rows a DELETE statement on PostgreSQL
SQLITE_BATCH = 500  # on SQLite (about 25 ms of its single write lock)
PAUSE_S = 0.05  # between two batches, so the requests' own writes go first
MAX_BATCHES = 200  # a round; the next round (a minute later) goes on
ADVISORY_LOCK = 0x6C756D79_75736731  # "lumyusg1": the PostgreSQL advisory lock key

_records = UsageRecord.__table__


def retention_days() -> int:
    """Days usage rows are kept (0: forever)."""
    return int(current_app.config.get("LUMYX_USAGE_RETENTION_DAYS", DEFAULT_RETENTION_DAYS))


def horizon(now: datetime | None = None, days: int | None = None) -> datetime | None:
    """The oldest instant (naive UTC, on a whole hour) whose requests keep their rows;
    None when rows are kept forever."""
    days = retention_days() if days is None else days
    if days <= 0:
        return None
    moment = (now or utcnow()) - timedelta(days=days)
    return moment.replace(minute=0, second=0, microsecond=0)


@contextmanager
def _sole_runner(conn):
    """Yields whether this process holds the deletion lock (see the module's docstring)."""
    if conn.dialect.name == "postgresql":
        held = bool(conn.execute(select(func.pg_try_advisory_lock(ADVISORY_LOCK))).scalar())
        conn.commit()
        try:
            yield held
        finally:
            if held:
                conn.rollback()
                conn.execute(select(func.pg_advisory_unlock(ADVISORY_LOCK)))
                conn.commit()
        return
    database = make_url(str(conn.engine.url)).database
    if not database or database == ":memory:":
        yield True
        return
    with open(os.path.abspath(database) + "-usage-janitor", "a+b") as lock_file:
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def delete_old_usage(
    days: int | None = None,
    *,
    batch: int | None = None,
    pause_s: float = PAUSE_S,
    max_batches: int = MAX_BATCHES,
    now: datetime | None = None,
) -> int:
    """Deletes usage rows older than the horizon, ``batch`` rows a transaction,
    at most ``max_batches`` of them; returns how many rows went (0 also when
    another worker is deleting, or rows are kept forever)."""
    cutoff = horizon(now, days)
    if cutoff is None:
        return 0
    deleted = 0
    with db.engine.connect() as conn, _sole_runner(conn) as held:
        if not held:
            return 0
        batch = batch or (BATCH if conn.dialect.name == "postgresql" else SQLITE_BATCH)
        oldest = select(_records.c.id).where(_records.c.created_at < cutoff).limit(batch)
        statement = delete(_records).where(_records.c.id.in_(oldest))
        for number in range(max_batches):
            if number and pause_s:
                time.sleep(pause_s)
            count = conn.execute(statement).rowcount
            conn.commit()
            deleted += count
            if count < batch:
                break
    if deleted:
        log.info("deleted %d usage rows older than %s (kept in the hourly rollups)", deleted, cutoff.isoformat())
    return deleted
