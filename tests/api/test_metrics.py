"""GET /metrics on a gunicorn server of three workers: a known mix of requests
(chat, a chat stream, messages that write and then read the prompt cache, a
token count, responses, embeddings, a bad request, an unknown model, a plan's
rate limit, a model whose upstream fails and one that falls back from a dead
provider) is counted exactly, added up over the workers; tokens and cost agree
with the usage rows billed; a second scrape counts nothing twice. And who may
read it: clients of this machine (127.0.0.1, ::1) when no token is set (403 for others), the bearer
of LUMYX_METRICS_TOKEN when one is (401 without it)."""

from __future__ import annotations

import re
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, text

from tests.reliability.test_behind_haproxy import visitor
from tests.support.servers import LiveServer

TOKEN = "scrape-" + uuid.uuid4().hex


def new_key(app, plan: str) -> tuple[int, str]:
    """(key id, key) of a new user of ``plan`` with 1,000 credits."""
    from lumyx.accounts import keys
    from lumyx.accounts import users as accounts

    with app.app_context():
        user = accounts.create_user(
            f"metrics-{uuid.uuid4().hex[:10]}@example.com", "correct horse battery", plan=plan, credits_micro=10**9
        )
        row, key = keys.create_key(user, "metrics")
        return row.id, key


class Gateway:
    """A server of its own (three workers, so its metrics are its own) on the suite's
    database, catalog and upstream stand-in."""

    def __init__(self, app, server_env: dict, tmp):
        self.keys = {plan: new_key(app, plan) for plan in ("enterprise", "free")}
        env = {
            **server_env,
            "LUMYX_RATELIMIT_PREFIX": "metrics-" + uuid.uuid4().hex[:8],
            "LUMYX_LIMITS_FREE": "2/minute;1000/day",
            "LUMYX_BREAKER_FAILURES": "1",
            "LUMYX_BREAKER_COOLDOWN_S": "600",
        }
        self.server = LiveServer(env, tmp / "gunicorn.log", workers=3)
        self.url = self.server.url
        self.engine = create_engine(server_env["DATABASE_URL"])

    def post(self, path: str, body: dict, plan: str = "enterprise", **headers) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.keys[plan][1]}", **headers}
        return requests.post(self.url + path, json=body, headers=headers, timeout=30)

    def stop(self) -> None:
        self.server.stop()
        self.engine.dispose()


@pytest.fixture(scope="module")
def gateway(app, server_env, tmp_path_factory):
    gw = Gateway(app, server_env, tmp_path_factory.mktemp("metrics"))
    yield gw
    gw.stop()


def chat(model: str, **extra) -> dict:
    return {"model": model, "messages": [{"role": "user", "content": "Say something."}], "max_tokens": 30, **extra}


# Long enough for the stand-in's prompt cache; unique, so that this run writes it first.
DOCUMENT = uuid.uuid4().hex + " ".join(f"clause {i} of the agreement binds both parties." for i in range(400))


def cached_messages() -> dict:
    return {
        "model": "cache-claude",
        "max_tokens": 30,
        "system": [{"type": "text", "text": DOCUMENT, "cache_control": {"type": "ephemeral"}}],
        "messages": [{"role": "user", "content": "What does clause 3 say?"}],
    }


def scrape(url: str, **kwargs) -> dict[tuple, float]:
    """Every sample of the scrape, by (name, sorted labels)."""
    response = requests.get(url + "/metrics", timeout=10, **kwargs)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def series(samples: dict, name: str, *label_names: str) -> dict[tuple, float]:
    """The samples of ``name`` by the values of ``label_names`` (zeros left out)."""
    found = {}
    for (sample_name, labels), value in samples.items():
        if sample_name == name and value:
            found[tuple(dict(labels)[label] for label in label_names)] = value
    return found


