"""Traces: with OTEL_EXPORTER_OTLP_ENDPOINT set, the gunicorn gevent workers export one
span per API call (GenAI semantic conventions) with a child per upstream attempt,
to a real OTLP/HTTP receiver started here."""

from __future__ import annotations

import json
import signal

import pytest
import requests

from tests.support.otlp_receiver import OtlpReceiver
from tests.support.servers import LiveServer


@pytest.fixture(scope="module")
def receiver():
    server = OtlpReceiver()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def traced(app, server_env, receiver, tmp_path_factory):
    env = {k: v for k, v in server_env.items() if not k.startswith("OTEL_")}
    env.update(
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
            "OTEL_EXPORTER_OTLP_HEADERS": "x-collector-token=trace-test",
            "OTEL_BSP_SCHEDULE_DELAY": "100",
        }
    )
    server = LiveServer(env, tmp_path_factory.mktemp("traced") / "gunicorn.log", workers=2)
    yield server
    server.stop()


def _call_spans(receiver: OtlpReceiver, request_id: str, children: int) -> tuple[dict, list[dict]]:
    """The call's span (found by its request id) and its ``children`` attempt spans."""

    def arrived(spans):
        call = [s for s in spans if s["attributes"].get("lumyx.request_id") == request_id]
        return call and len([s for s in spans if s["parent_span_id"] == call[0]["span_id"]]) >= children

    spans = receiver.wait_for(arrived)
    (call,) = [s for s in spans if s["attributes"].get("lumyx.request_id") == request_id]
    attempts = sorted((s for s in spans if s["parent_span_id"] == call["span_id"]), key=lambda s: s["start_ns"])
    return call, attempts


