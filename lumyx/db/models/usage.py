from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from lumyx.db import db
from lumyx.db.models._types import utcnow


class UsageRecord(db.Model):
    """One API request as it was metered: written with its charge, in one transaction."""

    __tablename__ = "usage_records"
    __table_args__ = (
        Index("ix_usage_user_created", "user_id", "created_at"),
        Index("ix_usage_user_model_created", "user_id", "model_id", "created_at"),
        # The janitor deletes rows past their retention by age (lumyx.usage.retention).
        Index("ix_usage_created", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # the request id
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"))
    model_id: Mapped[str] = mapped_column(String(200))
    provider_id: Mapped[str | None] = mapped_column(String(100))
    operation: Mapped[str] = mapped_column(String(20))
    input_tokens: Mapped[int] = mapped_column(default=0)
    output_tokens: Mapped[int] = mapped_column(default=0)
    reasoning_tokens: Mapped[int] = mapped_column(default=0)
    # The prompt's cache tokens, all counted in input_tokens too: read from the cache
    # (cached_tokens), written to a 5-minute cache, written to a 1-hour cache.
    cached_tokens: Mapped[int] = mapped_column(default=0)
    cache_write_tokens: Mapped[int] = mapped_column(default=0)
    cache_write_1h_tokens: Mapped[int] = mapped_column(default=0)
    # False when the upstream reported no usage and the tokens were counted here.
    tokens_reported: Mapped[bool] = mapped_column(default=True)
    cost: Mapped[int] = mapped_column(BigInteger, default=0)  # µcr charged
    unpaid: Mapped[int] = mapped_column(BigInteger, default=0)  # µcr the hold could not cover
    latency_ms: Mapped[int] = mapped_column(default=0)
    status_code: Mapped[int] = mapped_column(default=200)
    error_code: Mapped[str | None] = mapped_column(String(40))
    stream: Mapped[bool] = mapped_column(default=False)
    partial: Mapped[bool] = mapped_column(default=False)  # ended before the answer was complete
    thinking_used: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # What GET /generation tells besides the above: the route's upstream model and the
    # upstream's own id for its answer; the finish reason the client got and the
    # upstream's own; ms from the request to the stream's first event (None: not streamed).
    upstream_model: Mapped[str | None] = mapped_column(String(200))
    upstream_id: Mapped[str | None] = mapped_column(String(200))
    finish_reason: Mapped[str | None] = mapped_column(String(40))
    native_finish_reason: Mapped[str | None] = mapped_column(String(40))
    first_token_ms: Mapped[int | None] = mapped_column()


class Hold(db.Model):
    """Credits reserved for one in-flight request; deleting it is what settles it.

    Only in-flight requests have a row, so the table stays small and needs no
    index beyond its key: each one would cost every request more page writes."""

    __tablename__ = "holds"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # the request id
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"))
    model_id: Mapped[str] = mapped_column(String(200))
    amount: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Refreshed while the worker serving the request lives; a hold not seen for
    # a while belonged to a worker that died, and the janitor settles it.
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class FreeUsage(db.Model):
    """Requests to free models per account and local day (the daily cap)."""

    __tablename__ = "free_usage"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # YYYY-MM-DD in the account's timezone
    used: Mapped[int] = mapped_column(default=0)


class UsageHourly(db.Model):
    """Usage rolled up per account, model and UTC hour, kept in step with usage_records
    (same transaction), so the Usage API's totals never scan the raw rows."""

    __tablename__ = "usage_hourly"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    hour: Mapped[datetime] = mapped_column(primary_key=True)  # naive UTC, truncated to the hour
    model_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    requests: Mapped[int] = mapped_column(BigInteger, default=0)
    prompt_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    completion_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    cost: Mapped[int] = mapped_column(BigInteger, default=0)  # µcr
    latency_ms: Mapped[int] = mapped_column(BigInteger, default=0)  # summed, for the average


class RateCounter(db.Model):
    """A rate-limit counter (when no Redis is configured): one fixed window per key."""

    __tablename__ = "rate_counters"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    count: Mapped[int] = mapped_column(default=0)
    expires_at: Mapped[float] = mapped_column()  # epoch seconds


class RoutingState(db.Model):
    """Routing state shared by the workers (when no Redis is configured and the
    database is not SQLite): a route's circuit breaker, or the route a
    conversation last used (lumyx.routing.store)."""

    __tablename__ = "routing_state"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(String(200), default="")
    expires_at: Mapped[float] = mapped_column()  # epoch seconds
