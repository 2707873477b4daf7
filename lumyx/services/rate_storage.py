"""Where the rate-limit counters live, shared by every gunicorn worker so that N
workers enforce one limit. Storage backends for the ``limits`` library (used by
the API's plan limiter and Flask-Limiter's web form limits), fixed windows:

* ``lumyx-redis://``: limits' own Redis storage, when ``REDIS_URL`` is set;
* ``lumyx-host://``: on SQLite, a memory-mapped file beside the database that the
  workers of this host share (:class:`HostCounters`);
* ``lumyx-db://``: on PostgreSQL without Redis, the ``rate_counters`` table: one
  row per counter, incremented by one atomic upsert that also starts a new window
  once the old one has expired.

Each way, the increment that enforces a limit also tells what the rate-limit
headers need: each worker remembers what its last increment of a counter
returned, so the headers cost no further round trip.
"""
from __future__ import annotations

import fcntl
import hashlib
import mmap
import os
import struct
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


class HostCounters(_LastHit, Storage):
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
        if self._pid != os.getpid():    # forked: the parent's descriptor is not ours to lock
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

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        self._lock(fcntl.LOCK_EX)
        try:
            wanted = self._hash(key)
            offset, count, ends_at = self._find(wanted, now, claim=True)
            if not count:
                ends_at = now + expiry
            count += amount
            self._slot.pack_into(self._map, offset, wanted, count, ends_at)
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._note(key, count, ends_at)
        return count

    def _read(self, key: str) -> tuple[int, float]:
        now = time.time()
        self._lock(fcntl.LOCK_SH)
        try:
            found = self._find(self._hash(key), now, claim=False)
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        return (found[1], found[2]) if found else (0, now)

    def get(self, key: str) -> int:
        recent = self._recent(key)
        return recent[0] if recent else self._read(key)[0]

    def get_expiry(self, key: str) -> float:
        recent = self._recent(key)
        return recent[1] if recent and recent[1] is not None else self._read(key)[1]

    def check(self) -> bool:
        return not self._map.closed

    def reset(self) -> int | None:
        self._lock(fcntl.LOCK_EX)
        try:
            self._map[:] = bytes(len(self._map))
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self.__dict__.pop("_last", None)
        return None

    def clear(self, key: str) -> None:
        self._lock(fcntl.LOCK_EX)
        try:
            wanted = self._hash(key)
            found = self._find(wanted, time.time(), claim=False)
            if found:   # ended, not emptied: an empty slot would end the probing of others
                self._slot.pack_into(self._map, found[0], wanted, 0, 0.0)
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self.__dict__.get("_last", {}).pop(key, None)
