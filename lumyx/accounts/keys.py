"""API keys: minted with 256 random bits, stored as a SHA-256, shown once;
listed and revoked by their owner, touched when used.

A key reads ``lx-<secret>``; ``nova_<secret>`` names the same key, so
snippets with either prefix work. Authentication is cached per worker for a
few seconds so the hot path does not query the database for every request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import select, update

from lumyx.db import db
from lumyx.db.models import ApiKey, User
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


def _secret(raw: str) -> str:
    for prefix in ACCEPTED_PREFIXES:
        if raw.startswith(prefix):
            return raw[len(prefix) :]
    return raw


def hash_key(raw: str) -> str:
    return hashlib.sha256(_secret(raw.strip()).encode()).hexdigest()


def create_key(user: User, name: str = "") -> tuple[ApiKey, str]:
    """A new key for ``user``; returns the row and the full key (never stored)."""
    name = (name or "").strip()[:100]
    full = PREFIX + secrets.token_urlsafe(SECRET_BYTES)
    row = ApiKey(user_id=user.id, name=name, prefix=full[:DISPLAY_CHARS], key_hash=hash_key(full))
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
        select(ApiKey.id, ApiKey.key_hash, User.id, User.plan, User.timezone)
        .join(User, User.id == ApiKey.user_id)
        .where(ApiKey.key_hash == digest, ApiKey.revoked_at.is_(None))
    ).first()
    db.session.rollback()
    if row is None or not hmac.compare_digest(row[1], digest):
        return None
    return KeyContext(key_id=row[0], user_id=row[2], plan=row[3], timezone=row[4])


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
