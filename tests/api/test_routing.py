"""Routes are tried in order; upstream failures map to the documented statuses."""

from __future__ import annotations

import json

import pytest
import requests


def test_fallback_skips_dead_and_failing_routes(api, upstream):
    response = api(
        "POST",
        "/v1/chat/completions",
        json={"model": "fallback-chat", "messages": [{"role": "user", "content": "still there?"}]},
    )
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"] == "Echo: still there?"
    assert response.json()["model"] == "fallback-chat"
    assert upstream.last_request("/v1/chat/completions")["body"]["model"] == "upstream-fallback"


def test_fallback_works_for_streams_too(api):
    response = api(
        "POST",
        "/v1/chat/completions",
        json={"model": "fallback-chat", "stream": True, "messages": [{"role": "user", "content": "stream"}]},
    )
    assert response.status_code == 200
    assert response.text.endswith("data: [DONE]\n\n")
    assert "Echo:" in response.text


def test_every_route_failing_is_502(api):
    response = api(
        "POST", "/v1/chat/completions", json={"model": "failing-chat", "messages": [{"role": "user", "content": "x"}]}
    )
    assert response.status_code == 502
    assert response.json()["error"]["type"] == "upstream_error"


def test_upstream_rate_limit_is_429_with_retry_after(api):
    response = api(
        "POST", "/v1/chat/completions", json={"model": "limited-chat", "messages": [{"role": "user", "content": "x"}]}
    )
    assert response.status_code == 429
    assert response.json()["error"]["type"] == "rate_limit_exceeded"
    assert response.headers["retry-after"] == "1"


def test_missing_provider_key_is_503_naming_the_variable(api):
    response = api(
        "POST", "/v1/chat/completions", json={"model": "nokey-chat", "messages": [{"role": "user", "content": "x"}]}
    )
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["type"] == "model_unavailable" and "LUMYX_TEST_NEVER_SET_KEY" in error["message"]


def test_upstream_rejection_is_400_and_leaks_no_key(api, upstream):
    response = api(
        "POST",
        "/v1/chat/completions",
        json={"model": "gpt-5.2", "n": 129, "messages": [{"role": "user", "content": "x"}]},
    )
    assert response.status_code == 400
    response = api(
        "POST",
        "/v1/chat/completions",
        json={"model": "gpt-5.2", "messages": [{"role": "user", "content": "x [[scenario:status-400]]"}]},
    )
    assert response.status_code == 400
    assert "upstream-test-key" not in response.text


@pytest.mark.parametrize("scenario", ["drop", "malformed-sse", "error-event"])
def test_stream_broken_after_first_byte_ends_with_an_error_event(api, scenario):
    response = api(
        "POST",
        "/v1/chat/completions",
        json={
            "model": "gpt-5.2",
            "stream": True,
            "messages": [{"role": "user", "content": f"one two three four five six [[scenario:{scenario}:3]]"}],
        },
    )
    assert response.status_code == 200
    events = [e[6:] for e in response.text.split("\n\n") if e.startswith("data: ")]
    assert events[-1] == "[DONE]"
    last = json.loads(events[-2])
    assert last["error"]["code"] == 502 and last["error"]["type"] == "upstream_error"
    assert "upstream-test-key" not in response.text


def test_failure_before_the_first_event_falls_to_a_clean_error(api):
    response = api(
        "POST",
        "/v1/chat/completions",
        json={
            "model": "gpt-5.2",
            "stream": True,
            "messages": [{"role": "user", "content": "x [[scenario:status-503]]"}],
        },
    )
    assert response.status_code == 502
    assert response.json()["error"]["type"] == "upstream_error"


def test_upstream_timeout_is_a_clean_error(live, key):
    # The stand-in sleeps longer than the provider's 5 s timeout allows.
    response = requests.post(
        live.url + "/v1/chat/completions",
        headers={"Authorization": f"Bearer {key}"},
        json={"model": "gpt-5.2", "messages": [{"role": "user", "content": "x [[scenario:slow:7000]]"}]},
        timeout=30,
    )
    assert response.status_code == 502
    assert "timed out" in response.json()["error"]["message"]
