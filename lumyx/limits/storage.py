"""Where the rate-limit counters live, shared by every gunicorn worker so that N
workers enforce one limit. Storage backends for the ``limits`` library (used by
the API's plan limiter and Flask-Limiter's web form limits), fixed windows:

* ``lumyx-redis://``: limits' own Redis storage, when ``REDIS_URL`` is set;
* ``lumyx-host://``: on SQLite, a memory-mapped file beside the database that the
  workers of this host share (:class:`HostCounters`);
* ``lumyx-db://``: on PostgreSQL without Redis, the ``rate_counters`` table: one
  row per counter, incremented by one atomic upsert that also starts a new window
  once the old one has expired.

Each, and :class:`MemoryCounters` (a worker's own while the shared store is
down), increments a request's counters in turn in one step (``incr_in_turn``:
one Lua script, one lock, one transaction) and answers each count and when its
window ends: all the plan limiter and its headers need, in one round trip.

Each store notices by its process id that it was forked (redis-py's pool does
the same): a child never uses its parent's connections, descriptor or locks.
"""

from __future__ import annotations

import fcntl
import hashlib
import mmap
import os
import struct
import time

from limits.storage import MemoryStorage, RedisStorage, Storage
from sqlalchemy import bindparam, case, create_engine, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from lumyx.db.models import RateCounter

_table = RateCounter.__table__


Counter = tuple[str, int, int]  # (key, window in seconds, requests it allows)


def _in_turn(incr, counters: list[Counter]) -> list[tuple[int, float]]:
    """(count, window end) of each counter, incremented by ``incr(key, expiry)``,
    up to and including the first one past what it allows."""
    out = []
    for key, expiry, allowed in counters:
        count, ends_at = incr(key, expiry)
        out.append((count, ends_at))
        if count > allowed:
            break
    return out


class MemoryCounters(MemoryStorage):
    """limits' in-process storage: a worker's own counters while the shared store is down."""

    def incr_in_turn(self, counters: list[Counter]) -> list[tuple[int, float]]:
        return _in_turn(lambda key, expiry: (self.incr(key, expiry), self.get_expiry(key)), counters)


class DatabaseStorage(Storage):
    STORAGE_SCHEME = ["lumyx-db"]

    def __init__(
        self,
        uri: str | None = None,
        wrap_exceptions: bool = False,
        *,
        database_url: str = "",
        engine_options: dict | None = None,
        **options,
    ):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        options = dict(engine_options or {})
        if database_url.startswith("postgresql"):
            # A counter lost in a database crash is harmless: no disk flush per hit.
            options["connect_args"] = {**options.get("connect_args", {}), "options": "-c synchronous_commit=off"}
        self.engine = create_engine(database_url, **options)
        self._pid = os.getpid()
        insert = (postgresql if self.engine.dialect.name == "postgresql" else sqlite).insert(_table)
        expired = _table.c.expires_at <= bindparam("now")
        self._upsert = (
            insert.values(key=bindparam("key"), count=bindparam("amount"), expires_at=bindparam("expires_at"))
            .on_conflict_do_update(
                index_elements=[_table.c.key],
                set_={
                    "count": case((expired, insert.excluded.count), else_=_table.c.count + insert.excluded.count),
                    "expires_at": case((expired, insert.excluded.expires_at), else_=_table.c.expires_at),
                },
            )
            .returning(_table.c.count, _table.c.expires_at)
        )
        self._get = select(_table.c.count, _table.c.expires_at).where(_table.c.key == bindparam("key"))

    @property
    def base_exceptions(self) -> type[Exception]:
        return SQLAlchemyError

    def _pool(self) -> Engine:
        """The engine, with a pool of this process's own: a forked child starts an
        empty one and leaves the parent's connections open for the parent."""
        if self._pid != os.getpid():
            self.engine.dispose(close=False)
            self._pid = os.getpid()
        return self.engine

    def _incr(self, conn, key: str, expiry: int, amount: int = 1) -> tuple[int, float]:
        now = time.time()
        count, ends_at = conn.execute(
            self._upsert, {"key": key, "amount": amount, "now": now, "expires_at": now + expiry}
        ).one()
        return count, ends_at

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        with self._pool().begin() as conn:
            return self._incr(conn, key, expiry, amount)[0]

    def incr_in_turn(self, counters: list[Counter]) -> list[tuple[int, float]]:
        with self._pool().begin() as conn:
            return _in_turn(lambda key, expiry: self._incr(conn, key, expiry), counters)

    def _row(self, key: str) -> tuple[int, float]:
        with self._pool().connect() as conn:
            row = conn.execute(self._get, {"key": key}).first()
        if row is None or row[1] <= time.time():
            return 0, time.time()
        return row[0], row[1]

    def get(self, key: str) -> int:
        return self._row(key)[0]

    def get_expiry(self, key: str) -> float:
        return self._row(key)[1]

    def check(self) -> bool:
        try:
            with self._pool().connect() as conn:
                conn.execute(select(1))
            return True
        except SQLAlchemyError:
            return False

    def reset(self) -> int | None:
        with self._pool().begin() as conn:
            return conn.execute(_table.delete()).rowcount

    def clear(self, key: str) -> None:
        with self._pool().begin() as conn:
            conn.execute(_table.delete().where(_table.c.key == key))


