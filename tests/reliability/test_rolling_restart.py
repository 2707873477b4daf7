"""Rolling restarts with no failed request: two instances (two gunicorn masters,
two workers each) behind a real haproxy that checks /v1/health/ready, under a
steady load of 8 clients. Each instance in turn gets SIGTERM — its readiness
turns 503, haproxy takes it out, it serves on through LUMYX_DRAIN_S and stops —
and is started again; then one gets SIGHUP (its workers replaced in place). Not
one request fails, and every one is settled: a usage row each, the ledger equal
to the balance, no hold left. Runs on both databases (two instances on one
SQLite file are one machine's)."""

from __future__ import annotations

import signal
import threading
import time

import pytest
import requests

from tests.conftest import _new_account
from tests.support.balancer import SteadyLoad, settled_books, two_instances
from tests.support.servers import LiveServer

DRAIN_S = 3


@pytest.fixture(scope="module")
def cluster(app, server_env, tmp_path_factory):
    logs = tmp_path_factory.mktemp("rolling")
    env = {**server_env, "LUMYX_DRAIN_S": str(DRAIN_S)}
    with two_instances(env, logs) as (proxy, instances):
        yield proxy, instances, env, logs


@pytest.fixture
def payer(app):
    user_id, _email, key = _new_account(app, "rolling", 1000, "rolling")
    return user_id, key


def chat(url: str, key: str, stream: bool, session=None) -> tuple[int, str | None]:
    """One priced chat completion, read to its end: (status, request id); a stream
    cut short counts as a failure (status 0)."""
    response = (session or requests).post(
        url + "/v1/chat/completions",
        headers={"Authorization": f"Bearer {key}"},
        json={
            "model": "gpt-5.2",
            "max_tokens": 50,
            "stream": stream,
            "messages": [{"role": "user", "content": "hello [[scenario:slow:150]]"}],
        },
        timeout=30,
    )
    status = response.status_code
    if status == 200 and stream and not response.text.rstrip().endswith("data: [DONE]"):
        status = 0
    return status, response.headers.get("x-request-id")


def wait_for_status(url: str, status: int, seconds: float = 3) -> requests.Response:
    deadline = time.monotonic() + seconds
    while True:
        response = requests.get(url, timeout=2)
        if response.status_code == status or time.monotonic() > deadline:
            assert response.status_code == status
            return response
        time.sleep(0.02)


def test_each_instance_restarted_in_turn_under_load_fails_no_request(app, cluster, payer):
    proxy, instances, env, logs = cluster
    user_id, key = payer
    before = settled_books(app, user_id)["balance"]
    sessions = threading.local()
    turn = iter(range(10**9))

    def send():
        if not hasattr(sessions, "session"):
            sessions.session = requests.Session()  # keep-alive to haproxy
        return chat(proxy.url, key, stream=next(turn) % 2 == 1, session=sessions.session)

    load = SteadyLoad(send, clients=8)
    try:
        time.sleep(1)
        for name in ("one", "two"):
            old = instances[name]
            started = time.monotonic()
            old.proc.send_signal(signal.SIGTERM)
            # Its readiness turns 503 first.
            ready = wait_for_status(old.url + "/v1/health/ready", 503)
            assert ready.json() == {"status": "not_ready", "reason": "draining"}
            # It still serves whoever reaches it (its answers close the connection) …
            direct = requests.post(
                old.url + "/v1/chat/completions",
                headers={"Authorization": f"Bearer {key}"},
                json={"model": "gpt-5.2", "max_tokens": 5, "messages": [{"role": "user", "content": "still there?"}]},
                timeout=10,
            )
            assert direct.status_code == 200 and direct.headers.get("Connection") == "close"
            # … until haproxy has taken it out.
            proxy.wait_until(lambda states, name=name: states[name].startswith("DOWN"), f"{name} down", seconds=5)
            assert old.proc.wait(timeout=30) == 0
            stopped_after = time.monotonic() - started
            assert stopped_after >= DRAIN_S, "it served on for LUMYX_DRAIN_S"
            old._log.close()
            instances[name] = LiveServer(env, logs / f"{name}.log", workers=2, port=old.port)
            proxy.wait_until(lambda states, name=name: states[name] == "UP", f"{name} up again")
            time.sleep(0.5)

        # SIGHUP: the master replaces its workers in place; the old ones drain.
        reloaded = instances["one"]
        old_workers = set(reloaded.worker_pids())
        reloaded.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 20
        while set(reloaded.worker_pids()) & old_workers and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not set(reloaded.worker_pids()) & old_workers, "the old workers stopped"
        assert len(reloaded.worker_pids()) == 2
        proxy.wait_until(lambda states: all(s == "UP" for s in states.values()), "both up")
        time.sleep(1)
    finally:
        results = load.stop()

    statuses = [status for status, _ in results]
    failed = [status for status in statuses if status != 200]
    assert len(statuses) > 100, "the load ran the whole time"
    assert failed == [], f"{len(failed)} of {len(statuses)} requests failed: {sorted(set(map(str, failed)))}"

    books = settled_books(app, user_id)
    assert books["holds"] == 0 and books["held"] == 0
    served = {request_id for _, request_id in results}
    assert len(books["usage"]) == len(served) + 2, "one usage row per request (and the two sent directly)"
    assert served <= set(books["usage"])
    assert all(row.status_code == 200 and row.cost > 0 for row in books["usage"].values())
    charged = sum(row.cost for row in books["usage"].values())
    assert books["balance"] == before - charged
    assert books["ledger"] == books["balance"]
