"""Rate limits per API key by plan, shared by every worker, with the documented
headers and 429 bodies; Redis going away does not stop the service."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis as redis_lib
import requests

from tests.support.servers import LiveServer, free_port

CHAT = {"model": "lumyx-local", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def key_on(app):
    """key_on(plan) -> a fresh account's API key on that plan."""
    from lumyx.accounts import keys
    from lumyx.accounts import users as accounts

    def make(plan: str) -> str:
        with app.app_context():
            user = accounts.create_user(f"rl-{uuid.uuid4().hex[:10]}@example.com", "correct horse battery", plan=plan)
            return keys.create_key(user)[1]

    return make


def fresh_post(url: str, key: str, path: str = "/v1/chat/completions", body: dict = CHAT) -> requests.Response:
    # A new connection per request, so requests spread over the server's workers.
    return requests.post(
        url + path, json=body, timeout=30, headers={"Authorization": f"Bearer {key}", "Connection": "close"}
    )


def test_free_plan_ten_a_minute_with_headers(live, key_on):
    key = key_on("free")
    remaining = []
    for _ in range(10):
        response = fresh_post(live.url, key)
        assert response.status_code == 200
        assert response.headers["X-RateLimit-Limit"] == "10"
        remaining.append(int(response.headers["X-RateLimit-Remaining"]))
        reset = int(response.headers["X-RateLimit-Reset"])
        assert time.time() - 1 <= reset <= time.time() + 61
    assert remaining == list(range(9, -1, -1))
    over = fresh_post(live.url, key)
    assert over.status_code == 429
    body = over.json()["error"]
    assert body["type"] == "rate_limit_exceeded" and body["code"] == 429 and "10 per 1 minute" in body["message"]
    assert 1 <= int(over.headers["Retry-After"]) <= 61
    assert f"try again in {over.headers['Retry-After']}s" in body["message"]  # Codex CLI reads the wait from it
    assert over.headers["X-RateLimit-Remaining"] == "0"
    anthropic = fresh_post(live.url, key, "/v1/messages", {**CHAT, "max_tokens": 5})
    assert anthropic.status_code == 429
    assert anthropic.json() == {
        "type": "error",
        "error": {"type": "rate_limit_error", "message": anthropic.json()["error"]["message"]},
    }
    assert fresh_post(live.url, key_on("free")).status_code == 200, "another key has its own counter"


def test_past_the_limit_a_call_that_would_fail_anyway_is_refused_with_the_429(live, key_on, app):
    """A gateway call's count is read once its body is checked (on Redis, the count runs
    meanwhile), so a request past the limit whose body or model is wrong still meets the
    429 first, in its endpoint's format, and no call is made."""
    from lumyx.accounts.keys import hash_key
    from lumyx.db import db
    from lumyx.db.models import ApiKey, UsageRecord

    key = key_on("free")
    for _ in range(10):
        assert fresh_post(live.url, key).status_code == 200
    refused = [
        fresh_post(live.url, key, "/v1/chat/completions", {"model": "no-such-model", "messages": []}),
        fresh_post(live.url, key, "/v1/chat/completions", {"messages": "not a list"}),
        fresh_post(live.url, key, "/v1/completions", {"model": "lumyx-local", "prompt": "hi"}),
        fresh_post(live.url, key, "/v1/embeddings", {"model": "lumyx-local"}),
        fresh_post(live.url, key, "/v1/responses", {"model": "lumyx-local", "input": "hi"}),
        fresh_post(live.url, key, "/v1/messages", {"model": "lumyx-local", "max_tokens": "many"}),
        fresh_post(live.url, key, "/v1/messages/count_tokens", {"model": "lumyx-local", "messages": []}),
    ]
    assert [r.status_code for r in refused] == [429] * len(refused)
    for response in refused:
        assert 1 <= int(response.headers["Retry-After"]) <= 61
        assert response.headers["X-RateLimit-Remaining"] == "0"
    assert {r.json()["error"]["type"] for r in refused[:5]} == {"rate_limit_exceeded"}
    assert {r.json()["error"]["type"] for r in refused[5:]} == {"rate_limit_error"}
    not_json = requests.post(
        live.url + "/v1/chat/completions", data=b"{", headers={"Authorization": f"Bearer {key}"}, timeout=10
    )
    assert not_json.status_code == 429
    with app.app_context():
        key_row = db.session.query(ApiKey).filter(ApiKey.key_hash == hash_key(key)).one()
        calls = db.session.query(UsageRecord).filter(UsageRecord.api_key_id == key_row.id).count()
    assert calls == 10, "the ten calls within the limit have usage rows; the refused made no call"


