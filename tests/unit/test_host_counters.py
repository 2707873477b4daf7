"""Rate-limit counters shared through a file by the workers of one host (SQLite deployments)."""

from __future__ import annotations

import multiprocessing
import time

from lumyx.limits.storage import HostCounters


def test_two_workers_share_one_count_and_its_window(tmp_path):
    path = str(tmp_path / "lumyx.db-ratelimits")
    one, two = HostCounters(path=path), HostCounters(path=path)
    assert [one.incr("key:1/minute", 60) for _ in range(3)] == [1, 2, 3]
    assert two.incr("key:1/minute", 60) == 4
    third = HostCounters(path=path)
    assert third.get("key:1/minute") == 4 and third.get("key:2/minute") == 0
    assert time.time() + 55 < third.get_expiry("key:1/minute") <= time.time() + 60
    two.clear("key:1/minute")
    assert HostCounters(path=path).get("key:1/minute") == 0


def test_a_window_that_ended_starts_again(tmp_path):
    counters = HostCounters(path=str(tmp_path / "c"))
    assert counters.incr("k", 1) == 1 and counters.incr("k", 1) == 2
    time.sleep(1.05)
    assert counters.incr("k", 1) == 1


def test_keys_that_share_slots_keep_their_own_counts(tmp_path):
    counters = HostCounters(path=str(tmp_path / "c"))
    counters.table.slots = counters.table.PROBES = 8  # every key probes the same few slots
    keys = [f"key:{i}" for i in range(6)]
    for n, key in enumerate(keys, start=1):
        for _ in range(n):
            counters.incr(key, 60)
    counters.clear("key:2")
    fresh = HostCounters(path=str(tmp_path / "c"))
    fresh.table.slots = fresh.table.PROBES = 8
    assert [fresh.get(key) for key in keys] == [1, 2, 0, 4, 5, 6]


def _hammer(counters: HostCounters, n: int) -> None:
    for _ in range(n):
        counters.incr("shared", 60)


def test_concurrent_processes_lose_no_increment(tmp_path):
    """Also when the counters were opened before the processes forked."""
    path = str(tmp_path / "c")
    inherited = HostCounters(path=path)
    fork = multiprocessing.get_context("fork")
    processes = [
        fork.Process(target=_hammer, args=(inherited if i % 2 else HostCounters(path=path), 2000)) for i in range(4)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(30)
    assert HostCounters(path=path).get("shared") == 8000
