"""The request path in process: which upstream failures send a call on to its
next route, what the client gets when every route failed, the table of wire
format pairs, and streams. Upstreams are fake adapters; nothing here needs a
database or the network (free models with no daily cap admit without one)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from lumyx.catalog.snapshot import Route
from lumyx.errors import ApiError
from lumyx.gateway import pipeline, routing
from lumyx.gateway.formats import PAIRS
from lumyx.gateway.streams import DONE
from lumyx.providers import openai_responses
from lumyx.providers.adapters import ADAPTERS, WIRE_OF_KIND
from lumyx.providers.base import UpstreamFailure, UpstreamReply
from lumyx.providers.streaming import StreamBroken
from tests.unit.pipeline_support import (
    FakeAdapter,
    bad_body_failure,
    broken_stream,
    call,
    chat_reply,
    chat_stream,
    message_reply,
    message_stream,
    model,
    provider,
    response_reply,
    response_stream,
    status_failure,
)

CLIENT_FORMATS = ("openai", "anthropic", "responses")
REPLIES = {"openai": chat_reply, "anthropic": message_reply, "responses": response_reply}
STREAMS = {"openai": chat_stream, "anthropic": message_stream, "responses": response_stream}
KIND_OF_WIRE = {"openai": "openai", "anthropic": "anthropic", "responses": "openai-responses"}


def two_routes(kind: str = "openai"):
    return model(Route(provider("first", kind), "up-1"), Route(provider("second", kind), "up-2"))


def asked(adapter: FakeAdapter) -> list[str]:
    """The providers the gateway sent the call to, in order."""
    return [provider_id for provider_id, _operation, _body in adapter.sent]


# -- which failures move on to the next route ------------------------------------

MOVES_ON = {
    "connection refused": lambda: UpstreamFailure("connect", "could not connect to the upstream"),
    "timeout": lambda: UpstreamFailure("timeout", "upstream read timed out"),
    "HTTP 429": lambda: status_failure(429, retry_after="3"),
    "HTTP 500": lambda: status_failure(500),
    "HTTP 502": lambda: status_failure(502),
    "HTTP 503": lambda: status_failure(503),
    "HTTP 401 (the route's key)": lambda: status_failure(401),
    "HTTP 403": lambda: status_failure(403),
    "HTTP 404 (the route's model name)": lambda: status_failure(404),
    "a body that is not JSON": bad_body_failure,
}


def test_routes_are_tried_in_catalog_order_until_one_answers():
    served_by = model(*(Route(provider(name), f"up-{name}") for name in ("first", "second", "third")))
    upstream = FakeAdapter(
        first=UpstreamFailure("connect", "refused"), second=chat_reply("from second"), third=chat_reply()
    )
    sent = routing.send(call(served_by).input, None, {"openai": upstream})
    assert sent.error is None and sent.route.provider.id == "second"
    assert [(p, body["model"]) for p, _op, body in upstream.sent] == [("first", "up-first"), ("second", "up-second")]


@pytest.mark.parametrize("failure", MOVES_ON.values(), ids=MOVES_ON.keys())
def test_a_route_that_fails_before_answering_gives_way_to_the_next(failure):
    upstream = FakeAdapter(first=failure(), second=chat_reply("from second"))
    sent = routing.send(call(two_routes()).input, None, {"openai": upstream})
    assert asked(upstream) == ["first", "second"]
    assert sent.error is None and sent.route.provider.id == "second"


def test_a_stream_that_breaks_before_its_first_event_gives_way_to_the_next():
    upstream = FakeAdapter(first=broken_stream(), second=chat_stream("hi"))
    body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "x"}]}
    sent = routing.send(call(two_routes(), body=body).input, None, {"openai": upstream})
    assert asked(upstream) == ["first", "second"]
    assert sent.route.provider.id == "second" and sent.first["choices"][0]["delta"]["role"] == "assistant"


@pytest.mark.parametrize("status", [400, 422])
def test_an_upstream_that_rejects_the_request_itself_is_not_asked_again_elsewhere(status):
    upstream = FakeAdapter(first=status_failure(status), second=chat_reply())
    sent = routing.send(call(two_routes()).input, None, {"openai": upstream})
    assert asked(upstream) == ["first"]
    assert (sent.error.status, sent.error.code) == (400, "invalid_request")
    assert sent.error.message == "Upstream rejected the request: no"


def test_routes_without_a_configured_key_are_skipped(monkeypatch):
    monkeypatch.delenv("LUMYX_UNIT_NEVER_SET", raising=False)
    served_by = model(Route(provider("keyless", key_env="LUMYX_UNIT_NEVER_SET"), "up-1"), Route(provider("ok"), "up-2"))
    upstream = FakeAdapter(ok=chat_reply())
    sent = routing.send(call(served_by).input, None, {"openai": upstream})
    assert asked(upstream) == ["ok"] and sent.route.provider.id == "ok"


# -- what the client gets when every route failed --------------------------------


def final_error(*failures: Exception) -> ApiError:
    answers = {f"r{i}": failure for i, failure in enumerate(failures)}
    served_by = model(*(Route(provider(name), "up") for name in answers))
    sent = routing.send(call(served_by).input, None, {"openai": FakeAdapter(**answers)})
    assert sent.route is None
    return sent.error


def test_no_configured_key_is_503_naming_every_missing_variable(monkeypatch):
    for name in ("LUMYX_UNIT_KEY_B", "LUMYX_UNIT_KEY_A"):
        monkeypatch.delenv(name, raising=False)
    served_by = model(
        Route(provider("b", key_env="LUMYX_UNIT_KEY_B"), "up"),
        Route(provider("a", key_env="LUMYX_UNIT_KEY_A"), "up"),
        Route(provider("b2", key_env="LUMYX_UNIT_KEY_B"), "up"),
    )
    error = routing.send(call(served_by).input, None, {"openai": FakeAdapter()}).error
    assert (error.status, error.code) == (503, "model_unavailable")
    assert "(set LUMYX_UNIT_KEY_A, LUMYX_UNIT_KEY_B on the server)" in error.message


def test_an_upstream_rate_limit_is_429_with_its_retry_after():
    error = final_error(UpstreamFailure("connect", "refused"), status_failure(429, retry_after="7"))
    assert (error.status, error.code, error.headers) == (429, "rate_limit_exceeded", {"retry-after": "7"})


def test_a_timeout_is_502_saying_so():
    error = final_error(UpstreamFailure("timeout", "upstream read timed out"))
    assert (error.status, error.code) == (502, "upstream_error") and error.message.endswith("timed out.")


@pytest.mark.parametrize(
    "failure",
    [lambda: UpstreamFailure("connect", "refused"), lambda: status_failure(401), lambda: status_failure(404)],
    ids=["connection refused", "HTTP 401", "HTTP 404"],
)
def test_an_unreachable_or_misconfigured_route_is_503(failure):
    error = final_error(failure())
    assert (error.status, error.code) == (503, "model_unavailable")


@pytest.mark.parametrize("failure", [lambda: status_failure(500), bad_body_failure], ids=["HTTP 500", "bad body"])
def test_a_failing_upstream_is_502(failure):
    error = final_error(failure())
    assert (error.status, error.code) == (502, "upstream_error")


def test_the_last_failure_decides():
    error = final_error(status_failure(429, retry_after="7"), UpstreamFailure("timeout", "stalled"))
    assert error.status == 502


def test_a_request_the_upstream_format_cannot_express_is_400_naming_the_parameter():
    anthropic_only = model(Route(provider("claude", "anthropic"), "up"))
    body = {"model": "m", "n": 2, "messages": [{"role": "user", "content": "x"}]}
    upstream = FakeAdapter(claude=message_reply())
    error = routing.send(call(anthropic_only, body=body).input, None, {"anthropic": upstream}).error
    assert (error.status, error.code, error.param) == (400, "invalid_request", "n")
    assert upstream.sent == []


def test_a_route_that_can_express_it_serves_it_instead():
    served_by = model(Route(provider("claude", "anthropic"), "up"), Route(provider("gpt"), "up"))
    body = {"model": "m", "n": 2, "messages": [{"role": "user", "content": "x"}]}
    adapters = {"anthropic": FakeAdapter(claude=message_reply()), "openai": FakeAdapter(gpt=chat_reply())}
    sent = routing.send(call(served_by, body=body).input, None, adapters)
    assert sent.route.provider.id == "gpt" and adapters["anthropic"].sent == []


def test_an_endpoint_the_upstream_format_lacks_is_400_and_not_retried():
    served_by = model(Route(provider("claude", "anthropic"), "up"), Route(provider("gpt"), "up"), embedding=True)
    adapters = {"anthropic": FakeAdapter(), "openai": FakeAdapter(gpt=UpstreamReply(body={"data": []}))}
    embed = call(served_by, body={"model": "m", "input": "x"}, operation="embeddings")
    error = routing.send(embed.input, None, adapters).error
    assert (error.status, error.code) == (400, "invalid_request") and adapters["openai"].sent == []


# -- the format table -------------------------------------------------------------


def serve(monkeypatch, client_format: str, reply: UpstreamReply, kind: str, body: dict | None = None):
    """Serves a free call (no daily cap: no database) on one route of ``kind``."""
    upstream = FakeAdapter(up=reply)
    monkeypatch.setitem(ADAPTERS, kind, upstream)
    the_call = call(model(Route(provider("up", kind), "upstream-name"), model_id="m"), client_format, body)
    return the_call, upstream, pipeline.serve(the_call, free_daily_limit=0)


def request_body(client_format: str, **extra) -> dict:
    if client_format == "responses":
        return {"model": "m", "input": [{"role": "user", "content": "hi"}], **extra}
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], **extra}
    return {**body, "max_tokens": 100} if client_format == "anthropic" else body


def test_every_client_format_has_a_translation_for_every_upstream_format():
    upstream_formats = set(WIRE_OF_KIND.values())
    assert set(PAIRS) == {(client, upstream) for client in CLIENT_FORMATS for upstream in upstream_formats}


@pytest.mark.parametrize("client_format, upstream_format", sorted(PAIRS))
def test_each_pair_is_wired_for_whole_answers(monkeypatch, client_format, upstream_format):
    kind = KIND_OF_WIRE[upstream_format]
    the_call, upstream, answer = serve(
        monkeypatch, client_format, REPLIES[upstream_format]("hello"), kind, request_body(client_format)
    )
    ((_provider, operation, sent_body),) = upstream.sent
    assert operation == {"openai": "chat", "anthropic": "messages", "responses": "responses"}[upstream_format]
    assert sent_body["model"] == "upstream-name"
    if client_format == "openai":
        assert answer["object"] == "chat.completion" and answer["choices"][0]["message"]["content"] == "hello"
    elif client_format == "responses":
        assert answer["object"] == "response" and answer["status"] == "completed"
        assert answer["output"][-1]["content"][0]["text"] == "hello"
        assert answer["id"] == "resp_" + the_call.request_id.removeprefix("req_")
    else:
        assert answer["type"] == "message" and answer["content"][-1]["text"] == "hello"
    assert answer["model"] == "m"
    assert "hello" in the_call.meter.output_parts


@pytest.mark.parametrize("client_format, upstream_format", sorted(PAIRS))
def test_each_pair_is_wired_for_streams(monkeypatch, client_format, upstream_format):
    body = request_body(client_format, stream=True)
    the_call, _upstream, events = serve(
        monkeypatch, client_format, STREAMS[upstream_format]("hel", "lo"), KIND_OF_WIRE[upstream_format], body
    )
    events = list(events)
    if client_format == "openai":
        assert events[-1] is DONE
        text = "".join(c["choices"][0]["delta"].get("content") or "" for c in events[:-1] if c["choices"])
        assert all(c["object"] == "chat.completion.chunk" and c["model"] == "m" for c in events[:-1])
    elif client_format == "responses":
        assert DONE not in events and events[0]["type"] == "response.created"
        assert events[-1]["type"] == "response.completed" and events[-1]["response"]["model"] == "m"
        text = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    else:
        assert DONE not in events and events[0]["type"] == "message_start" and events[-1]["type"] == "message_stop"
        text = "".join(e["delta"].get("text") or "" for e in events if e["type"] == "content_block_delta")
    assert text == "hello"
    assert the_call.outcome.route.provider.id == "up" and not the_call.outcome.partial


# -- streams ------------------------------------------------------------------------


def test_a_stream_that_breaks_after_its_first_event_ends_with_an_error_event(monkeypatch):
    def events() -> Iterator[dict]:
        yield from chat_stream("hel").events
        raise StreamBroken("protocol", "upstream closed the stream early")

    body = request_body("openai", stream=True)
    the_call, _upstream, stream = serve(monkeypatch, "openai", UpstreamReply(events=events()), "openai", body)
    out = list(stream)
    assert out[-1] is DONE and out[-2]["error"]["code"] == 502 and out[-2]["error"]["type"] == "upstream_error"
    assert "hel" in [c["choices"][0]["delta"].get("content") for c in out[:-2] if c.get("choices")]
    outcome = the_call.outcome
    assert (outcome.partial, outcome.status, outcome.error_code) == (True, 502, "upstream_error")


def test_a_client_that_leaves_mid_stream_makes_the_call_partial(monkeypatch):
    body = request_body("openai", stream=True)
    the_call, _upstream, stream = serve(monkeypatch, "openai", chat_stream("a", "b", "c"), "openai", body)
    next(stream)
    stream.close()
    assert (the_call.outcome.partial, the_call.outcome.status) == (True, 499)


def test_times_are_whole_milliseconds_rounded_up(monkeypatch):
    """A first event sent 0.3 ms after arrival is 1 ms, not 0 (a stream that was timed);
    an answer ending 12.01 ms after it is 13."""
    body = request_body("openai", stream=True)
    the_call, _upstream, stream = serve(monkeypatch, "openai", chat_stream("a", "b"), "openai", body)
    started = the_call.input.started
    monkeypatch.setattr(time, "perf_counter", lambda: started + 0.0003)
    next(stream)
    monkeypatch.setattr(time, "perf_counter", lambda: started + 0.01201)
    list(stream)
    assert (the_call.outcome.first_event_ms, the_call.latency_ms) == (1, 13)


@pytest.mark.parametrize("include_usage", [True, False])
def test_the_usage_chunk_reaches_only_clients_that_asked_for_it(monkeypatch, include_usage):
    usage = {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11}
    body = request_body("openai", stream=True, stream_options={"include_usage": include_usage})
    the_call, upstream, stream = serve(monkeypatch, "openai", chat_stream("x", usage=usage), "openai", body)
    out = list(stream)
    assert upstream.sent[0][2]["stream_options"] == {"include_usage": True}
    assert any("usage" in c for c in out[:-1]) is include_usage
    assert the_call.meter.usage.input_tokens == 9 and the_call.meter.usage.reported


# -- reasoning.exclude ----------------------------------------------------------------

EXCLUDE = {"reasoning": {"effort": "low", "exclude": True}}


@pytest.mark.parametrize("upstream_format", ["openai", "anthropic"])
@pytest.mark.parametrize("exclude", [True, False])
def test_excluded_reasoning_is_used_and_metered_but_not_shown(monkeypatch, upstream_format, exclude):
    reply = (
        chat_reply("42", reasoning_content="thinking hard")
        if upstream_format == "openai"
        else message_reply("42", thinking="thinking hard")
    )
    body = request_body("openai", **(EXCLUDE if exclude else {"reasoning": {"effort": "low"}}))
    the_call, _upstream, answer = serve(monkeypatch, "openai", reply, upstream_format, body)
    message = answer["choices"][0]["message"]
    assert ("reasoning_content" in message) is not exclude
    if exclude:
        assert "reasoning_details" not in message
    assert the_call.meter.thinking_seen and "thinking hard" in the_call.meter.output_parts


@pytest.mark.parametrize("upstream_format", ["openai", "anthropic"])
@pytest.mark.parametrize("exclude", [True, False])
def test_excluded_reasoning_is_not_streamed(monkeypatch, upstream_format, exclude):
    reply = STREAMS[upstream_format]("42", **{"reasoning" if upstream_format == "openai" else "thinking": "hmm"})
    body = request_body("openai", stream=True, **(EXCLUDE if exclude else {}))
    the_call, _upstream, stream = serve(monkeypatch, "openai", reply, upstream_format, body)
    deltas = [c["choices"][0]["delta"] for c in stream if c is not DONE and c.get("choices")]
    shown = any("reasoning_content" in d or "reasoning_details" in d for d in deltas)
    assert shown is not exclude
    assert the_call.meter.thinking_seen


# -- a Responses upstream -----------------------------------------------------------


def opening_then(*events: dict) -> UpstreamReply:
    """A Responses stream, as its adapter hands it over: its opening, then ``events``."""
    opening = [{"type": "response.created", "response": {"id": "resp_1"}}, {"type": "response.in_progress"}]
    return UpstreamReply(events=openai_responses._opened(iter([*opening, *events]), "sk-secret"))


FAILED_OPENINGS = {
    "response.failed, server_error": (
        {"type": "response.failed", "response": {"error": {"code": "server_error", "message": "boom sk-secret"}}},
        502,
    ),
    "response.failed, rate limited": (
        {"type": "response.failed", "response": {"error": {"code": "rate_limit_exceeded", "message": "slow down"}}},
        429,
    ),
    "an error event": ({"type": "error", "code": "server_is_overloaded", "message": "overloaded"}, 502),
}


@pytest.mark.parametrize("failed, status", FAILED_OPENINGS.values(), ids=FAILED_OPENINGS.keys())
def test_a_responses_stream_failing_in_its_opening_gives_way_to_the_next_route(failed, status):
    upstream = FakeAdapter(first=opening_then(failed), second=response_stream("hi"))
    body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "x"}]}
    sent = routing.send(call(two_routes("openai-responses"), body=body).input, None, {"openai-responses": upstream})
    assert asked(upstream) == ["first", "second"]
    assert sent.route.provider.id == "second" and sent.first["type"] == "response.created"
    with pytest.raises(UpstreamFailure) as failure:
        next(opening_then(failed).events)
    assert failure.value.status == status and failure.value.retryable
    assert "sk-secret" not in failure.value.message


def test_a_responses_stream_that_ends_in_its_opening_gives_way_to_the_next_route():
    upstream = FakeAdapter(first=opening_then(), second=response_stream("hi"))
    body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "x"}]}
    sent = routing.send(call(two_routes("openai-responses"), body=body).input, None, {"openai-responses": upstream})
    assert asked(upstream) == ["first", "second"] and sent.route.provider.id == "second"


def test_a_refused_prompt_in_the_opening_is_not_asked_again_elsewhere():
    refused = {"type": "response.failed", "response": {"error": {"code": "context_length_exceeded", "message": "long"}}}
    upstream = FakeAdapter(first=opening_then(refused), second=response_stream("hi"))
    body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "x"}]}
    sent = routing.send(call(two_routes("openai-responses"), body=body).input, None, {"openai-responses": upstream})
    assert asked(upstream) == ["first"] and (sent.error.status, sent.error.code) == (400, "invalid_request")


@pytest.mark.parametrize("client_format", CLIENT_FORMATS)
def test_a_responses_stream_failing_after_its_output_began_ends_with_an_error_event(monkeypatch, client_format):
    delta = {"type": "response.output_text.delta", "item_id": "msg_1", "output_index": 0, "delta": "hel"}
    failed = {"type": "response.failed", "response": {"error": {"code": "server_error", "message": "boom"}}}
    body = request_body(client_format, stream=True)
    the_call, _upstream, stream = serve(
        monkeypatch, client_format, opening_then(delta, failed), "openai-responses", body
    )
    out = list(stream)
    if client_format == "openai":
        assert out[-1] is DONE and out[-2]["error"]["code"] == 502 and "boom" in out[-2]["error"]["message"]
        assert "hel" in [c["choices"][0]["delta"].get("content") for c in out[:-2] if c.get("choices")]
    elif client_format == "responses":  # the upstream's own failure, passed on
        assert out[0]["type"] == "response.created" and out[-1]["type"] == "response.failed"
        assert out[-1]["response"]["error"] == {"code": "server_error", "message": "boom"}
        assert out[-1]["response"]["id"] == "resp_" + the_call.request_id.removeprefix("req_")
    else:
        assert out[0]["type"] == "message_start" and out[-1]["type"] == "error"
    outcome = the_call.outcome
    assert (outcome.partial, outcome.status, outcome.error_code) == (True, 502, "upstream_error")


def test_a_whole_responses_answer_that_failed_is_a_failure_of_the_route():
    assert openai_responses.failure_of({"code": "insufficient_quota", "message": "quota"}, None).status == 429
    assert openai_responses.failure_of(None, None).status == 502