def test_every_api_route_counts_and_shows_the_headers(live, key_on):
    key = key_on("pro")
    for path in ("/v1/models", "/api/v1/usage", "/v1/models/lumyx-local"):
        response = requests.get(live.url + path, headers={"x-api-key": key}, timeout=10)
        assert response.status_code == 200 and response.headers["X-RateLimit-Limit"] == "60"
    assert fresh_post(live.url, key).headers["X-RateLimit-Remaining"] == "56"


def test_enterprise_is_unlimited(live, key_on):
    key = key_on("enterprise")
    session = requests.Session()
    for _ in range(70):
        response = session.get(live.url + "/v1/models", headers={"x-api-key": key}, timeout=10)
        assert response.status_code == 200
    assert "X-RateLimit-Limit" not in response.headers


def _redis_server(port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [
            shutil.which("redis-server") or "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("redis-server did not start")


@pytest.fixture
def redis_and_server(server_env, tmp_path):
    """A Redis of its own and a 3-worker server counting in it."""
    port = free_port()
    redis = _redis_server(port)
    env = {**server_env, "REDIS_URL": f"redis://127.0.0.1:{port}/0"}
    server = LiveServer(env, tmp_path / "gunicorn.log", workers=3)
    yield redis, server, port
    server.stop()
    if redis.poll() is None:
        redis.kill()


def test_several_workers_share_one_limit_in_redis(redis_and_server, key_on):
    _redis, server, port = redis_and_server
    workers: set[str] = set()
    for _round in range(5):
        key = key_on("free")
        with ThreadPoolExecutor(max_workers=25) as pool:
            responses = list(pool.map(lambda _, key=key: fresh_post(server.url, key), range(25)))
        statuses = [r.status_code for r in responses]
        assert statuses.count(200) == 10 and statuses.count(429) == 15
        served = {r.headers["x-request-id"] for r in responses if r.status_code == 200}
        logs = server.logs()
        workers |= {pid for pid, request_id in re.findall(r"\[(\d+)\] (req_\w+) chat", logs) if request_id in served}
        if len(workers) >= 2:
            break
    assert len(workers) >= 2, "the requests of every round were served by one worker"
    counters = redis_lib.Redis(port=port).keys("*key:*")
    assert counters, "the counters live in Redis"


def test_redis_going_away_keeps_the_gateway_serving(redis_and_server, key_on):
    redis, server, port = redis_and_server
    key = key_on("pro")
    assert fresh_post(server.url, key).status_code == 200
    redis.kill()
    redis.wait()
    started = time.monotonic()
    for _ in range(5):
        response = fresh_post(server.url, key)
        assert response.status_code == 200
    assert time.monotonic() - started < 10, "no request waits on the dead Redis"
    assert "falling back to in-memory storage" in server.logs()
    restarted = _redis_server(port)
    try:
        deadline = time.monotonic() + 40
        while "Rate limit storage recovered" not in server.logs() and time.monotonic() < deadline:
            fresh_post(server.url, key)
            time.sleep(0.5)
        assert "Rate limit storage recovered" in server.logs()
    finally:
        restarted.kill()


def test_an_operator_sets_the_plan_limits_and_the_docs_show_them(server_env, key_on, tmp_path):
    env = {**server_env, "LUMYX_LIMITS_PRO": "3/minute;2500/day"}
    server = LiveServer(env, tmp_path / "gunicorn.log", workers=1)
    try:
        key = key_on("pro")
        statuses = [fresh_post(server.url, key).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        docs = requests.get(server.url + "/docs/rate-limits", timeout=10).text
        pro_row = docs[docs.index("<td>Pro</td>") :].split("</tr>")[0]
        assert ">3<" in pro_row and ">2,500<" in pro_row
    finally:
        server.stop()


def test_a_malformed_plan_limit_stops_the_start_with_its_name(server_env):
    from tests.support.servers import flask_cli

    result = flask_cli({**server_env, "LUMYX_LIMITS_FREE": "lots"}, "routes", check=False)
    assert result.returncode != 0
    assert "LUMYX_LIMITS_FREE: expected '<n>/minute;<n>/day'" in result.stderr
    assert "Traceback" not in result.stderr
