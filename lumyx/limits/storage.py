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
``send_in_turn`` does the same in two halves: it starts the step and answers a
function that answers its result. Redis's script is sent at once and its answer
read when that function is called, so a request does its other work while Redis
counts; the other stores count at once.

Each store notices by its process id that it was forked (redis-py's pool does
the same): a child never uses its parent's connections, descriptor or locks.
"""

from __future__ import annotations

import os
import struct
import time
from collections.abc import Callable

from limits.storage import MemoryStorage, RedisStorage, Storage
from sqlalchemy import bindparam, case, create_engine, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from lumyx.db.models import RateCounter
from lumyx.limits.slot_file import SlotFile

_table = RateCounter.__table__


Counter = tuple[str, int, int]  # (key, window in seconds, requests it allows)
Counts = list[tuple[int, float]]  # (count, window end) of each counter incremented


def _in_turn(incr, counters: list[Counter]) -> Counts:
    """(count, window end) of each counter, incremented by ``incr(key, expiry)``,
    up to and including the first one past what it allows."""
    out = []
    for key, expiry, allowed in counters:
        count, ends_at = incr(key, expiry)
        out.append((count, ends_at))
        if count > allowed:
            break
    return out


class CountsAtOnce:
    """A store whose step is done when it is started."""

    def send_in_turn(self, counters: list[Counter]) -> Callable[[], Counts]:
        counts = self.incr_in_turn(counters)
        return lambda: counts


class MemoryCounters(CountsAtOnce, MemoryStorage):
    """limits' in-process storage: a worker's own counters while the shared store is down."""

    def incr_in_turn(self, counters: list[Counter]) -> Counts:
        return _in_turn(lambda key, expiry: (self.incr(key, expiry), self.get_expiry(key)), counters)


class DatabaseStorage(CountsAtOnce, Storage):
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

    def incr_in_turn(self, counters: list[Counter]) -> Counts:
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

    def incr_in_turn(self, counters: list[Counter]) -> Counts:
        return self.send_in_turn(counters)()

    def send_in_turn(self, counters: list[Counter]) -> Callable[[], Counts]:
        """Sends the script on a connection of the client's pool, which the function
        answered keeps until it has read the script's answer (a connection that failed
        is closed). Redis, having lost its scripts (a restart), runs nothing and says
        so; the script is then loaded and run."""
        keys = [self.prefixed_key(key) for key, _expiry, _allowed in counters]
        args = [value for _key, expiry, allowed in counters for value in (expiry, allowed)]
        pool = self.get_connection().connection_pool
        no_script = self.dependency.exceptions.NoScriptError  # (the client library, imported only where it is used)
        conn = pool.get_connection()
        try:
            conn.send_command("EVALSHA", self._in_turn.sha, len(keys), *keys, *args)
        except BaseException:
            conn.disconnect()
            pool.release(conn)
            raise

        def receive() -> Counts:
            try:
                raw = conn.read_response()
            except no_script:
                pool.release(conn)
                raw = self._in_turn(keys, args)
            except BaseException:
                conn.disconnect()
                pool.release(conn)
                raise
            else:
                pool.release(conn)
            now = time.time()
            return [(raw[i], now + max(raw[i + 1], 0) / 1000) for i in range(0, len(raw), 2)]

        return receive


class HostCounters(CountsAtOnce, Storage):
    """Counters in a memory-mapped file that every worker on this host shares: the
    store for a SQLite deployment, which is one host by nature, so that counting a
    request costs a lock and a few bytes instead of two database transactions.

    A :class:`~lumyx.limits.slot_file.SlotFile` of (hash of the key, count, end of
    window), each change under its exclusive lock. With 65,536 slots, about 30,000
    keys on two limits each have a live day window at once before a live window
    gives way.
    """

    STORAGE_SCHEME = ["lumyx-host"]
    SLOTS = 1 << 16

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, *, path: str = "", **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.path = path
        self.table = SlotFile(path, struct.Struct("<Qqd"), self.SLOTS, expiry_field=2)

    @property
    def base_exceptions(self) -> type[Exception]:
        return OSError

    def _incr(self, key: str, expiry: int, amount: int = 1) -> tuple[int, float]:
        """Under the lock."""
        now = time.time()
        wanted = SlotFile.hash(key)
        offset, fields = self.table.find(wanted, now, claim=True)
        count, ends_at = (fields[1], fields[2]) if fields else (0, now + expiry)
        count += amount
        self.table.write(offset, wanted, count, ends_at)
        return count, ends_at

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        with self.table.locked(exclusive=True):
            return self._incr(key, expiry, amount)[0]

    def incr_in_turn(self, counters: list[Counter]) -> Counts:
        with self.table.locked(exclusive=True):
            return _in_turn(self._incr, counters)

    def _read(self, key: str) -> tuple[int, float]:
        now = time.time()
        with self.table.locked(exclusive=False):
            _offset, fields = self.table.find(SlotFile.hash(key), now, claim=False)
        return (fields[1], fields[2]) if fields else (0, now)

    def get(self, key: str) -> int:
        return self._read(key)[0]

    def get_expiry(self, key: str) -> float:
        return self._read(key)[1]

    def check(self) -> bool:
        return not self.table.map.closed

    def reset(self) -> int | None:
        self.table.wipe()
        return None

    def clear(self, key: str) -> None:
        with self.table.locked(exclusive=True):
            wanted = SlotFile.hash(key)
            offset, fields = self.table.find(wanted, time.time(), claim=False)
            if fields:
                self.table.write(offset, wanted, 0, 0.0)