def send_the_mix(gw: Gateway) -> list[str]:
    """The mix; returns the request ids of the calls that were billed or refused by billing."""
    statuses = []
    # The prompt cache: written by the first request, read by the second (one after the other).
    for _ in range(2):
        statuses.append(gw.post("/v1/messages", cached_messages(), **{"anthropic-version": "2023-06-01"}))
    # A plan of 2 requests a minute: the third is refused.
    for _ in range(3):
        statuses.append(gw.post("/v1/chat/completions", chat("gpt-5.2"), plan="free"))
    sends = [
        ("/v1/chat/completions", chat("gpt-5.2")),
        ("/v1/chat/completions", chat("gpt-5.2")),
        ("/v1/chat/completions", chat("gpt-5.2", stream=True, stream_options={"include_usage": True})),
        ("/v1/messages/count_tokens", {"model": "cache-claude", "messages": [{"role": "user", "content": "hi"}]}),
        ("/v1/responses", {"model": "responses-pro", "input": "Say something.", "max_output_tokens": 30}),
        ("/v1/embeddings", {"model": "fake-embed", "input": "a sentence to embed"}),
        ("/v1/chat/completions", {"model": "gpt-5.2"}),  # no messages: 400
        ("/v1/chat/completions", chat("no-such-model")),  # 404
        ("/v1/chat/completions", chat("failing-chat")),  # both routes answer 5xx: 502
        ("/v1/chat/completions", chat("fallback-chat")),  # three routes fail, the fourth serves
    ]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda send: gw.post(*send), sends))
    statuses += answers  # (each read to its end, the stream too)
    # More chats, each on a new connection, until a second worker has served some.
    while len(serving_workers(gw)) < 2 and len(statuses) < 200:
        statuses.append(gw.post("/v1/chat/completions", chat("gpt-5.2")))
        time.sleep(0.02)
    return [r.status_code for r in statuses]


def serving_workers(gw: Gateway) -> set[str]:
    """The pids of the workers that logged a call (each logs its calls with its pid)."""
    return set(re.findall(r"lumyx\.gateway \[(\d+)\] req_", gw.server.logs()))


def usage_rows(gw: Gateway, expected: int) -> list:
    """The usage rows, once all ``expected`` are written (a call settles after its answer)."""
    query = text(
        "SELECT model_id, input_tokens, cached_tokens, cache_write_tokens, cache_write_1h_tokens, output_tokens,"
        " reasoning_tokens, cost FROM usage_records WHERE api_key_id IN (:one, :other)"
    )
    deadline = time.monotonic() + 20
    while True:
        with gw.engine.connect() as conn:
            rows = list(conn.execute(query, {"one": gw.keys["enterprise"][0], "other": gw.keys["free"][0]}))
        if len(rows) >= expected or time.monotonic() > deadline:
            return rows
        time.sleep(0.05)


@pytest.fixture(scope="module")
def mix(gateway):
    statuses = send_the_mix(gateway)
    # Billed calls: 2 messages, 2 + 3 chats, responses, embeddings, the failed one, the fallback,
    # and the chats sent until a second worker served.
    rows = usage_rows(gateway, 11 + len(statuses) - 15)
    first = scrape(gateway.url)
    # (every request ended: the last one's count lands after its answer went out)
    deadline = time.monotonic() + 10
    while sum(series(first, "lumyx_requests_total", "status").values()) < len(statuses) and time.monotonic() < deadline:
        time.sleep(0.05)
        first = scrape(gateway.url)
    return statuses, rows, first


def test_the_mix_was_served_as_expected(mix):
    statuses, rows, _ = mix
    extra = len(statuses) - 15
    assert sorted(statuses) == sorted([200] * 2 + [200, 200, 429] + [200] * 6 + [400, 404, 502, 200] + [200] * extra)
    assert len(rows) == 11 + extra


def test_requests_are_counted_exactly_across_the_workers(gateway, mix):
    statuses, _, samples = mix
    extra = len(statuses) - 15  # chats sent until a second worker served (send_the_mix)
    assert series(samples, "lumyx_requests_total", "endpoint", "model", "provider", "status") == {
        ("messages", "cache-claude", "cache-anthropic", "200"): 2,
        ("chat_completions", "gpt-5.2", "fake-openai", "200"): 5 + extra,
        ("chat_completions", "", "", "429"): 1,
        ("count_tokens", "cache-claude", "cache-anthropic", "200"): 1,
        ("responses", "responses-pro", "fake-responses", "200"): 1,
        ("embeddings", "fake-embed", "fake-openai", "200"): 1,
        ("chat_completions", "", "", "400"): 1,
        ("chat_completions", "", "", "404"): 1,
        ("chat_completions", "failing-chat", "", "502"): 1,
        ("chat_completions", "fallback-chat", "fake-openai", "200"): 1,
    }
    # Each request once in the duration histogram; the one stream in the first-token one.
    assert series(samples, "lumyx_request_duration_seconds_count", "endpoint", "model") == {
        ("messages", "cache-claude"): 2,
        ("chat_completions", "gpt-5.2"): 5 + extra,
        ("chat_completions", ""): 3,
        ("count_tokens", "cache-claude"): 1,
        ("responses", "responses-pro"): 1,
        ("embeddings", "fake-embed"): 1,
        ("chat_completions", "failing-chat"): 1,
        ("chat_completions", "fallback-chat"): 1,
    }
    assert series(samples, "lumyx_time_to_first_token_seconds_count", "endpoint", "model") == {
        ("chat_completions", "gpt-5.2"): 1
    }
    assert len(serving_workers(gateway)) >= 2


