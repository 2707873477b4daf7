"""Rate limits per API key by the account's plan, enforced with Flask-Limiter.

| plan | per minute | per day |
|---|---|---|
| free | 10 | 1,000 |
| pro | 60 | 50,000 |
| enterprise | unlimited | unlimited |

Counters live in Redis when ``REDIS_URL`` is set, else in a file beside a SQLite
database, or in a PostgreSQL database's own table (:mod:`.rate_storage`); every
worker shares them. When the counter store stops answering, each worker falls
back to counting in its own memory (so N workers allow up to N times the limit)
and says so in its log, and returns to the shared store as soon as it answers
again: requests are never refused because the counter store is down.

An operator may change the free and pro limits with ``LUMYX_LIMITS_FREE`` and
``LUMYX_LIMITS_PRO`` (``<n>/minute;<n>/day``); the docs page shows what is set.
"""
from __future__ import annotations

import os
import re
import tempfile

from flask import Flask, g, request
from sqlalchemy.engine import make_url

DEFAULT_LIMITS = {"free": "10/minute;1000/day", "pro": "60/minute;50000/day"}
PLAN_LIMITS = dict(DEFAULT_LIMITS)
_LIMIT = re.compile(r"^\s*(\d+)\s*/\s*minute\s*;\s*(\d+)\s*/\s*day\s*$")


def parse(value: str) -> tuple[int, int]:
    """(per minute, per day) of a ``<n>/minute;<n>/day`` setting; ValueError otherwise."""
    match = _LIMIT.match(value or "")
    if not match:
        raise ValueError(f"expected '<n>/minute;<n>/day', got {value!r}")
    return int(match[1]), int(match[2])


def table() -> list[tuple[str, str, str]]:
    """(plan, per minute, per day) as the docs show them."""
    rows = []
    for plan in ("free", "pro"):
        minute, day = parse(PLAN_LIMITS[plan])
        rows.append((plan.title(), f"{minute:,}", f"{day:,}"))
    return rows + [("Enterprise", "Unlimited", "Unlimited")]


def key() -> str:
    """Whose counter a request counts against: its API key, else its address."""
    api_key = g.get("api_key")
    return f"key:{api_key.key_id}" if api_key is not None else f"ip:{request.remote_addr}"


def plan_limits() -> str:
    api_key = g.get("api_key")
    return PLAN_LIMITS.get(api_key.plan if api_key is not None else "free", PLAN_LIMITS["free"])


def exempt() -> bool:
    """Only authenticated API requests of limited plans are counted."""
    api_key = g.get("api_key")
    return api_key is None or api_key.plan not in PLAN_LIMITS


def host_counters_path(database_url: str) -> str:
    """The counters file of a SQLite database: beside it (``<file>-ratelimits``)."""
    database = make_url(database_url).database
    if not database or database == ":memory:":
        return os.path.join(tempfile.gettempdir(), f"lumyx-{os.getuid()}-ratelimits")
    return os.path.abspath(database) + "-ratelimits"


def configure(app: Flask) -> None:
    """Flask-Limiter's settings for this app (read by Limiter.init_app)."""
    config = app.config
    for plan in DEFAULT_LIMITS:
        name = f"LUMYX_LIMITS_{plan.upper()}"
        try:
            minute, day = parse(config.get(name) or DEFAULT_LIMITS[plan])
        except ValueError as exc:
            raise SystemExit(f"{name}: {exc}") from None
        PLAN_LIMITS[plan] = f"{minute}/minute;{day}/day"
    from . import rate_storage  # noqa: F401  (registers the lumyx-redis://, lumyx-host:// and lumyx-db:// schemes)

    redis_url = config.get("REDIS_URL")
    if redis_url:
        scheme = redis_url.split("://", 1)[0]
        uri = "lumyx-" + redis_url if scheme in ("redis", "rediss") else redis_url
        config.setdefault("RATELIMIT_STORAGE_URI", uri)
        config.setdefault("RATELIMIT_STORAGE_OPTIONS", {"socket_connect_timeout": 0.25, "socket_timeout": 0.25,
                                                        "health_check_interval": 30})
    elif config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        config.setdefault("RATELIMIT_STORAGE_URI", "lumyx-host://")
        config.setdefault("RATELIMIT_STORAGE_OPTIONS", {"path": host_counters_path(config["SQLALCHEMY_DATABASE_URI"])})
    else:
        config.setdefault("RATELIMIT_STORAGE_URI", "lumyx-db://")
        config.setdefault("RATELIMIT_STORAGE_OPTIONS", {
            "database_url": config["SQLALCHEMY_DATABASE_URI"],
            "engine_options": config.get("SQLALCHEMY_ENGINE_OPTIONS", {})})
    # Counters are named <prefix>/<key>: instances sharing one Redis keep apart by prefix.
    config.setdefault("RATELIMIT_KEY_PREFIX", config.get("LUMYX_RATELIMIT_PREFIX") or "lumyx")
    config.setdefault("RATELIMIT_STRATEGY", "fixed-window")
    config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