class RedisCounters(RedisStorage):
    """limits' Redis storage, incrementing a request's counters in one script."""

    STORAGE_SCHEME = ["lumyx-redis", "lumyx-rediss"]
    # KEYS: the counters; ARGV: window seconds and allowance of each. Answers count
    # and milliseconds left of each, up to the first counter past its allowance.
    IN_TURN = """
local out = {}
for i, key in ipairs(KEYS) do
  local count = redis.call('INCR', key)
  if count == 1 then redis.call('EXPIRE', key, ARGV[2 * i - 1]) end
  out[#out + 1] = count
  out[#out + 1] = redis.call('PTTL', key)
  if count > tonumber(ARGV[2 * i]) then break end
end
return out
"""

    def __init__(self, uri: str, **options):
        super().__init__(uri.removeprefix("lumyx-"), **options)
        self._in_turn = self.get_connection().register_script(self.IN_TURN)

    def incr_in_turn(self, counters: list[Counter]) -> list[tuple[int, float]]:
        args = [value for _key, expiry, allowed in counters for value in (expiry, allowed)]
        raw = self._in_turn([self.prefixed_key(key) for key, _expiry, _allowed in counters], args)
        now = time.time()
        return [(raw[i], now + max(raw[i + 1], 0) / 1000) for i in range(0, len(raw), 2)]


class HostCounters(Storage):
    """Counters in a memory-mapped file that every worker on this host shares: the
    store for a SQLite deployment, which is one host by nature, so that counting a
    request costs a lock and a few bytes instead of two database transactions.

    A fixed table of slots (hash of the key, count, end of window), found by linear
    probing, each change under an exclusive ``flock`` of the file. A window past its
    end frees its slot; when every slot a key may use holds a live window, the one
    that ends first gives way (with 65,536 slots, about 30,000 keys on two limits
    each have a live day window at once before that happens).
    """

    STORAGE_SCHEME = ["lumyx-host"]
    SLOTS = 1 << 16
    PROBES = 32
    _slot = struct.Struct("<Qqd")

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, *, path: str = "", **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.path = path
        self._open()

    def _open(self) -> None:
        # Per process: a flock held through a descriptor inherited across fork would
        # not keep the parent and the child apart.
        self._pid = os.getpid()
        size = self.SLOTS * self._slot.size
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        if os.fstat(self._fd).st_size < size:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                if os.fstat(self._fd).st_size < size:
                    os.ftruncate(self._fd, size)
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._map = mmap.mmap(self._fd, size)

    @property
    def base_exceptions(self) -> type[Exception]:
        return OSError

    def _lock(self, kind: int) -> None:
        if self._pid != os.getpid():  # forked: the parent's descriptor is not ours to lock
            self._map.close()
            os.close(self._fd)
            self._open()
        fcntl.flock(self._fd, kind)

    @staticmethod
    def _hash(key: str) -> int:
        return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little") or 1

    def _find(self, wanted: int, now: float, claim: bool) -> tuple[int, int, float] | None:
        """(offset, count, ends_at) of the live slot of the key hashed ``wanted``; with
        ``claim``, a slot for it."""
        size, unpack = self._slot.size, self._slot.unpack_from
        start = wanted % self.SLOTS
        free = oldest = None
        for probe in range(self.PROBES):
            offset = ((start + probe) % self.SLOTS) * size
            found, count, ends_at = unpack(self._map, offset)
            if found == wanted and ends_at > now:
                return offset, count, ends_at
            if found == 0 or ends_at <= now:
                free = offset if free is None else free
                if found == 0:
                    break
            elif oldest is None or ends_at < oldest[1]:
                oldest = (offset, ends_at)
        if not claim:
            return None
        return (free if free is not None else oldest[0]), 0, 0.0

    def _incr(self, key: str, expiry: int, amount: int = 1) -> tuple[int, float]:
        """Under the lock."""
        now = time.time()
        wanted = self._hash(key)
        offset, count, ends_at = self._find(wanted, now, claim=True)
        if not count:
            ends_at = now + expiry
        count += amount
        self._slot.pack_into(self._map, offset, wanted, count, ends_at)
        return count, ends_at

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        self._lock(fcntl.LOCK_EX)
        try:
            return self._incr(key, expiry, amount)[0]
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def incr_in_turn(self, counters: list[Counter]) -> list[tuple[int, float]]:
        self._lock(fcntl.LOCK_EX)
        try:
            return _in_turn(self._incr, counters)
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def _read(self, key: str) -> tuple[int, float]:
        now = time.time()
        self._lock(fcntl.LOCK_SH)
        try:
            found = self._find(self._hash(key), now, claim=False)
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        return (found[1], found[2]) if found else (0, now)

    def get(self, key: str) -> int:
        return self._read(key)[0]

    def get_expiry(self, key: str) -> float:
        return self._read(key)[1]

    def check(self) -> bool:
        return not self._map.closed

    def reset(self) -> int | None:
        self._lock(fcntl.LOCK_EX)
        try:
            self._map[:] = bytes(len(self._map))
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        return None

    def clear(self, key: str) -> None:
        self._lock(fcntl.LOCK_EX)
        try:
            wanted = self._hash(key)
            found = self._find(wanted, time.time(), claim=False)
            if found:  # ended, not emptied: an empty slot would end the probing of others
                self._slot.pack_into(self._map, found[0], wanted, 0, 0.0)
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