def test_tokens_and_cost_are_those_billed(mix):
    _, rows, samples = mix
    expected: Counter = Counter()
    cost: Counter = Counter()
    for model, prompt, cached, written, written_1h, output, reasoning, micro in rows:
        expected[(model, "input")] += prompt - cached - written - written_1h
        expected[(model, "cache_read")] += cached
        expected[(model, "cache_write")] += written + written_1h
        expected[(model, "output")] += output
        expected[(model, "reasoning")] += reasoning
        cost[model] += micro
    assert series(samples, "lumyx_tokens_total", "model", "kind") == {k: v for k, v in expected.items() if v}
    # The cache was written by the first message and read by the second.
    assert expected[("cache-claude", "cache_write")] > 0 and expected[("cache-claude", "cache_read")] > 0
    got = series(samples, "lumyx_cost_usd_total", "model")
    assert set(got) == {(model,) for model, micro in cost.items() if micro}
    for (model,), usd in got.items():
        assert usd == pytest.approx(cost[model] / 100_000_000, rel=1e-12)


def test_failures_fallbacks_and_refusals_are_counted(mix):
    _, _, samples = mix
    assert series(samples, "lumyx_upstream_failures_total", "provider", "reason") == {
        ("fake-openai", "http_500"): 1,
        ("fake-openai", "http_502"): 1,
        ("dead", "connect"): 1,
        ("wrong-key", "http_401"): 1,
        ("fake-openai", "http_503"): 1,
    }
    assert series(samples, "lumyx_fallbacks_total", "model") == {("fallback-chat",): 1}
    assert series(samples, "lumyx_rate_limited_total", "plan") == {("free",): 1}
    assert series(samples, "lumyx_storage_errors_total", "store") == {}


def test_gauges_read_now(mix):
    _, _, samples = mix
    # Nothing in flight, no stream open, no hold left once every call settled.
    assert samples[("lumyx_requests_in_flight", ())] == 0
    assert samples[("lumyx_streams_open", ())] == 0
    assert samples[("lumyx_holds_outstanding", ())] == 0
    # One failure opens a breaker here (LUMYX_BREAKER_FAILURES=1): the failing routes are open.
    states = {
        labels: value
        for (name, labels), value in samples.items()
        if name == "lumyx_route_circuit_state" and dict(labels)["model"] in ("failing-chat", "fallback-chat", "gpt-5.2")
    }
    # (fallback-chat has two routes on fake-openai, one failed and one served: the worst is shown)
    assert {(dict(labels)["model"], dict(labels)["provider"]): value for labels, value in states.items()} == {
        ("failing-chat", "fake-openai"): 2,
        ("fallback-chat", "dead"): 2,
        ("fallback-chat", "wrong-key"): 2,
        ("fallback-chat", "fake-openai"): 2,
        ("gpt-5.2", "fake-openai"): 0,
    }


def test_a_second_scrape_counts_nothing_twice(gateway, mix):
    _, _, first = mix
    again = scrape(gateway.url)
    counted = ("_total", "_count", "_sum", "_bucket")
    assert {k: v for k, v in again.items() if k[0].endswith(counted)} == {
        k: v for k, v in first.items() if k[0].endswith(counted)
    }


def test_without_a_token_only_this_machine_may_read(gateway, mix):
    assert requests.get(gateway.url + "/metrics", timeout=10).status_code == 200
    # Any Host: a scraper may name the machine as it knows it.
    assert requests.get(gateway.url + "/metrics", headers={"Host": "metrics.internal:9100"}, timeout=10).ok
    # Another address (127.0.0.2 stands for any other client), without trusted proxies.
    refused = visitor("127.0.0.2").get(gateway.url + "/metrics", timeout=10)
    assert refused.status_code == 403 and "LUMYX_METRICS_TOKEN" in refused.text
    assert "lumyx_requests_total" not in refused.text


def test_with_a_token_the_bearer_may_read_and_no_one_else(app):
    """In this process, as `flask run` serves it: the numbers are the process's own."""
    client = app.test_client()
    app.config["LUMYX_METRICS_TOKEN"] = TOKEN
    try:
        elsewhere = {"REMOTE_ADDR": "10.1.2.3"}
        assert client.get("/metrics", environ_base=elsewhere).status_code == 401
        wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"}, environ_base=elsewhere)
        assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
        right = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, environ_base=elsewhere)
        assert right.status_code == 200
        assert right.headers["content-type"].startswith("text/plain; version=0.0.4")
        assert "# TYPE lumyx_requests_in_flight gauge" in right.text
    finally:
        app.config["LUMYX_METRICS_TOKEN"] = None
