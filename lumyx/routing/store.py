"""Where routing state lives, shared by every worker: the routes' circuit breakers
and the route each conversation last used. Short text values by key, each with an
expiry, read many at once (one round trip) and changed atomically:

* :class:`RedisStore` when ``REDIS_URL`` is set (one ``MGET``; a change is a
  ``WATCH``/``MULTI`` transaction);
* :class:`~lumyx.routing.host_store.HostStore` on SQLite: a memory-mapped file
  beside the database that the workers of this host share (one ``flock``);
* :class:`DatabaseStore` on PostgreSQL without Redis: the ``routing_state``
  table (one ``SELECT``; a change locks its row).

The same choice as the rate limits' (lumyx.limits.plans.configure), and under the
same prefix. When the store fails, routing goes on as if it held nothing (every
route closed, no conversation remembered) and says so in the log, at most every
30 seconds: a request is never refused because the store is down.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections.abc import Callable

from sqlalchemy import bindparam, create_engine, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from lumyx.db.models import RoutingState
from lumyx.observability import metrics
from lumyx.routing.host_store import HostStore

log = logging.getLogger("lumyx.routing")

# change(old value or None) -> (new value or None to delete it, seconds it lives)
Change = Callable[[str | None], tuple[str | None, float]]

_table = RoutingState.__table__


class MemoryStore:
    """A process's own store: for tests, and a single process."""

    def __init__(self) -> None:
        self._items: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def get_many(self, keys: list[str]) -> list[str | None]:
        now = time.time()
        with self._lock:
            found = [self._items.get(key) for key in keys]
        return [item[0] if item and item[1] > now else None for item in found]

    def update(self, key: str, change: Change) -> str | None:
        with self._lock:
            item = self._items.get(key)
            value, ttl = change(item[0] if item and item[1] > time.time() else None)
            if value is None:
                self._items.pop(key, None)
            else:
                self._items[key] = (value, time.time() + ttl)
            return value

    def put(self, key: str, value: str, ttl: float) -> None:
        with self._lock:
            self._items[key] = (value, time.time() + ttl)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


class RedisStore:
    def __init__(self, url: str, prefix: str) -> None:
        import redis

        self.client = redis.Redis.from_url(
            url, socket_connect_timeout=0.25, socket_timeout=0.25, health_check_interval=30, decode_responses=True
        )
        self.prefix = prefix

    def get_many(self, keys: list[str]) -> list[str | None]:
        return self.client.mget([self.prefix + key for key in keys])

    def update(self, key: str, change: Change) -> str | None:
        name = self.prefix + key
        result: list[str | None] = [None]

        def attempt(pipe) -> None:
            value, ttl = change(pipe.get(name))
            pipe.multi()
            if value is None:
                pipe.delete(name)
            else:
                pipe.set(name, value, px=max(1, int(ttl * 1000)))
            result[0] = value

        self.client.transaction(attempt, name)
        return result[0]

    def put(self, key: str, value: str, ttl: float) -> None:
        self.client.set(self.prefix + key, value, px=max(1, int(ttl * 1000)))

    def clear(self) -> None:
        for name in self.client.scan_iter(self.prefix + "*", count=500):
            self.client.delete(name)


