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
    first, second, third = (limiter.count(7, "pro").verdict() for _ in range(3))
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
    assert not limiter.count(8, "pro").verdict().exceeded, "another key has its own counters"


def test_unlimited_plans_are_not_counted(limiter):
    assert limiter.count(7, "enterprise") is None


class _Failing:
    """A store that is down (``up`` False): when the count is sent, or (``fails_late``)
    when its answer is read, as Redis's may be."""

    def __init__(self, fails_late: bool = False):
        self.up, self.fails_late = False, fails_late

    def send_in_turn(self, counters):
        if not self.up and not self.fails_late:
            raise ConnectionError("store down")

        def receive():
            if not self.up:
                raise ConnectionError("store down")
            return [(1, 0.0)]

        return receive

    def check(self):
        return self.up


@pytest.mark.parametrize("fails_late", [False, True], ids=["sending", "reading"])
def test_a_store_that_fails_falls_back_to_memory_and_comes_back(limiter, monkeypatch, caplog, fails_late):
    store = limiter.shared = _Failing(fails_late)
    clock = [1000.0]
    monkeypatch.setattr(rate_limits.time, "monotonic", lambda: clock[0])
    with caplog.at_level(logging.INFO, logger="lumyx.rate_limits"):
        assert not limiter.count(7, "pro").verdict().exceeded
        assert "falling back to in-memory storage" in caplog.text
        assert not limiter.count(7, "pro").verdict().exceeded
        assert limiter.count(7, "pro").verdict().exceeded, "memory keeps counting meanwhile"
        store.up = True
        clock[0] += 1.5
        assert not limiter.count(7, "pro").verdict().exceeded
        assert "Rate limit storage recovered" in caplog.text


def _stores(tmp_path):
    """Each shared counter store, fresh."""
    from lumyx.db import Base
    from lumyx.limits.storage import DatabaseStorage, HostCounters

    database = DatabaseStorage(database_url=f"sqlite:///{tmp_path / 'counters.db'}")
    Base.metadata.tables["rate_counters"].create(database.engine)
    stores = {"host file": HostCounters(path=str(tmp_path / "counters")), "database": database}
    redis_store = _redis_store()
    if redis_store is not None:  # the PostgreSQL + Redis run of the suite has it
        stores["redis"] = redis_store
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


def _redis_store(script_comment: str = ""):
    """Counters in the Redis on 127.0.0.1:6379 under a prefix of their own (their script
    with ``script_comment`` added); None when no Redis answers there."""
    import uuid

    import redis

    from lumyx.limits.storage import RedisCounters

    try:
        redis.Redis(socket_connect_timeout=0.5).ping()
    except redis.RedisError:
        return None

    class Counters(RedisCounters):
        IN_TURN = RedisCounters.IN_TURN + script_comment

    return Counters("lumyx-redis://127.0.0.1:6379/0", key_prefix="test-" + uuid.uuid4().hex)


def test_redis_counts_while_the_request_goes_on_and_its_answer_is_read_later():
    store = _redis_store() or pytest.skip("no Redis on 127.0.0.1:6379")
    client = store.get_connection()
    counters = [("k/minute", 60, 2), ("k/day", 86400, 5)]
    receive = store.send_in_turn(counters)
    # Sent at once: Redis counts whether or not the answer has been read yet.
    deadline = time.monotonic() + 2
    while client.get(store.prefixed_key("k/day")) != b"1" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert client.get(store.prefixed_key("k/day")) == b"1"
    assert client.connection_pool._in_use_connections, "the connection waits for its answer to be read"
    assert [count for count, _ in receive()] == [1, 1]
    assert not client.connection_pool._in_use_connections, "read, the connection is back in the pool"
    assert [count for count, _ in store.incr_in_turn(counters)] == [2, 2]


def test_redis_without_the_script_loads_it_and_counts_once():
    import uuid

    # A script Redis has never seen, as after a restart of Redis (which keeps no scripts).
    store = _redis_store(f"-- {uuid.uuid4().hex}\n") or pytest.skip("no Redis on 127.0.0.1:6379")
    client = store.get_connection()
    assert client.script_exists(store._in_turn.sha) == [False]
    assert [count for count, _ in store.send_in_turn([("k/minute", 60, 5)])()] == [1]
    assert client.get(store.prefixed_key("k/minute")) == b"1"
    assert client.script_exists(store._in_turn.sha) == [True]
    assert not client.connection_pool._in_use_connections
