"""API keys: minted with 256 random bits, stored as a SHA-256, shown once;
listed and revoked by their owner, touched when used.

A key reads ``lx-<secret>``; ``nova_<secret>`` names the same key, so
snippets with either prefix work. Authentication is cached per worker for a
few seconds so the hot path does not query the database for every request.

A key may be handed out with limits (:class:`KeyLimits`): a spending limit
(held against by billing, as the balance is), a model allowlist and an expiry.
The cache keeps the expiry and compares it with the clock on every request,
so an expired key is refused from its expiry on, cached or not; a revoked one
within the cache's seconds, as before.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select, update

from lumyx import money
from lumyx.db import db
from lumyx.db.models import ApiKey, CatalogModel, User
from lumyx.db.models._types import utcnow

PREFIX = "lx-"
ACCEPTED_PREFIXES = ("lx-", "nova_")
SECRET_BYTES = 32
DISPLAY_CHARS = 10
TOUCH_EVERY_SECONDS = 60
CACHE_MAX_ENTRIES = 50_000


@dataclass(frozen=True, slots=True)
class KeyContext:
    """Who is calling: what the hot path needs, and nothing secret."""

    key_id: int
    user_id: int
    plan: str
    timezone: str
    spend_limit: int | None = None  # µcr the key may spend in all; None: no limit of its own
    models: frozenset[str] | None = None  # the catalog models it may use; None: any
    expires_at: float | None = None  # epoch seconds; None: never

    def expired(self, now: float | None = None) -> bool:
        return self.expires_at is not None and (time.time() if now is None else now) >= self.expires_at

    def allows(self, model_id: str) -> bool:
        return self.models is None or model_id in self.models


class KeyLimitError(ValueError):
    """Limits a key cannot be created with; the message says why, in one line, and
    ``field`` which input: limit, models or expires_days."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


MAX_EXPIRES_DAYS = 36_500
MAX_MODELS = 100
MAX_LIMIT = 10**9 * money.MICRO_PER_CREDIT  # µcr: a billion credits, far below the column's range


@dataclass(frozen=True, slots=True)
class KeyLimits:
    """What a new key may do: spend at most ``spend_limit`` µcr, use only ``models``,
    work until ``expires_days`` from now (each None: no such limit)."""

    spend_limit: int | None = None
    models: tuple[str, ...] | None = None
    expires_days: int | None = None

    @classmethod
    def parse(cls, limit=None, models=None, expires_days=None, known_models=None) -> KeyLimits:
        """Limits from user input: ``limit`` in credits, ``models`` comma-separated ids
        (each in ``known_models`` when given), ``expires_days`` whole days; blanks mean
        no limit. Raises :class:`KeyLimitError`."""
        spend = None
        if limit is not None and str(limit).strip():
            try:
                spend = money.credits_to_micro(str(limit).strip())
            except ValueError as exc:
                raise KeyLimitError("limit", f"bad limit {limit!r}: {exc}") from None
            if not 0 < spend <= MAX_LIMIT:
                raise KeyLimitError(
                    "limit", f"bad limit {limit!r}: from 0.000001 to {MAX_LIMIT // money.MICRO_PER_CREDIT:,} credits"
                )
        ids = None
        if models is not None and str(models).strip():
            ids = tuple(dict.fromkeys(m.strip() for m in str(models).split(",") if m.strip()))
            if not ids:
                raise KeyLimitError("models", f"bad models {models!r}: name at least one model id")
            if len(ids) > MAX_MODELS:
                raise KeyLimitError("models", f"too many models: at most {MAX_MODELS}")
            unknown = [m for m in ids if known_models is not None and m not in known_models]
            if unknown:
                raise KeyLimitError("models", f"unknown model{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}")
        days = None
        if expires_days is not None and str(expires_days).strip():
            try:
                days = int(str(expires_days).strip())
            except ValueError:
                raise KeyLimitError("expires_days", f"bad expiry {expires_days!r}: a whole number of days") from None
            if not 1 <= days <= MAX_EXPIRES_DAYS:
                raise KeyLimitError("expires_days", f"bad expiry {expires_days!r}: from 1 to {MAX_EXPIRES_DAYS} days")
        return cls(spend, ids, days)


def _secret(raw: str) -> str:
    for prefix in ACCEPTED_PREFIXES:
        if raw.startswith(prefix):
            return raw[len(prefix) :]
    return raw


def hash_key(raw: str) -> str:
    return hashlib.sha256(_secret(raw.strip()).encode()).hexdigest()


def catalog_model_ids() -> set[str]:
    """The ids of the catalog's enabled models: what an allowlist may name."""
    return set(db.session.scalars(select(CatalogModel.id).where(CatalogModel.enabled.is_(True))))


def create_key(user: User, name: str = "", limits: KeyLimits | None = None) -> tuple[ApiKey, str]:
    """A new key for ``user``; returns the row and the full key (never stored)."""
    name = (name or "").strip()[:100]
    limits = limits or KeyLimits()
    full = PREFIX + secrets.token_urlsafe(SECRET_BYTES)
    row = ApiKey(
        user_id=user.id,
        name=name,
        prefix=full[:DISPLAY_CHARS],
        key_hash=hash_key(full),
        spend_limit=limits.spend_limit,
        models=",".join(limits.models) if limits.models else None,
        expires_at=utcnow() + timedelta(days=limits.expires_days) if limits.expires_days else None,
    )
    db.session.add(row)
    db.session.commit()
    return row, full