class DatabaseStore:
    """The ``routing_state`` table; expired rows are deleted now and then by the
    writes themselves (one in :data:`SWEEP_EVERY`)."""

    SWEEP_EVERY = 500

    def __init__(self, database_url: str, engine_options: dict, prefix: str) -> None:
        options = dict(engine_options)
        if database_url.startswith("postgresql"):
            options["connect_args"] = {**options.get("connect_args", {}), "options": "-c synchronous_commit=off"}
        self.engine = create_engine(database_url, **options)
        self.prefix = prefix
        self._pid = os.getpid()
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        self._select = select(_table.c.key, _table.c.value, _table.c.expires_at).where(
            _table.c.key.in_(bindparam("keys", expanding=True))
        )
        self._lock_row = (
            select(_table.c.value, _table.c.expires_at).where(_table.c.key == bindparam("key")).with_for_update()
        )
        self._ensure = dialect.insert(_table).on_conflict_do_nothing(index_elements=[_table.c.key])
        insert = dialect.insert(_table)
        self._upsert = insert.on_conflict_do_update(
            index_elements=[_table.c.key],
            set_={"value": insert.excluded.value, "expires_at": insert.excluded.expires_at},
        )

    def _pool(self):
        if self._pid != os.getpid():  # forked: the parent's connections stay the parent's
            self.engine.dispose(close=False)
            self._pid = os.getpid()
        return self.engine

    def get_many(self, keys: list[str]) -> list[str | None]:
        names = [self.prefix + key for key in keys]
        with self._pool().connect() as conn:
            rows = {row.key: row for row in conn.execute(self._select, {"keys": names})}
        now = time.time()
        return [row.value if (row := rows.get(name)) is not None and row.expires_at > now else None for name in names]

    def update(self, key: str, change: Change) -> str | None:
        name = self.prefix + key
        with self._pool().begin() as conn:
            conn.execute(self._ensure, {"key": name, "value": "", "expires_at": 0.0})
            row = conn.execute(self._lock_row, {"key": name}).one()
            value, ttl = change(row.value if row.expires_at > time.time() else None)
            if value is None:
                conn.execute(delete(_table).where(_table.c.key == name))
            else:
                conn.execute(self._upsert, {"key": name, "value": value, "expires_at": time.time() + ttl})
            self._sweep(conn)
        return value

    def put(self, key: str, value: str, ttl: float) -> None:
        with self._pool().begin() as conn:
            conn.execute(self._upsert, {"key": self.prefix + key, "value": value, "expires_at": time.time() + ttl})
            self._sweep(conn)

    def _sweep(self, conn) -> None:
        if random.randrange(self.SWEEP_EVERY) == 0:
            conn.execute(delete(_table).where(_table.c.expires_at <= time.time()))

    def clear(self) -> None:
        with self._pool().begin() as conn:
            conn.execute(delete(_table).where(_table.c.key.startswith(self.prefix)))


class Guarded:
    """A store whose failures are logged (at most every 30 s) and read as empty."""

    QUIET_S = 30.0

    def __init__(self, store, kind: str | None = None) -> None:
        self.store = store
        self.kind = kind  # database | redis: counted in the storage errors metric (None: not counted)
        self._logged_at = float("-inf")

    def _failed(self, what: str, exc: Exception) -> None:
        if self.kind is not None:
            metrics.storage_error(self.kind)
        now = time.monotonic()
        if now - self._logged_at >= self.QUIET_S:
            self._logged_at = now
            log.warning("routing state store unreachable (%s: %s); routing as if every route were closed", what, exc)

    def get_many(self, keys: list[str]) -> list[str | None]:
        try:
            return self.store.get_many(keys)
        except Exception as exc:
            self._failed("read", exc)
            return [None] * len(keys)

    def update(self, key: str, change: Change) -> str | None:
        try:
            return self.store.update(key, change)
        except Exception as exc:
            self._failed("write", exc)
            return None

    def put(self, key: str, value: str, ttl: float) -> None:
        try:
            self.store.put(key, value, ttl)
        except Exception as exc:
            self._failed("write", exc)

    def clear(self) -> None:
        self.store.clear()


def open_store(config) -> Guarded:
    """The store an app's settings name (after lumyx.limits.plans.configure)."""
    from lumyx.limits.plans import host_counters_path

    prefix = f"{config.get('RATELIMIT_KEY_PREFIX') or 'lumyx'}:routing:"
    database_url = config["SQLALCHEMY_DATABASE_URI"]
    if config.get("REDIS_URL"):
        return Guarded(RedisStore(config["REDIS_URL"], prefix), "redis")
    if database_url.startswith("sqlite"):
        return Guarded(HostStore(host_counters_path(database_url).removesuffix("-ratelimits") + "-routing"))
    return Guarded(DatabaseStore(database_url, config.get("SQLALCHEMY_ENGINE_OPTIONS", {}), prefix), "database")


shared: Guarded = Guarded(MemoryStore())  # this process's; configure() replaces it


def configure(config) -> None:
    """Called by the app factory: the routing state of this app's settings."""
    global shared
    shared = open_store(config)
