"""routing: balance spreads a model's requests over its routes by weight; a route of
weight 0 serves only as a fallback. Billing names the route that served."""

from __future__ import annotations

import math
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.support.routing_cluster import COOLDOWN_S, RoutingCluster, assert_billed_exactly

N = 1000


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    cluster = RoutingCluster(tmp_path_factory.mktemp("routing-balance"))
    yield cluster
    cluster.stop()


def within_five_sigma(count: int, n: int, p: float) -> bool:
    """A binomial count this far from its mean happens less than once in a million runs."""
    return abs(count - n * p) <= 5 * math.sqrt(n * p * (1 - p))


def test_requests_spread_by_weight_over_a_thousand_requests(cluster):
    def send(i: int) -> tuple[str, str]:
        with requests.Session() as session:  # a conversation of its own each time
            response = cluster.chat("balanced", f"question number {i}", session=session)
        assert response.status_code == 200, response.text
        return response.headers["x-request-id"], response.json()["model"]

    with ThreadPoolExecutor(8) as pool:
        sent = list(pool.map(send, range(N)))
    assert {model for _rid, model in sent} == {"balanced"}
    rows = cluster.usage([rid for rid, _model in sent])
    assert len(rows) == N
    served = Counter(row[2] for row in rows.values())
    assert served["bal-c"] == 0, "weight 0: only a fallback"
    assert served["bal-a"] + served["bal-b"] == N
    assert within_five_sigma(served["bal-a"], N, 1 / 4), served
    assert within_five_sigma(served["bal-b"], N, 3 / 4), served
    assert_billed_exactly(rows, "balanced")


def test_a_failing_balanced_route_gives_way_to_the_others(cluster):
    start = time.time()
    cluster.upstreams["b"].fail_every_request("status-503")
    try:
        responses = [cluster.chat("balanced", f"while B is down {i}") for i in range(20)]
    finally:
        cluster.upstreams["b"].fail_every_request(None)
    assert [r.status_code for r in responses] == [200] * 20
    rows = cluster.usage([r.headers["x-request-id"] for r in responses])
    assert {row[2] for row in rows.values()} <= {"bal-a", "bal-c"}
    assert_billed_exactly(rows, "balanced")
    # B is asked until its breaker opens, then left alone for the cool-down
    asked = cluster.asked("b", "bal-b", since=start)
    assert len(asked) >= 5
    assert not [r for r in asked[5:] if r["time"] < asked[4]["time"] + COOLDOWN_S]