class KeyCache:
    """Per-worker memory of recent key look-ups, hits and misses alike. An entry
    lasts ``ttl_seconds``; :meth:`clear` drops them all (a key revoked, a plan
    changed), as does reaching CACHE_MAX_ENTRIES."""

    def __init__(self, ttl_seconds: float):
        self.ttl = ttl_seconds
        self._entries: dict[str, tuple[float, KeyContext | None]] = {}
        self._touched: dict[int, float] = {}

    def authenticate(self, raw: str) -> KeyContext | None:
        if not raw or len(raw) > 512:
            return None
        digest = hash_key(raw)
        now = time.monotonic()
        hit = self._entries.get(digest)
        if hit is not None and hit[0] > now:
            return hit[1]
        context = _lookup(digest)
        if len(self._entries) >= CACHE_MAX_ENTRIES:
            self._entries.clear()
        self._entries[digest] = (now + self.ttl, context)
        return context

    def due_for_touch(self, key_id: int) -> bool:
        now = time.monotonic()
        if now - self._touched.get(key_id, -TOUCH_EVERY_SECONDS) < TOUCH_EVERY_SECONDS:
            return False
        self._touched[key_id] = now
        return True

    def clear(self) -> None:
        self._entries.clear()


def _lookup(digest: str) -> KeyContext | None:
    row = db.session.execute(
        select(
            ApiKey.id,
            ApiKey.key_hash,
            User.id,
            User.plan,
            User.timezone,
            ApiKey.spend_limit,
            ApiKey.models,
            ApiKey.expires_at,
        )
        .join(User, User.id == ApiKey.user_id)
        .where(ApiKey.key_hash == digest, ApiKey.revoked_at.is_(None))
    ).first()
    db.session.rollback()
    if row is None or not hmac.compare_digest(row[1], digest):
        return None
    models = frozenset(m for m in row[6].split(",") if m) if row[6] else None
    expires_at = row[7].replace(tzinfo=UTC).timestamp() if row[7] else None
    return KeyContext(
        key_id=row[0],
        user_id=row[2],
        plan=row[3],
        timezone=row[4],
        spend_limit=row[5],
        models=models,
        expires_at=expires_at,
    )


def expiry(row: ApiKey) -> datetime | None:
    """When the key stops working (aware UTC), or None."""
    return row.expires_at.replace(tzinfo=UTC) if row.expires_at else None


def get_key(key_id: int) -> ApiKey | None:
    """A key's row as the database has it now (for GET /key)."""
    return db.session.get(ApiKey, key_id)


def touch(key_id: int) -> None:
    """Record that a key was used (called after the response, at most once a minute)."""
    db.session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=utcnow()))
    db.session.commit()


def list_keys(user_id: int, *, include_revoked: bool = True) -> list[ApiKey]:
    """The user's keys: live ones first, newest first."""
    query = select(ApiKey).where(ApiKey.user_id == user_id)
    if not include_revoked:
        query = query.where(ApiKey.revoked_at.is_(None))
    return list(
        db.session.scalars(query.order_by(ApiKey.revoked_at.is_not(None), ApiKey.created_at.desc(), ApiKey.id.desc()))
    )


def reader_key_prefix(user_id: int) -> str | None:
    """The shown prefix of the user's newest working key (the docs fill it into their
    samples), or None when the user has none."""
    now = utcnow()
    for key in list_keys(user_id, include_revoked=False):
        if key.expires_at is None or key.expires_at > now:
            return key.prefix
    return None


def revoke_key(user_id: int, key_id: int) -> bool:
    """Revokes one of the user's own keys; False when there is no such live key."""
    result = db.session.execute(
        update(ApiKey)
        .where(ApiKey.id == key_id, ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


def _usd(micro: int) -> float:
    return float(Decimal(micro) / money.MICRO_PER_USD)


def key_report(key_id: int, *, is_free_tier: bool, rate_limit: dict) -> dict:
    """GET /key: the calling key in OpenRouter's shape — ``usage`` (USD spent with
    it), ``limit`` and ``limit_remaining`` (USD, null without a limit), and what
    the caller passes: ``is_free_tier`` and the plan's ``rate_limit``."""
    row = get_key(key_id)
    limit = row.spend_limit
    expires = expiry(row)
    return {
        "data": {
            "label": row.name or f"{row.prefix}…",
            "usage": _usd(row.spent),
            "limit": None if limit is None else _usd(limit),
            "limit_remaining": None if limit is None else _usd(max(limit - row.spent, 0)),
            "limit_reset": None,
            "is_free_tier": is_free_tier,
            "is_provisioning_key": False,
            "expires_at": expires.strftime("%Y-%m-%dT%H:%M:%SZ") if expires else None,
            "models": row.model_list or None,
            "rate_limit": rate_limit,
        }
    }