def test_a_chat_call_is_one_span_with_its_attempt(traced, receiver, key):
    answer = requests.post(
        traced.url + "/v1/chat/completions",
        json={"model": "gpt-5.2", "max_tokens": 20, "messages": [{"role": "user", "content": "Hello"}]},
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    call, attempts = _call_spans(receiver, answer.headers["x-request-id"], 1)

    assert call["name"] == "chat gpt-5.2" and call["kind"] == "server" and call["status"] == "unset"
    attributes = call["attributes"]
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.request.model"] == "gpt-5.2"
    assert attributes["gen_ai.response.model"] == "upstream-gpt"
    assert attributes["gen_ai.provider.name"] == attributes["gen_ai.system"] == "fake-openai"
    assert attributes["gen_ai.usage.input_tokens"] == body["usage"]["prompt_tokens"] > 0
    assert attributes["gen_ai.usage.output_tokens"] == body["usage"]["completion_tokens"] > 0
    assert attributes["gen_ai.response.finish_reasons"] == (body["choices"][0]["finish_reason"],)
    assert attributes["gen_ai.response.id"] == body["id"]
    assert attributes["lumyx.cost_usd"] == pytest.approx(body["usage"]["cost"])
    assert isinstance(attributes["lumyx.key_id"], int) and key not in json.dumps(attributes)
    assert call["resource"]["service.name"] == "lumyx"

    (attempt,) = attempts
    assert attempt["name"] == "chat upstream-gpt" and attempt["kind"] == "client"
    assert attempt["trace_id"] == call["trace_id"] and attempt["status"] == "unset"
    assert attempt["attributes"]["lumyx.route"] == "fake-openai/upstream-gpt"
    assert attempt["attributes"]["lumyx.attempt.outcome"] == "answered"
    # The standard exporter variables are honoured.
    assert receiver.headers[-1].get("x-collector-token") == "trace-test"


def test_a_streamed_message_span_ends_with_the_stream(traced, receiver, key):
    with requests.post(
        traced.url + "/v1/messages",
        json={
            "model": "lumyx-plus_v1",
            "max_tokens": 30,
            "stream": True,
            "messages": [{"role": "user", "content": "Tell me a story"}],
        },
        headers={"x-api-key": key, "anthropic-version": "2023-06-01"},
        stream=True,
        timeout=30,
    ) as answer:
        assert answer.status_code == 200
        events = [json.loads(line[6:]) for line in answer.iter_lines(decode_unicode=True) if line.startswith("data: ")]
        request_id = answer.headers["x-request-id"]
    start = next(e for e in events if e["type"] == "message_start")["message"]
    delta = [e for e in events if e["type"] == "message_delta"][-1]
    call, attempts = _call_spans(receiver, request_id, 1)

    attributes = call["attributes"]
    assert call["name"] == "chat lumyx-plus_v1" and attributes["lumyx.stream"] is True
    assert attributes["gen_ai.response.model"] == "claude-sonnet-4-5-20250929"
    assert attributes["gen_ai.response.id"] == start["id"]
    assert attributes["gen_ai.usage.input_tokens"] == start["usage"]["input_tokens"] > 0
    assert attributes["gen_ai.usage.output_tokens"] == delta["usage"]["output_tokens"] > 0
    assert attributes["gen_ai.response.finish_reasons"] == (delta["delta"]["stop_reason"],)
    (attempt,) = attempts
    assert attempt["attributes"]["gen_ai.provider.name"] == "fake-anthropic"
    # The call's span lasts until the stream ended, past its attempt (which ends at the first event).
    assert call["end_ns"] >= attempt["end_ns"]


def test_a_fallback_shows_the_failed_attempts(traced, receiver, key):
    answer = requests.post(
        traced.url + "/v1/chat/completions",
        json={"model": "fallback-chat", "messages": [{"role": "user", "content": "Hello"}]},
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    call, attempts = _call_spans(receiver, answer.headers["x-request-id"], 4)

    assert call["status"] == "unset" and call["attributes"]["gen_ai.response.model"] == "upstream-fallback"
    assert [a["attributes"]["lumyx.route"] for a in attempts] == [
        "dead/never",
        "wrong-key/upstream-wrong-key",
        "fake-openai/fake-status-503",
        "fake-openai/upstream-fallback",
    ]
    assert [a["status"] for a in attempts] == ["error", "error", "error", "unset"]
    assert attempts[0]["attributes"]["error.type"] == "connect"
    assert attempts[1]["attributes"]["http.response.status_code"] == 401
    assert attempts[2]["attributes"]["http.response.status_code"] == 503
    assert all(a["trace_id"] == call["trace_id"] for a in attempts)


def test_a_call_every_route_refused_is_an_error_span(traced, receiver, key):
    answer = requests.post(
        traced.url + "/v1/chat/completions",
        json={"model": "failing-chat", "messages": [{"role": "user", "content": "Hello"}]},
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )
    assert answer.status_code == 502
    call, attempts = _call_spans(receiver, answer.headers["x-request-id"], 2)
    assert call["status"] == "error" and call["attributes"]["error.type"] == "upstream_error"
    assert call["attributes"]["http.response.status_code"] == 502
    assert [a["status"] for a in attempts] == ["error", "error"]


def test_spans_still_queued_are_exported_when_a_worker_stops(app, server_env, receiver, key, tmp_path):
    env = {k: v for k, v in server_env.items() if not k.startswith("OTEL_")}
    env.update({"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url, "OTEL_BSP_SCHEDULE_DELAY": "600000"})
    server = LiveServer(env, tmp_path / "gunicorn.log", workers=1)
    try:
        answer = requests.post(
            server.url + "/v1/chat/completions",
            json={"model": "lumyx-local", "messages": [{"role": "user", "content": "Hello"}]},
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
        )
        assert answer.status_code == 200
    finally:
        server.proc.send_signal(signal.SIGQUIT)  # the workers exit at once, their queues unsent
        server.proc.wait(timeout=30)
    call, attempts = _call_spans(receiver, answer.headers["x-request-id"], 1)
    assert call["name"] == "chat lumyx-local" and attempts[0]["attributes"]["lumyx.route"] == "local/lumyx-local"
