"""Rate-limit counters in the application's own database, for when no Redis is
configured: every gunicorn worker shares them, so N workers enforce one limit.

A storage backend for the ``limits`` library (used by Flask-Limiter) with the
fixed-window strategy: one row per counter, incremented by one atomic upsert
that also starts a new window once the old one has expired. Rows are reused
window after window, so the table holds one row per key and limit.

With Redis, limits' own storage does the counting (``lumyx-redis://`` names it
here). Either way the increment that enforces a limit also tells what the
rate-limit headers need: each worker remembers what its last increment of a
counter returned, so the headers cost no further round trip.
"""
from __future__ import annotations

import time

from limits.storage import RedisStorage, Storage
from sqlalchemy import bindparam, case, create_engine, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from ..models import RateCounter

_table = RateCounter.__table__


class _LastHit:
    """What the latest increment of each counter in this worker returned: the count
    and the end of its window. The headers read it right after the hit; the limit
    itself is enforced by the atomic increment alone."""
    FRESH_SECONDS = 1.0
    MAX_KEYS = 10_000

    def _note(self, key: str, count: int, ends_at: float | None) -> None:
        last = self.__dict__.setdefault("_last", {})
        if len(last) >= self.MAX_KEYS:
            last.clear()
        last[key] = (count, ends_at, time.monotonic())

    def _recent(self, key: str) -> tuple[int, float | None] | None:
        entry = self.__dict__.get("_last", {}).get(key)
        if entry is None or time.monotonic() - entry[2] > self.FRESH_SECONDS:
            return None
        if entry[1] is not None and entry[1] <= time.time():
            return None
        return entry[0], entry[1]


class DatabaseStorage(_LastHit, Storage):
    STORAGE_SCHEME = ["lumyx-db"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, *, database_url: str = "",
                 engine_options: dict | None = None, **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        options = dict(engine_options or {})
        if database_url.startswith("postgresql"):
            # A counter lost in a database crash is harmless: no disk flush per hit.
            options["connect_args"] = {**options.get("connect_args", {}), "options": "-c synchronous_commit=off"}
        self.engine = create_engine(database_url, **options)
        insert = (postgresql if self.engine.dialect.name == "postgresql" else sqlite).insert(_table)
        expired = _table.c.expires_at <= bindparam("now")
        self._incr = insert.values(key=bindparam("key"), count=bindparam("amount"),
                                   expires_at=bindparam("expires_at")).on_conflict_do_update(
            index_elements=[_table.c.key],
            set_={"count": case((expired, insert.excluded.count), else_=_table.c.count + insert.excluded.count),
                  "expires_at": case((expired, insert.excluded.expires_at), else_=_table.c.expires_at)},
        ).returning(_table.c.count, _table.c.expires_at)
        self._get = select(_table.c.count, _table.c.expires_at).where(_table.c.key == bindparam("key"))

    @property
    def base_exceptions(self) -> type[Exception]:
        return SQLAlchemyError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        with self.engine.begin() as conn:
            count, ends_at = conn.execute(self._incr, {"key": key, "amount": amount, "now": now,
                                                       "expires_at": now + expiry}).one()
        self._note(key, count, ends_at)
        return count

    def _row(self, key: str) -> tuple[int, float]:
        with self.engine.connect() as conn:
            row = conn.execute(self._get, {"key": key}).first()
        if row is None or row[1] <= time.time():
            return 0, time.time()
        return row[0], row[1]

    def get(self, key: str) -> int:
        recent = self._recent(key)
        return recent[0] if recent else self._row(key)[0]

    def get_expiry(self, key: str) -> float:
        recent = self._recent(key)
        return recent[1] if recent else self._row(key)[1]

    def check(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(select(1))
            return True
        except SQLAlchemyError:
            return False

    def reset(self) -> int | None:
        with self.engine.begin() as conn:
            return conn.execute(_table.delete()).rowcount

    def clear(self, key: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(_table.delete().where(_table.c.key == key))


class RedisCounters(_LastHit, RedisStorage):
    """limits' Redis storage, remembering each counter's last increment."""
    STORAGE_SCHEME = ["lumyx-redis", "lumyx-rediss"]

    def __init__(self, uri: str, **options):
        super().__init__(uri.removeprefix("lumyx-"), **options)

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        count = super().incr(key, expiry, amount)
        if count == amount:          # this increment opened the window
            ends_at = time.time() + expiry
        else:
            recent = self._recent(key)
            ends_at = recent[1] if recent else None
        self._note(key, count, ends_at)
        return count

    def get(self, key: str) -> int:
        recent = self._recent(key)
        return recent[0] if recent else super().get(key)

    def get_expiry(self, key: str) -> float:
        recent = self._recent(key)
        if recent and recent[1] is not None:
            return recent[1]
        ends_at = super().get_expiry(key)
        if recent:
            self._note(key, recent[0], ends_at)
        return ends_at
