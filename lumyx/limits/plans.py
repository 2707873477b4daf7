"""Rate limits per API key by the account's plan.

| plan | per minute | per day |
|---|---|---|
| free | 10 | 1,000 |
| pro | 60 | 50,000 |
| enterprise | unlimited | unlimited |

Counters live in Redis when ``REDIS_URL`` is set, else in a file beside a SQLite
database, or in a PostgreSQL database's own table (:mod:`lumyx.limits.storage`); every
worker shares them. When the counter store stops answering, each worker falls
back to counting in its own memory (so N workers allow up to N times the limit)
and says so in its log, and returns to the shared store as soon as it answers
again: requests are never refused because the counter store is down.

The plan limits are counted by :class:`PlanLimiter` with the ``limits`` library
directly: a request's minute and day counters in one step of the store, and
nothing else, on every API request. Web forms (sign-in, registration) are
throttled per client address by Flask-Limiter's decorators, on the same store.

An operator may change the free and pro limits with ``LUMYX_LIMITS_FREE`` and
``LUMYX_LIMITS_PRO`` (``<n>/minute;<n>/day``); the docs page shows what is set.
The limits in force are the app's plan limiter's (each worker's runtime holds
one, lumyx.runtime), read from those settings when it is made.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, request
from limits import RateLimitItem, parse_many
from limits.storage import Storage, storage_from_string
from sqlalchemy.engine import make_url

from lumyx.observability import metrics

log = logging.getLogger("lumyx.rate_limits")

DEFAULT_LIMITS = {"free": "10/minute;1000/day", "pro": "60/minute;50000/day"}
_LIMIT = re.compile(r"^\s*(\d+)\s*/\s*minute\s*;\s*(\d+)\s*/\s*day\s*$")


def parse(value: str) -> tuple[int, int]:
    """(per minute, per day) of a ``<n>/minute;<n>/day`` setting; ValueError otherwise."""
    match = _LIMIT.match(value or "")
    if not match:
        raise ValueError(f"expected '<n>/minute;<n>/day', got {value!r}")
    return int(match[1]), int(match[2])


def limits_of(config) -> dict[str, str]:
    """Each limited plan's limits: its setting (``LUMYX_LIMITS_<PLAN>``) when set,
    else the default. A setting that does not parse stops the server, naming it."""
    limits = {}
    for plan, default in DEFAULT_LIMITS.items():
        name = f"LUMYX_LIMITS_{plan.upper()}"
        try:
            minute, day = parse(config.get(name) or default)
        except ValueError as exc:
            raise SystemExit(f"{name}: {exc}") from None
        limits[plan] = f"{minute}/minute;{day}/day"
    return limits


def client_address() -> str:
    """Whose counter a web form's request counts against (Flask-Limiter's key function):
    the connecting address, or behind LUMYX_TRUSTED_PROXIES the client's the proxies
    name (werkzeug's ProxyFix sets ``remote_addr``)."""
    return f"ip:{request.remote_addr}"


@dataclass(frozen=True)
class Verdict:
    """One request counted against its plan: the limit its headers show (the one
    exceeded, else the shortest), what is left of it, and when its window ends."""

    limit: RateLimitItem
    remaining: int
    reset_at: float
    exceeded: bool

    @functools.cached_property
    def retry_after(self) -> int:
        """Whole seconds until the window ends (at least 1), read once: the message
        and the Retry-After header of a 429 say the same."""
        return max(1, math.ceil(self.reset_at - time.time()))

    def headers(self) -> dict[str, str]:
        headers = {
            "X-RateLimit-Limit": str(self.limit.amount),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(int(self.reset_at)),
        }
        if self.exceeded:
            headers["Retry-After"] = str(self.retry_after)
        return headers


class PlanLimiter:
    """Counts API keys' requests against their plans' limits (fixed windows).

    Counters live in the shared store (Redis, the host's counters file, or the
    database). When the store fails, counting goes on in this worker's memory
    and the store is tried again after 1, 2, 4 … 16 seconds, then every 16.
    """

    RECHECK_MAX_S = 16

    def __init__(self, storage_uri: str, storage_options: dict, prefix: str, limits: dict[str, str] | None = None):
        from lumyx.limits.storage import MemoryCounters  # (registers the lumyx-* schemes; imports the models)

        self.limits = dict(DEFAULT_LIMITS if limits is None else limits)  # by plan; a plan not here is unlimited
        self.shared: Storage = storage_from_string(storage_uri, **storage_options)
        self.memory = MemoryCounters()
        self.prefix = prefix
        self._parsed: dict[str, list[RateLimitItem]] = {}
        # Which store a failure is counted against in the storage errors metric (None: neither).
        self.store_kind = (
            "redis"
            if "redis" in storage_uri.split("://", 1)[0]
            else ("database" if storage_uri.startswith("lumyx-db") else None)
        )
        self._down = False
        self._recheck_at = 0.0
        self._recheck_after = 1.0

    @classmethod
    def for_app(cls, config) -> PlanLimiter:
        """The limiter an app's settings describe (after :func:`configure`)."""
        return cls(
            config["RATELIMIT_STORAGE_URI"],
            config.get("RATELIMIT_STORAGE_OPTIONS", {}),
            config["RATELIMIT_KEY_PREFIX"],
            limits_of(config),
        )

    def table(self) -> list[tuple[str, str, str]]:
        """(plan, per minute, per day) as the docs show them."""
        rows = []
        for plan in ("free", "pro"):
            minute, day = parse(self.limits[plan])
            rows.append((plan.title(), f"{minute:,}", f"{day:,}"))
        return rows + [("Enterprise", "Unlimited", "Unlimited")]

    def _limits(self, spec: str) -> list[RateLimitItem]:
        items = self._parsed.get(spec)
        if items is None:
            items = self._parsed[spec] = sorted(parse_many(spec), key=lambda item: item.GRANULARITY.seconds)
        return items

    def count(self, key_id: int, plan: str) -> Counting | None:
        """Counts one request of key ``key_id``, its verdict read when first asked
        (:class:`Counting`); None when its plan is unlimited."""
        spec = self.limits.get(plan)
        if spec is None:
            return None
        items = self._limits(spec)
        # Each limit's counter, shortest window first, incremented up to the first one
        # exceeded (a request refused by the minute limit is not counted for the day).
        counters = [(item.key_for(self.prefix, f"key:{key_id}"), item.get_expiry(), item.amount) for item in items]
        if self._down and not self._store_is_back():
            return Counting(self, items, counters, self.memory.send_in_turn(counters))
        try:
            return Counting(self, items, counters, self.shared.send_in_turn(counters))
        except Exception:
            return Counting(self, items, counters, self._in_memory_now(counters))

    def _in_memory_now(self, counters: list) -> Callable[[], list]:
        """The shared store failed: the request is counted in this worker's memory."""
        if self.store_kind is not None:
            metrics.storage_error(self.store_kind)
        log.warning("Rate limit storage unreachable - falling back to in-memory storage")
        self._down, self._recheck_after = True, 1.0
        self._recheck_at = time.monotonic() + self._recheck_after
        return self.memory.send_in_turn(counters)

    def _store_is_back(self) -> bool:
        now = time.monotonic()
        if now < self._recheck_at:
            return False
        try:
            back = self.shared.check()
        except Exception:
            back = False
        if back:
            log.info("Rate limit storage recovered")
            self._down = False
            return True
        self._recheck_after = min(self._recheck_after * 2, self.RECHECK_MAX_S)
        self._recheck_at = now + self._recheck_after
        return False


class Counting:
    """One request's count, started in the store; :meth:`verdict` reads its result
    once. On Redis the count runs while the request does its other work, so its
    round trip is not waited for (lumyx.api.blueprints asks for the verdict at the
    last moment before the request does anything the limit should stop)."""

    __slots__ = ("limiter", "items", "counters", "receive", "_verdict")

    def __init__(self, limiter: PlanLimiter, items: list[RateLimitItem], counters: list, receive: Callable) -> None:
        self.limiter, self.items, self.counters, self.receive = limiter, items, counters, receive
        self._verdict: Verdict | None = None

    @property
    def read(self) -> bool:
        return self._verdict is not None

    def verdict(self) -> Verdict:
        if self._verdict is None:
            try:
                counts = self.receive()
            except Exception:
                counts = self.limiter._in_memory_now(self.counters)()
            self.receive = None  # a store's answer is read once
            items = self.items
            item, (count, ends_at) = items[len(counts) - 1], counts[-1]
            if count <= item.amount:  # none exceeded: the headers show the shortest window
                item, (count, ends_at) = items[0], counts[0]
            self._verdict = Verdict(item, max(item.amount - count, 0), ends_at, count > item.amount)
        return self._verdict


def host_counters_path(database_url: str) -> str:
    """The counters file of a SQLite database: beside it (``<file>-ratelimits``)."""
    database = make_url(database_url).database
    if not database or database == ":memory:":
        return os.path.join(tempfile.gettempdir(), f"lumyx-{os.getuid()}-ratelimits")
    return os.path.abspath(database) + "-ratelimits"


def configure(app: Flask) -> None:
    """The counter store's settings for this app: the plan limiter's (made by
    the worker's runtime on first use), and Flask-Limiter's (read by
    Limiter.init_app). A plan limit setting that does not parse stops here."""
    config = app.config
    limits_of(config)
    from lumyx.limits import storage  # noqa: F401  (registers the lumyx-redis://, lumyx-host:// and lumyx-db:// schemes)

    redis_url = config.get("REDIS_URL")
    if redis_url:
        scheme = redis_url.split("://", 1)[0]
        uri = "lumyx-" + redis_url if scheme in ("redis", "rediss") else redis_url
        config.setdefault("RATELIMIT_STORAGE_URI", uri)
        config.setdefault(
            "RATELIMIT_STORAGE_OPTIONS",
            {"socket_connect_timeout": 0.25, "socket_timeout": 0.25, "health_check_interval": 30},
        )
    elif config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        config.setdefault("RATELIMIT_STORAGE_URI", "lumyx-host://")
        config.setdefault("RATELIMIT_STORAGE_OPTIONS", {"path": host_counters_path(config["SQLALCHEMY_DATABASE_URI"])})
    else:
        config.setdefault("RATELIMIT_STORAGE_URI", "lumyx-db://")
        config.setdefault(
            "RATELIMIT_STORAGE_OPTIONS",
            {
                "database_url": config["SQLALCHEMY_DATABASE_URI"],
                "engine_options": config.get("SQLALCHEMY_ENGINE_OPTIONS", {}),
            },
        )
    # Counters are named <prefix>/<key>: instances sharing one Redis keep apart by prefix.
    config.setdefault("RATELIMIT_KEY_PREFIX", config.get("LUMYX_RATELIMIT_PREFIX") or "lumyx")
    config.setdefault("RATELIMIT_STRATEGY", "fixed-window")
    config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
