"""The routing state stores (memory, the host's file, the database, Redis) and the
breakers' and measurements' arithmetic, without a server."""

from __future__ import annotations

import multiprocessing
import os
import time
import uuid

import pytest
from sqlalchemy import create_engine

from lumyx.catalog.snapshot import ProviderInfo, Route
from lumyx.db.models import RoutingState
from lumyx.routing import breakers, measurements, store
from lumyx.routing.breakers import CLOSED, Breaker, _failed, cooldown
from lumyx.routing.host_store import HostStore

ROUTE = Route(ProviderInfo("p", "openai", "http://upstream.invalid", None, 5), "m")


def _stores(tmp_path):
    yield "memory", store.MemoryStore()
    yield "host", HostStore(str(tmp_path / "routing"))
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        url = f"sqlite:///{tmp_path / 'state.db'}"
    engine = create_engine(url)
    RoutingState.__table__.create(engine, checkfirst=True)
    engine.dispose()
    yield "database", store.DatabaseStore(url, {}, f"t-{uuid.uuid4().hex[:8]}:")
    if os.environ.get("REDIS_URL"):
        yield "redis", store.RedisStore(os.environ["REDIS_URL"], f"t-{uuid.uuid4().hex[:8]}:")


@pytest.fixture(params=["memory", "host", "database", "redis"])
def shared(request, tmp_path):
    found = dict(_stores(tmp_path))
    if request.param not in found:
        pytest.skip("REDIS_URL is not set")
    chosen = found[request.param]
    yield chosen
    chosen.clear()


def test_a_store_reads_many_keys_at_once_and_changes_one_atomically(shared):
    shared.put("x", "1", 60)
    assert shared.get_many(["x", "nothing"]) == ["1", None]
    assert shared.update("x", lambda old: (str(int(old) + 1), 60)) == "2"
    assert shared.update("y", lambda old: ("new" if old is None else "seen", 60)) == "new"
    assert shared.update("x", lambda _old: (None, 0)) is None
    assert shared.get_many(["x", "y"]) == [None, "new"]
    shared.put("short", "v", 0.001)
    time.sleep(0.01)
    assert shared.get_many(["short"]) == [None]


def _claim(kind: str, where: str, prefix: str, results) -> None:
    chosen = (
        HostStore(where)
        if kind == "host"
        else store.RedisStore(where, prefix)
        if kind == "redis"
        else store.DatabaseStore(where, {}, prefix)
    )
    claimed = []
    chosen.update("probe", lambda old: (old, 60) if old else (str(os.getpid()), 60))
    claimed.append(chosen.get_many(["probe"])[0])
    results.put(claimed[0])


