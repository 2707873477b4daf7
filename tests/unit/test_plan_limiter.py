"""The API's plan limits: counted per key, shortest window first, with the
headers a client reads, and counted in memory while the shared store is down."""

from __future__ import annotations

import logging
import time

import pytest

from lumyx.limits import plans as rate_limits
from lumyx.limits.plans import PlanLimiter
from lumyx.limits.storage import MemoryCounters


@pytest.fixture
def limiter(monkeypatch):
    monkeypatch.setitem(rate_limits.DEFAULT_LIMITS, "pro", "2/minute;3/day")
    limiter = PlanLimiter("memory://", {}, "test")
    limiter.shared = MemoryCounters()
    return limiter


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

    def incr_in_turn(self, counters):
        if not self.up:
            raise ConnectionError("store down")
        return [(1, 0.0)]

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


def _stores(tmp_path):
    """Each shared counter store, fresh."""
    import uuid

    import redis

    from lumyx.db import Base
    from lumyx.limits.storage import DatabaseStorage, HostCounters, RedisCounters

    database = DatabaseStorage(database_url=f"sqlite:///{tmp_path / 'counters.db'}")
    Base.metadata.tables["rate_counters"].create(database.engine)
    stores = {"host file": HostCounters(path=str(tmp_path / "counters")), "database": database}
    try:
        redis.Redis(socket_connect_timeout=0.5).ping()
        stores["redis"] = RedisCounters("lumyx-redis://127.0.0.1:6379/0", key_prefix="test-" + uuid.uuid4().hex)
    except redis.RedisError:
        pass  # the PostgreSQL + Redis run of the suite has it
    return stores


@pytest.mark.parametrize("kind", ["host file", "database", "redis"])
def test_each_store_counts_in_turn_up_to_the_first_exceeded(kind, tmp_path):
    stores = _stores(tmp_path)
    if kind not in stores:
        pytest.skip("no Redis on 127.0.0.1:6379")
    store = stores[kind]
    counters = [("k/minute", 60, 2), ("k/day", 86400, 5)]
    answers = [store.incr_in_turn(counters) for _ in range(3)]
    assert [[count for count, _ in answer] for answer in answers] == [[1, 1], [2, 2], [3]]
    now = time.time()
    assert now + 55 < answers[0][0][1] <= now + 60 and now + 86000 < answers[0][1][1] <= now + 86400
    assert store.get("k/day") == 2 and store.get("k/minute") == 3
