"""Circuit breakers: after 5 consecutive failures a route is skipped for the
cool-down, then one request probes it; success closes it, failure opens it again
for twice as long. Shared by every worker."""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.support.routing_cluster import COOLDOWN_S, RoutingCluster, assert_billed_exactly


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    cluster = RoutingCluster(tmp_path_factory.mktemp("routing-breakers"))
    yield cluster
    cluster.stop()


def served_by(cluster, responses) -> list[str]:
    assert [r.status_code for r in responses] == [200] * len(responses), [r.text for r in responses]
    rows = cluster.usage([r.headers["x-request-id"] for r in responses])
    assert_billed_exactly(rows, responses[0].json()["model"])
    return [rows[r.headers["x-request-id"]][2] for r in responses]


def wait_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.time()))


def concurrently(cluster, model: str, count: int) -> list:
    def one(i: int):
        with requests.Session() as session:
            return cluster.chat(model, f"at once {i}", session=session)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))


def test_a_failing_route_is_skipped_probed_once_reopened_for_longer_and_closed_on_success(cluster):
    start = time.time()
    cluster.upstreams["b"].fail_every_request("status-503")
    try:
        assert served_by(cluster, [cluster.chat("guarded", f"first {i}") for i in range(5)]) == ["guarded-c"] * 5
        failures = cluster.asked("b", "guarded-b", since=start)
        assert len(failures) == 5
        opened = failures[-1]["time"]

        # open: no sixth request to B inside the cool-down, and no request waits for it
        during = [cluster.chat("guarded", f"while open {i}") for i in range(10)]
        assert time.time() < opened + COOLDOWN_S, "the requests were meant to fall inside the cool-down"
        assert served_by(cluster, during) == ["guarded-c"] * 10
        assert cluster.asked("b", "guarded-b", since=opened) == []

        # half-open: of eight requests at once, one probes B (and, B still failing, C serves it)
        wait_until(opened + COOLDOWN_S + 0.2)
        assert served_by(cluster, concurrently(cluster, "guarded", 8)) == ["guarded-c"] * 8
        probes = cluster.asked("b", "guarded-b", since=opened)
        assert len(probes) == 1
        reopened = probes[0]["time"]

        # the failed probe opened it again for twice the cool-down
        wait_until(reopened + COOLDOWN_S + 0.5)
        assert served_by(cluster, [cluster.chat("guarded", f"reopened {i}") for i in range(3)]) == ["guarded-c"] * 3
        assert cluster.asked("b", "guarded-b", since=reopened) == []
    finally:
        cluster.upstreams["b"].fail_every_request(None)

    # B recovered: the next probe succeeds and closes the breaker, B serves again
    wait_until(reopened + 2 * COOLDOWN_S + 0.2)
    assert served_by(cluster, [cluster.chat("guarded", f"recovered {i}") for i in range(4)]) == ["guarded-b"] * 4


def test_when_every_route_is_open_the_last_one_is_still_tried(cluster):
    start = time.time()
    for i in range(5):
        assert cluster.chat("all-down", f"down {i}").status_code == 502
    assert len(cluster.asked("a", "fake-status-503", since=start)) == 5
    assert len(cluster.asked("b", "fake-status-502", since=start)) == 5
    both_open = time.time()
    response = cluster.chat("all-down", "anyone?")
    assert response.status_code == 502 and response.json()["error"]["type"] == "upstream_error"
    assert cluster.asked("a", "fake-status-503", since=both_open) == []
    assert len(cluster.asked("b", "fake-status-502", since=both_open)) == 1


def _pids(log: str, pattern: str) -> set[str]:
    return set(re.findall(r"\[(\d+)\] [^\n]*" + pattern, log))


def test_the_breaker_is_shared_by_every_worker(cluster):
    start = time.time()
    cluster.upstreams["b"].fail_every_request("status-503")
    try:
        # five failures at once, on connections of their own (spread over the workers)
        assert served_by(cluster, concurrently(cluster, "shared-guard", 5)) == ["shared-c"] * 5
        failures = cluster.asked("b", "shared-b", since=start)
        assert len(failures) == 5
        opened = failures[-1]["time"]
        # every worker now skips B: requests on new connections until both workers served some
        while time.time() < opened + COOLDOWN_S - 1:
            assert served_by(cluster, concurrently(cluster, "shared-guard", 4)) == ["shared-c"] * 4
            if len(_pids(cluster.server.logs(), r"shared-guard via up-c/shared-c")) >= 2:
                break
        assert len(_pids(cluster.server.logs(), r"shared-guard via up-c/shared-c")) >= 2
        assert not [r for r in cluster.asked("b", "shared-b", since=opened) if r["time"] < opened + COOLDOWN_S]
    finally:
        cluster.upstreams["b"].fail_every_request(None)
