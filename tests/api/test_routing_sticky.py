"""Cache-sticky routing: a conversation stays on the route that served it while two
routes are balanced, and moves (for good) when that route fails."""

from __future__ import annotations

import pytest
import requests

from tests.support.routing_cluster import RoutingCluster, assert_billed_exactly


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    cluster = RoutingCluster(tmp_path_factory.mktemp("routing-sticky"))
    yield cluster
    cluster.stop()


def routes_of(cluster, responses, model: str) -> list[str]:
    assert [r.status_code for r in responses] == [200] * len(responses), [r.text for r in responses]
    rows = cluster.usage([r.headers["x-request-id"] for r in responses])
    assert_billed_exactly(rows, model)
    return [rows[r.headers["x-request-id"]][2] for r in responses]


def test_a_conversation_stays_on_its_route_and_moves_when_it_fails(cluster):
    def turn(i: int):
        return cluster.chat("sticky", f"turn {i}", user="conversation-1")

    first = routes_of(cluster, [turn(i) for i in range(12)], "sticky")
    assert len(set(first)) == 1, first  # balanced 1:1, yet every turn on one route
    home = first[0]
    other = "sticky-b" if home == "sticky-a" else "sticky-a"
    cluster.upstreams[home[-1]].fail_every_request("status-503")
    try:
        moved = routes_of(cluster, [turn(i) for i in range(12, 16)], "sticky")
    finally:
        cluster.upstreams[home[-1]].fail_every_request(None)
    assert moved == [other] * 4
    # its old route answers again, but the conversation's cache is warm on the new one now
    assert routes_of(cluster, [turn(i) for i in range(16, 22)], "sticky") == [other] * 6


def test_other_conversations_are_still_balanced(cluster):
    served = routes_of(cluster, [cluster.chat("sticky", "hello", user=f"someone-{i}") for i in range(24)], "sticky")
    assert set(served) == {"sticky-a", "sticky-b"}


def test_claude_codes_session_header_names_the_conversation(cluster):
    def turn(i: int, session_id: str):
        return requests.post(
            cluster.url + "/v1/messages",
            headers={"x-api-key": cluster.key, "x-claude-code-session-id": session_id},
            json={"model": "sticky-claude", "max_tokens": 50, "messages": [{"role": "user", "content": f"turn {i}"}]},
            timeout=30,
        )

    for session_id in ("session-1", "session-2"):
        served = routes_of(cluster, [turn(i, session_id) for i in range(10)], "sticky-claude")
        assert len(set(served)) == 1, served