@pytest.mark.parametrize("kind", ["host", "database", "redis"])
def test_one_of_many_processes_takes_a_probe(kind, tmp_path):
    """What only one may do (a half-open route's probe) is taken by one process."""
    if kind == "redis" and not os.environ.get("REDIS_URL"):
        pytest.skip("REDIS_URL is not set")
    prefix = f"t-{uuid.uuid4().hex[:8]}:"
    where = {
        "host": str(tmp_path / "routing"),
        "redis": os.environ.get("REDIS_URL", ""),
        "database": os.environ.get("DATABASE_URL", "")
        if os.environ.get("DATABASE_URL", "").startswith("postgres")
        else f"sqlite:///{tmp_path / 'state.db'}",
    }[kind]
    if kind == "database":
        engine = create_engine(where)
        RoutingState.__table__.create(engine, checkfirst=True)
        engine.dispose()
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    workers = [context.Process(target=_claim, args=(kind, where, prefix, results)) for _ in range(6)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    seen = {results.get(timeout=5) for _ in workers}
    assert len(seen) == 1 and seen.pop() in {str(w.pid) for w in workers}


def test_five_failures_open_a_breaker_and_each_failed_probe_doubles_the_cool_down():
    breaker, now = CLOSED, 1000.0
    for _ in range(4):
        breaker = _failed(breaker, now)
        assert breaker.state(now) == "closed"
    breaker = _failed(breaker, now)
    assert breaker.state(now) == "open" and breaker.open_until == now + 30
    assert _failed(breaker, now + 1).open_until == now + 30, "tried while open: no longer for it"
    assert breaker.state(now + 30) == "half_open"
    probe_failed = _failed(breaker, now + 31)
    assert probe_failed.state(now + 31) == "open" and probe_failed.open_until == now + 31 + 60
    assert [cooldown(trips) for trips in (1, 2, 3, 4, 5, 6, 7)] == [30, 60, 120, 240, 480, 600, 600]
    assert Breaker.decode(probe_failed.encode()) == probe_failed
    assert Breaker.decode("garbage") is CLOSED


def test_a_half_open_route_is_probed_by_one_caller_and_closed_by_its_success(monkeypatch):
    monkeypatch.setattr(store, "shared", store.Guarded(store.MemoryStore()))
    monkeypatch.setattr(breakers, "settings", breakers.Settings(failures=2, cooldown_s=0.001))
    breakers.board.seen.clear()
    breakers.failed(ROUTE)
    breakers.failed(ROUTE)
    time.sleep(0.01)
    assert breakers.state(ROUTE) == "half_open"
    assert [breakers.allow(ROUTE) for _ in range(3)] == [True, False, False]
    breakers.succeeded(ROUTE)
    assert breakers.state(ROUTE) == "closed" and breakers.allow(ROUTE)


def test_a_probe_claimed_in_an_attempt_that_lost_the_race_is_not_taken(monkeypatch):
    class Raced(store.MemoryStore):
        """Runs a change twice, as Redis does when another worker changed the key between
        WATCH and MULTI: the first attempt is thrown away, the other worker having taken
        the probe meanwhile."""

        def update(self, key, change):
            old = self.get_many([key])[0]
            change(old)
            breaker = Breaker.decode(old)
            self.put(key, Breaker(breaker.failures, breaker.trips, breaker.open_until, time.time() + 60).encode(), 60)
            return super().update(key, change)

    monkeypatch.setattr(store, "shared", Raced())
    breakers.board.seen.clear()
    half_open = Breaker(failures=5, trips=1, open_until=time.time() - 1, probe_until=0.0)
    store.shared.put(breakers.store_key(ROUTE), half_open.encode(), 60)
    assert breakers.state(ROUTE) == "half_open"
    assert breakers.allow(ROUTE) is False, "the other worker has the probe"


def test_a_store_that_fails_reads_as_empty_and_never_raises():
    class Down:
        def get_many(self, keys):
            raise ConnectionError("down")

        update = put = get_many

    guarded = store.Guarded(Down())
    assert guarded.get_many(["a", "b"]) == [None, None]
    assert guarded.update("a", lambda old: ("x", 1)) is None
    guarded.put("a", "x", 1)


def test_measurements_average_over_the_window():
    kept = measurements.Measurements()
    kept.record(ROUTE, True, 0.2, 0.1)
    kept.record(ROUTE, True, 0.4)
    kept.record(ROUTE, False, 5.0)
    kept.output(ROUTE, 300, 3.0)
    stats = kept.stats(ROUTE)
    assert (stats.requests, stats.errors) == (3, 1)
    assert stats.latency_s == pytest.approx(0.3) and stats.ttft_s == pytest.approx(0.1)
    assert stats.tokens_per_s == pytest.approx(100) and stats.error_rate == pytest.approx(1 / 3)
    assert kept.all_stats() == {"p/m": stats}


def test_a_model_with_one_route_reads_its_breaker_once_a_second_and_still_closes_it(monkeypatch):
    from types import SimpleNamespace

    from lumyx.routing import plan

    class Counting(store.MemoryStore):
        reads = 0

        def get_many(self, keys):
            Counting.reads += 1
            return super().get_many(keys)

    shared = Counting()
    monkeypatch.setattr(store, "shared", store.Guarded(shared))
    monkeypatch.setattr(breakers, "settings", breakers.Settings(failures=2, cooldown_s=30))
    breakers.board.seen.clear()
    breakers.board.read_at.clear()
    model = SimpleNamespace(routes=(ROUTE,), routing="fallback")
    call = SimpleNamespace(preferences=None)
    assert [plan.plan(call, model).routes for _ in range(50)] == [[ROUTE]] * 50
    assert Counting.reads == 1, "one read, then the breaker as read within the second"
    other_worker = breakers.Board()
    other_worker.failed(ROUTE)
    other_worker.failed(ROUTE)
    assert breakers.state(ROUTE) == "open"
    assert plan.plan(call, model).routes == [ROUTE], "its only route is tried, open or not"
    real, reads = time.monotonic, Counting.reads
    monkeypatch.setattr(time, "monotonic", lambda: real() + plan.ONE_ROUTE_READ_S)
    assert plan.plan(call, model).routes == [ROUTE] and Counting.reads == reads + 1, "a second later: read again"
    breakers.succeeded(ROUTE)
    assert breakers.state(ROUTE) == "closed", "seen open when read again, closed by this worker's success"
