"""The API's plan limits: counted per key, shortest window first, with the
headers a client reads, and counted in memory while the shared store is down."""
from __future__ import annotations

import logging

import pytest

from lumyx.services import rate_limits
from lumyx.services.rate_limits import PlanLimiter


@pytest.fixture
def limiter(monkeypatch):
    monkeypatch.setitem(rate_limits.PLAN_LIMITS, "pro", "2/minute;3/day")
    return PlanLimiter("memory://", {}, "test")


def test_counts_per_key_and_stops_at_the_first_limit_exceeded(limiter):
    first, second, third = (limiter.hit(7, "pro") for _ in range(3))
    assert (first.remaining, second.remaining, third.remaining) == (1, 0, 0)
    assert not first.exceeded and not second.exceeded and third.exceeded
    assert str(third.limit) == "2 per 1 minute"
    headers = third.headers()
    assert headers["X-RateLimit-Limit"] == "2" and headers["X-RateLimit-Remaining"] == "0"
    assert 1 <= int(headers["Retry-After"]) <= 60
    assert "Retry-After" not in first.headers()
    # The refused request did not count for the day: two of three used.
    day = rate_limits.parse_many("3/day")[0]
    assert limiter.shared.get(day.key_for("test", "key:7")) == 2
    assert not limiter.hit(8, "pro").exceeded, "another key has its own counters"


def test_unlimited_plans_are_not_counted(limiter):
    assert limiter.hit(7, "enterprise") is None


class _Failing:
    def __init__(self):
        self.up = False

    def incr(self, *args, **kwargs):
        if not self.up:
            raise ConnectionError("store down")
        return 1

    def get_expiry(self, key):
        return 0.0

    def check(self):
        return self.up


def test_a_store_that_fails_falls_back_to_memory_and_comes_back(limiter, monkeypatch, caplog):
    store = limiter.shared = _Failing()
    clock = [1000.0]
    monkeypatch.setattr(rate_limits.time, "monotonic", lambda: clock[0])
    with caplog.at_level(logging.INFO, logger="lumyx.rate_limits"):
        assert not limiter.hit(7, "pro").exceeded
        assert "falling back to in-memory storage" in caplog.text
        assert not limiter.hit(7, "pro").exceeded
        assert limiter.hit(7, "pro").exceeded, "memory keeps counting meanwhile"
        store.up = True
        clock[0] += 1.5
        assert not limiter.hit(7, "pro").exceeded
        assert "Rate limit storage recovered" in caplog.text
