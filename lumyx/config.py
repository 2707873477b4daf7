"""Settings read from the environment (see CONTRACT in the README)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from lumyx.public_url import parse_host_list, parse_public_url

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = ROOT / "instance"


def _secret_key() -> str:
    """SECRET_KEY from the environment, else one generated once into instance/."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    INSTANCE.mkdir(exist_ok=True)
    path = INSTANCE / "secret_key"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip()


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        # Heroku-style URLs name the driver implicitly; Lumyx uses psycopg 3.
        if url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url[len("postgres://") :]
        elif url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://") :]
        return url
    INSTANCE.mkdir(exist_ok=True)
    return f"sqlite:///{INSTANCE / 'lumyx.db'}"


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw else default


def _positive_int(name: str, default: int) -> int:
    """A setting that must be a whole number of at least 1; anything else stops the server, naming it."""
    raw = (os.environ.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise SystemExit(f"{name}: must be a positive whole number, got {raw!r}")
    return value


def _whole_number(name: str, default: int) -> int:
    """A setting that must be a whole number of at least 0; anything else stops the server, naming it."""
    raw = (os.environ.get(name) or "").strip()
    if not raw:
        return default
    if not raw.isdigit():
        raise SystemExit(f"{name}: must be a whole number (0 or more), got {raw!r}")
    return int(raw)


LOG_FORMATS = ("text", "json")


def log_format() -> str:
    """LUMYX_LOG_FORMAT: ``text`` (default) or ``json``; anything else stops the server, naming it."""
    raw = (os.environ.get("LUMYX_LOG_FORMAT") or "").strip()
    if not raw:
        return "text"
    if raw.lower() not in LOG_FORMATS:
        raise SystemExit(f"LUMYX_LOG_FORMAT: must be one of {', '.join(LOG_FORMATS)}, got {raw!r}")
    return raw.lower()


def _public_url() -> str | None:
    """LUMYX_PUBLIC_URL; a value that is not an http(s) URL of a host stops the server, naming it."""
    try:
        return parse_public_url(os.environ.get("LUMYX_PUBLIC_URL"))
    except ValueError as exc:
        raise SystemExit(f"LUMYX_PUBLIC_URL: {exc}") from None


def from_environment() -> dict:
    """The Flask config mapping for this process."""
    database_url = _database_url()
    if database_url.startswith("sqlite"):
        # Many gevent greenlets share a file database: wait for the lock
        # instead of failing, and let connections cross greenlets.
        engine_options: dict = {"connect_args": {"timeout": 30, "check_same_thread": False}}
    else:
        # Fail fast when the database is unreachable (a 503 in seconds, not a hang).
        # Idle pooled connections are pinged before use (lumyx.db._ping_if_idle).
        engine_options = {
            "connect_args": {"connect_timeout": _int("LUMYX_DB_CONNECT_TIMEOUT", 3)},
            "pool_size": _int("LUMYX_DB_POOL_SIZE", 10),
            "max_overflow": _int("LUMYX_DB_MAX_OVERFLOW", 20),
            "pool_timeout": _int("LUMYX_DB_POOL_TIMEOUT", 10),
        }
    hold_refresh = _positive_int("LUMYX_HOLD_REFRESH_SECONDS", 60)
    hold_orphan = _positive_int("LUMYX_HOLD_ORPHAN_SECONDS", 300)
    if hold_orphan < 3 * hold_refresh:
        raise SystemExit(
            f"LUMYX_HOLD_ORPHAN_SECONDS ({hold_orphan}) must be at least 3 times "
            f"LUMYX_HOLD_REFRESH_SECONDS ({hold_refresh}), or live holds would be taken for orphans"
        )
    return {
        "SECRET_KEY": _secret_key(),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
        "SQLALCHEMY_TRACK_MODIFICATIONS": False,
        "REDIS_URL": os.environ.get("REDIS_URL") or None,
        "LUMYX_CATALOG": os.environ.get("LUMYX_CATALOG") or str(ROOT / "catalog" / "default.yaml"),
        "LUMYX_ADMIN_EMAIL": os.environ.get("LUMYX_ADMIN_EMAIL") or None,
        "LUMYX_ADMIN_PASSWORD": os.environ.get("LUMYX_ADMIN_PASSWORD") or None,
        "STRIPE_SECRET_KEY": os.environ.get("STRIPE_SECRET_KEY") or None,
        "STRIPE_WEBHOOK_SECRET": os.environ.get("STRIPE_WEBHOOK_SECRET") or None,
        "STRIPE_API_BASE": os.environ.get("STRIPE_API_BASE") or None,
        # Largest request body accepted by the API (413 above it).
        "MAX_CONTENT_LENGTH": _int("LUMYX_MAX_BODY_BYTES", 32 * 1024 * 1024),
        # How long an authenticated key stays cached in a worker (seconds).
        "LUMYX_AUTH_CACHE_SECONDS": _int("LUMYX_AUTH_CACHE_SECONDS", 10),
        # Requests a day to free models per account (0: no cap).
        "LUMYX_FREE_DAILY_LIMIT": _int("LUMYX_FREE_DAILY_LIMIT", 50),
        # How often a worker checks the database for catalog changes (seconds).
        "LUMYX_CATALOG_REFRESH_SECONDS": _int("LUMYX_CATALOG_REFRESH_SECONDS", 10),
        # How log lines are written: text, or one JSON object a line (lumyx.observability.logs).
        "LUMYX_LOG_FORMAT": log_format(),
        # Days a stored Responses API answer is kept (lumyx.responses.store).
        "LUMYX_RESPONSES_RETENTION_DAYS": _positive_int("LUMYX_RESPONSES_RETENTION_DAYS", 30),
        # Days a usage row (one per request) is kept; older ones are deleted by the
        # janitor while their hourly rollups stay (lumyx.usage.retention). 0: forever.
        "LUMYX_USAGE_RETENTION_DAYS": _whole_number("LUMYX_USAGE_RETENTION_DAYS", 90),
        # Web sessions: HttpOnly, SameSite=Lax, and Secure — "auto" leaves out Secure
        # only for plain HTTP to a loopback address (a local `make run`).
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "LUMYX_COOKIE_SECURE": (os.environ.get("LUMYX_COOKIE_SECURE") or "auto").strip().lower(),
        # Per-key API rate limits of the free and pro plans ("<n>/minute;<n>/day").
        "LUMYX_LIMITS_FREE": os.environ.get("LUMYX_LIMITS_FREE") or None,
        "LUMYX_LIMITS_PRO": os.environ.get("LUMYX_LIMITS_PRO") or None,
        "LUMYX_RATELIMIT_PREFIX": os.environ.get("LUMYX_RATELIMIT_PREFIX") or "lumyx",
        # Hosts the agents endpoint may call for a persona's HTTP tools (comma-separated
        # host names; empty: HTTP tools are disabled).
        "LUMYX_AGENT_HTTP_HOSTS": os.environ.get("LUMYX_AGENT_HTTP_HOSTS") or "",
        # The public base URL of every absolute link (lumyx.public_url), the host names
        # requests may name besides loopback ones, and how many reverse proxies in front
        # are believed about the client's address, scheme and host (X-Forwarded-*).
        "LUMYX_PUBLIC_URL": _public_url(),
        "LUMYX_ALLOWED_HOSTS": parse_host_list(os.environ.get("LUMYX_ALLOWED_HOSTS")),
        "LUMYX_TRUSTED_PROXIES": _whole_number("LUMYX_TRUSTED_PROXIES", 0),
        # GET /metrics: with a token, scrapers send it as a bearer token; without, loopback only.
        "LUMYX_METRICS_TOKEN": os.environ.get("LUMYX_METRICS_TOKEN") or None,
        # Circuit breakers (lumyx.routing.breakers): consecutive retryable failures that
        # open a route, and the seconds it is skipped before one request probes it.
        "LUMYX_BREAKER_FAILURES": _positive_int("LUMYX_BREAKER_FAILURES", 5),
        "LUMYX_BREAKER_COOLDOWN_S": _positive_int("LUMYX_BREAKER_COOLDOWN_S", 30),
        # Credit holds of stopped workers (lumyx.billing.janitor): how often each worker
        # marks its holds alive and looks for orphans, and how long a hold unmarked is
        # taken as its worker's death (at least 3 times the first).
        "LUMYX_HOLD_REFRESH_SECONDS": hold_refresh,
        "LUMYX_HOLD_ORPHAN_SECONDS": hold_orphan,
        # Rate-limit storage (API plan limits and web form throttling) is chosen by
        # lumyx.limits.plans.configure: REDIS_URL when set, else the database.
    }
